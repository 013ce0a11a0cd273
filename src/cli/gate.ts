/** `orm-migrate gate`: flags → runGate → formatter → exit code. */
import { resolve } from 'node:path';
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { ConfigError, DiscoveryError, TsconfigError, scan } from '../codemods/index.js';
import { DEFAULT_BASELINE_FILE, DEFAULT_WARNINGS_FILE, runGate } from '../gate/gate.js';
import type { StaticScan } from '../gate/gate.js';
import { BaselineError } from '../gate/baseline.js';
import { GateInputError } from '../gate/records.js';
import { GATE_FORMATS, formatGithub, formatJson, formatStylish } from '../gate/report.js';
import type { GateFormat } from '../gate/report.js';
import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE } from './main.js';
import type { CommandResult } from './main.js';
import { useColor } from './color.js';
import { presetOption } from './scan.js';
import type { PresetName } from '../codemods/presets/index.js';

/** --scan: the findings of `orm-migrate scan` over these paths. */
async function scanForGate(paths: string[], preset: PresetName | undefined): Promise<StaticScan> {
  try {
    const result = await scan({ paths, ...(preset ? { preset } : {}) });
    return { findings: result.findings, files: result.files };
  } catch (error) {
    if (error instanceof ConfigError || error instanceof DiscoveryError || error instanceof TsconfigError) {
      throw new GateInputError(`--scan: ${error.message}`);
    }
    throw error;
  }
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
  preset?: PresetName;
}

export function registerGateCommand(program: Command, result: CommandResult): void {
  program
    .command('gate')
    .description('compare the deprecated calls recorded at run time (ORM_MIGRATE_WARNINGS_FILE) with a baseline')
    .option('--warnings <file>', `the warnings file the runtime wrote (default: $ORM_MIGRATE_WARNINGS_FILE or ${DEFAULT_WARNINGS_FILE})`)
    .option('--baseline <file>', `the committed baseline (default: ${DEFAULT_BASELINE_FILE})`)
    .option('--max <n>', 'fail when the total is above n (a threshold; no baseline needed)', nonNegativeInteger)
    .option('--update-baseline', 'write the current counts as the new baseline')
    .option('--strict', 'fail when counts dropped too (the baseline must match exactly)')
    .addOption(new Option('--format <format>', 'output format').choices([...GATE_FORMATS]).default('stylish'))
    .option('--scan [paths...]', 'add the static findings of `orm-migrate scan` to the same report')
    .addOption(presetOption())
    .action(async (flags: GateFlags) => {
      const warningsArgument = flags.warnings ?? (process.env.ORM_MIGRATE_WARNINGS_FILE || DEFAULT_WARNINGS_FILE);
      const warningsFile = resolve(warningsArgument);
      const baselineGiven = flags.baseline !== undefined;
      const thresholdOnly = flags.max !== undefined && !baselineGiven && !flags.updateBaseline;
      const baselineFile = thresholdOnly ? null : resolve(flags.baseline ?? DEFAULT_BASELINE_FILE);
      const scanPaths = flags.scan === undefined || flags.scan === false ? null : flags.scan === true ? ['.'] : flags.scan;
      const commandArgs = ['--warnings', warningsArgument];
      if (baselineGiven) commandArgs.push('--baseline', flags.baseline!);
      if (scanPaths) commandArgs.push('--scan', ...scanPaths);
      if (flags.preset) commandArgs.push('--preset', flags.preset);
      try {
        const staticScan = scanPaths ? await scanForGate(scanPaths, flags.preset) : null;
        const outcome = runGate({
          cwd: process.cwd(),
          warningsFile,
          baselineFile,
          max: flags.max ?? null,
          strict: Boolean(flags.strict),
          updateBaseline: Boolean(flags.updateBaseline),
          scan: staticScan,
          commandArgs,
        });
        const text = flags.format === 'json' ? formatJson(outcome) : flags.format === 'github' ? formatGithub(outcome) : formatStylish(outcome, useColor(process.stdout));
        process.stdout.write(text);
        result.exitCode = outcome.failed ? EXIT_FINDINGS : EXIT_OK;
      } catch (error) {
        if (error instanceof GateInputError || error instanceof BaselineError) {
          process.stderr.write(`orm-migrate gate: ${error.message}\n`);
          result.exitCode = EXIT_USAGE;
          return;
        }
        throw error;
      }
    });
}
