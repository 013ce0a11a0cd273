/** `orm-migrate gate`: flags → runGate → formatter → exit code. */
import { relative, resolve, sep } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_BASELINE_FILE, DEFAULT_WARNINGS_FILE, runGate } from '../gate/gate.js';
import type { StaticCounts } from '../gate/gate.js';
import { GateInputError } from '../gate/records.js';
import { GATE_FORMATS, formatGithub, formatJson, formatStylish } from '../gate/report.js';
import type { GateFormat } from '../gate/report.js';

export interface GateCommandResult {
  exitCode: number;
}

/** --scan: the static findings of `orm-migrate scan`, counted per file (relative, /-separated) and rule. */
async function countStaticFindings(paths: string[]): Promise<StaticCounts> {
  // Loaded only for --scan: the plain gate never needs the TypeScript compiler.
  const codemods = await import('../codemods/index.js');
  let result;
  try {
    result = await codemods.scan({ paths });
  } catch (error) {
    if (error instanceof codemods.ConfigError || error instanceof codemods.DiscoveryError || error instanceof codemods.TsconfigError) {
      throw new GateInputError(`--scan: ${error.message}`);
    }
    throw error;
  }
  const counts: StaticCounts = new Map();
  for (const finding of result.findings) {
    const file = relative(process.cwd(), finding.file).split(sep).join('/');
    const perRule = counts.get(file) ?? new Map<string, number>();
    perRule.set(finding.ruleId, (perRule.get(finding.ruleId) ?? 0) + 1);
    counts.set(file, perRule);
  }
  return counts;
}

function nonNegativeInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be an integer >= 0');
  return n;
}

interface GateFlags {
  warnings?: string;
  baseline?: string;
  max?: number;
  updateBaseline?: boolean;
  strict?: boolean;
  format: GateFormat;
  scan?: string[] | boolean;
}

function useColor(): boolean {
  return Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
}

export function gateCommand(result: GateCommandResult): Command {
  return new Command('gate')
    .description('compare the deprecated calls recorded at run time (ORM_MIGRATE_WARNINGS_FILE) with a baseline')
    .option('--warnings <file>', `the warnings file the runtime wrote (default: $ORM_MIGRATE_WARNINGS_FILE or ${DEFAULT_WARNINGS_FILE})`)
    .option('--baseline <file>', `the committed baseline (default: ${DEFAULT_BASELINE_FILE})`)
    .option('--max <n>', 'fail when the total is above n (a threshold; no baseline needed)', nonNegativeInteger)
    .option('--update-baseline', 'write the current counts as the new baseline')
    .option('--strict', 'fail when counts dropped too (the baseline must match exactly)')
    .addOption(new Option('--format <format>', 'output format').choices([...GATE_FORMATS]).default('stylish'))
    .option('--scan [paths...]', 'add the static findings of `orm-migrate scan` to the same report')
    .action(async (flags: GateFlags) => {
      const warningsFile = resolve(flags.warnings ?? process.env.ORM_MIGRATE_WARNINGS_FILE ?? DEFAULT_WARNINGS_FILE);
      const baselineGiven = flags.baseline !== undefined;
      const thresholdOnly = flags.max !== undefined && !baselineGiven && !flags.updateBaseline;
      const baselineFile = thresholdOnly ? null : resolve(flags.baseline ?? DEFAULT_BASELINE_FILE);
      const scanPaths = flags.scan === undefined || flags.scan === false ? null : flags.scan === true ? ['.'] : flags.scan;
      const commandArgs = ['--warnings', flags.warnings ?? process.env.ORM_MIGRATE_WARNINGS_FILE ?? DEFAULT_WARNINGS_FILE];
      if (baselineGiven) commandArgs.push('--baseline', flags.baseline!);
      if (scanPaths) commandArgs.push('--scan', ...scanPaths);
      try {
        let staticCounts: StaticCounts | null = null;
        if (scanPaths) staticCounts = await countStaticFindings(scanPaths);
        const outcome = runGate({
          warningsFile,
          baselineFile,
          max: flags.max ?? null,
          strict: Boolean(flags.strict),
          updateBaseline: Boolean(flags.updateBaseline),
          staticCounts,
          commandArgs,
        });
        const text = flags.format === 'json' ? formatJson(outcome) : flags.format === 'github' ? formatGithub(outcome) : formatStylish(outcome, useColor());
        process.stdout.write(text);
        result.exitCode = outcome.failed ? 1 : 0;
      } catch (error) {
        if (error instanceof GateInputError) {
          process.stderr.write(`orm-migrate gate: ${error.message}\n`);
          result.exitCode = 2;
          return;
        }
        throw error;
      }
    });
}
