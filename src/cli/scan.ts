/**
 * `orm-migrate scan`: parses flags, runs the engine, picks the formatter, decides the exit code.
 * No analysis happens here.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { displayPath } from '../codemods/report/format.js';
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../codemods/engine/config.js';
import { settleConnectionModule } from '../codemods/engine/connection-module.js';
import { rewrittenFindings } from '../codemods/fix/index.js';
import { DiscoveryError } from '../codemods/engine/discover.js';
import type { InputProblem } from '../codemods/engine/discover.js';
import { scan } from '../codemods/engine/scan.js';
import type { Finding, RuleId, RuleSetting, ScanProgress } from '../codemods/engine/types.js';
import { RULE_IDS, isRuleId } from '../codemods/engine/types.js';
import { FORMATS, FORMATTERS, buildReport, compareWithBaseline, countFindings, gateMessages, updatedStaticCounts } from '../codemods/report/index.js';
import type { BaselineComparison, FormatName } from '../codemods/report/index.js';
import { BaselineError, DEFAULT_BASELINE_FILE, readBaseline, writeBaseline } from '../gate/baseline.js';
// main.ts imports this module too; these bindings are only read when a command runs.
import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE } from './main.js';
import type { CommandResult } from './main.js';
import { useColor } from './color.js';
import { PRESET_NAMES, presetByName } from '../codemods/presets/index.js';
import type { PresetName } from '../codemods/presets/index.js';

/** `--preset <name>` (scan, fix, gate): an unknown name is a usage error listing the presets. */
export function presetOption(): Option {
  return new Option('--preset <name>', 'the ORM to migrate (overrides the config\'s "preset")').choices(PRESET_NAMES);
}

export { DEFAULT_BASELINE_FILE };

export interface ScanCommandOptions {
  format: FormatName;
  maxWarnings?: number;
  baseline?: string;
  updateBaseline?: boolean;
  types: boolean;
  config?: string;
  rule?: Partial<Record<RuleId, RuleSetting>>;
  outputFile?: string;
  /** false with --no-error-on-unmatched-pattern. */
  errorOnUnmatchedPattern: boolean;
  /** --preset: overrides the config's "preset". */
  preset?: PresetName;
}

/**
 * Prints input the scan could not look at; returns whether it must fail the run (exit 2).
 * Like ESLint, --no-error-on-unmatched-pattern forgives only patterns that matched nothing: an
 * unreadable file or directory always fails, since findings may hide in it.
 */
export function reportInputProblems(problems: readonly InputProblem[], cwd: string, errorOnUnmatchedPattern: boolean): boolean {
  let fatal = false;
  for (const problem of problems) {
    const forgiven = problem.kind === 'unmatched-pattern' && !errorOnUnmatchedPattern;
    fatal ||= !forgiven;
    const message = problem.kind === 'unreadable' ? problem.message.split(problem.path).join(displayPath(cwd, problem.path)) : problem.message;
    process.stderr.write(`orm-migrate: ${forgiven ? 'note' : 'error'}: ${message}\n`);
  }
  return fatal;
}


function parseMaxWarnings(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number of warnings (0 or more).');
  return Number(value);
}

function collectRule(value: string, previous: Partial<Record<RuleId, RuleSetting>> | undefined): Partial<Record<RuleId, RuleSetting>> {
  const match = /^([\w-]+)\s*[:=]\s*(off|warn|error)$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError('expected <rule-id>:<off|warn|error>, e.g. floating-async-call:warn.');
  const [, id = '', setting = 'off'] = match;
  if (!isRuleId(id)) throw new InvalidArgumentError(`unknown rule "${id}" (rules: ${RULE_IDS.join(', ')}).`);
  return { ...previous, [id]: setting as RuleSetting };
}

function shellQuote(argument: string): string {
  return /^[\w@%+=:,./-]+$/.test(argument) ? argument : `'${argument.replace(/'/g, `'\\''`)}'`;
}

/** The command that rewrites the baseline from exactly this scan. */
export function updateBaselineCommand(paths: readonly string[], options: ScanCommandOptions, baseline: string): string {
  const args = ['npx', 'orm-migrate', 'scan', ...paths];
  if (options.config) args.push('--config', options.config);
  if (options.preset) args.push('--preset', options.preset);
  if (!options.types) args.push('--no-types');
  for (const [rule, setting] of Object.entries(options.rule ?? {})) args.push('--rule', `${rule}:${setting}`);
  args.push('--baseline', baseline, '--update-baseline');
  return args.map(shellQuote).join(' ');
}

/** Shows progress on stderr, but only on a terminal and only once the scan has taken a while. */
export function progressReporter(): { onProgress: (progress: ScanProgress) => void; done: () => void } {
  const stream = process.stderr;
  if (!stream.isTTY) return { onProgress: () => undefined, done: () => undefined };
  const started = Date.now();
  let lastDraw = 0;
  let drawn = false;
  return {
    onProgress: (progress) => {
      const now = Date.now();
      if (now - started < 1000 || now - lastDraw < 100) return;
      lastDraw = now;
      drawn = true;
      const counts = progress.total > 0 ? ` ${progress.done}/${progress.total} files` : '';
      stream.write(`\r\x1b[2Korm-migrate: ${progress.phase === 'analyse' ? 'analysing the call graph' : progress.phase === 'parse' ? 'parsing' : 'finding files'}${counts}…`);
    },
    done: () => {
      if (drawn) stream.write('\r\x1b[2K');
    },
  };
}

/**
 * Runs the engine (scan, or fix's planning) with the progress line; a bad config or path prints
 * its message and yields undefined, which the command turns into exit 2.
 */
export async function runEngine<T>(run: (onProgress: (progress: ScanProgress) => void) => Promise<T>): Promise<T | undefined> {
  const progress = progressReporter();
  let result: T;
  try {
    result = await run(progress.onProgress);
  } catch (error) {
    progress.done();
    if (error instanceof ConfigError || error instanceof DiscoveryError) {
      process.stderr.write(`orm-migrate: ${error.message}\n`);
      return undefined;
    }
    throw error;
  }
  progress.done();
  return result;
}

export async function runScan(paths: readonly string[], options: ScanCommandOptions): Promise<number> {
  const cwd = process.cwd();
  // The config is loaded here so that fix's plan (for the fixable count) sees the same one.
  const engine = await runEngine(async (onProgress) => {
    // Settled as fix settles it: which module exports the connection function decides what fix can wrap.
    const config = settleConnectionModule(loadConfig(cwd, options.config, paths, options.preset));
    const preset = presetByName(config.preset);
    for (const [id, setting] of Object.entries(options.rule ?? {})) {
      if (setting !== 'off' && !preset.rules.includes(id as RuleId)) {
        throw new ConfigError('--rule', id, `does not run under the "${preset.name}" preset (its rules: ${preset.rules.join(', ')})`);
      }
    }
    // fix refuses roots whose promises float, so its plan needs floating-async-call even when it is off here.
    const floatingOff = (options.rule?.['floating-async-call'] ?? config.rules['floating-async-call']) === 'off';
    const ruleOverrides = floatingOff ? { ...options.rule, 'floating-async-call': 'warn' as const } : options.rule;
    const planned = await scan({ cwd, paths, config, types: options.types, ruleOverrides, onProgress });
    const result = floatingOff ? { ...planned, findings: planned.findings.filter((finding) => finding.ruleId !== 'floating-async-call') } : planned;
    return { config, planned, result };
  });
  if (engine === undefined) return EXIT_USAGE;
  const { result, planned, config } = engine;
  const inputFailed = reportInputProblems(result.problems, cwd, options.errorOnUnmatchedPattern);

  const baselineArgument = options.baseline ?? (options.updateBaseline ? DEFAULT_BASELINE_FILE : undefined);
  const baselinePath = baselineArgument === undefined ? undefined : resolve(cwd, baselineArgument);
  let comparison: BaselineComparison | undefined;
  let written: { path: string; entries: number; findings: number } | undefined;
  try {
    if (baselinePath) {
      // The static half of the one baseline file; the run-time half (orm-migrate gate) is kept as it is.
      const { baseline } = readBaseline(baselinePath, cwd);
      if (options.updateBaseline) {
        const next = { ...baseline, static: updatedStaticCounts(baseline.static, result.findings, cwd, result.files) };
        writeBaseline(baselinePath, next);
        const entries = [...next.static.values()].reduce((sum, rules) => sum + rules.size, 0);
        const findings = [...countFindings(result.findings, cwd).values()].reduce((sum, rules) => sum + [...rules.values()].reduce((a, b) => a + b, 0), 0);
        written = { path: baselinePath, entries, findings };
        comparison = compareWithBaseline(result.findings, next.static, baselinePath, result.files, cwd);
      } else {
        if (baseline.static === null) {
          process.stderr.write(
            `orm-migrate: ${displayPath(cwd, baselinePath)} has no static part${existsSync(baselinePath) ? '' : ' (the file does not exist)'}: record it with ${updateBaselineCommand(paths, options, baselineArgument!)}\n`,
          );
          return EXIT_USAGE;
        }
        comparison = compareWithBaseline(result.findings, baseline.static, baselinePath, result.files, cwd);
      }
    }
  } catch (error) {
    if (error instanceof BaselineError) {
      process.stderr.write(`orm-migrate: ${error.message}\n`);
      return EXIT_USAGE;
    }
    throw error;
  }

  // A finding is fixable (the flag, and "N problems can be rewritten") only if fix's own plan rewrites it.
  const countStarted = performance.now();
  const rewritten = result.findings.some((finding) => finding.fixable) ? rewrittenFindings(planned, config) : new Set<Finding>();
  const countMs = Math.round(performance.now() - countStarted);
  for (const finding of result.findings) if (finding.fixable && !rewritten.has(finding)) finding.fixable = false;
  const report = buildReport(result, { maxWarnings: options.maxWarnings, baseline: comparison, baselineWritten: written });
  const context = {
    cwd,
    color: !options.outputFile && useColor(process.stdout),
    toolVersion: toolVersion(),
    ...(baselineArgument !== undefined ? { updateBaselineCommand: updateBaselineCommand(paths, options, baselineArgument) } : {}),
  };
  for (const note of result.notes) process.stderr.write(`orm-migrate: note: ${note}\n`);
  const formatStarted = performance.now();
  const output = FORMATTERS[options.format](report, context);
  if (options.outputFile) {
    const target = resolve(cwd, options.outputFile);
    try {
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, output);
    } catch (error) {
      // Bad input, not a crash: name the file and the reason, no stack.
      process.stderr.write(`orm-migrate: --output-file ${options.outputFile}: cannot write the report: ${(error as Error).message}\n`);
      return EXIT_USAGE;
    }
  } else {
    process.stdout.write(output);
  }
  if (process.env.ORM_MIGRATE_TIMING) {
    // Like ESLint's TIMING=1: where the time went, on stderr.
    const phases = { ...result.stats.phases, 'fixable count': countMs, report: Math.round(performance.now() - formatStarted) };
    process.stderr.write(`orm-migrate: timing (ms): ${Object.entries(phases).map(([phase, ms]) => `${phase} ${ms}`).join(', ')}\n`);
  }
  // stylish and github print the gate lines themselves; machine formats keep stdout clean.
  if (options.format === 'json' || options.format === 'sarif' || options.outputFile) {
    for (const line of gateMessages(report, context)) process.stderr.write(`orm-migrate: ${line}\n`);
  }
  if (inputFailed) {
    process.stderr.write('orm-migrate: the scan is incomplete (see the errors above), so it cannot pass: exit 2\n');
    return EXIT_USAGE;
  }
  return report.gate.passed ? EXIT_OK : EXIT_FINDINGS;
}

function toolVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export function registerScanCommand(program: Command, result: CommandResult): void {
  program
    .command('scan')
    .description('report call sites that need migration (like ESLint, for the move to newConnection blocks)')
    .argument('[paths...]', 'files, directories or globs', ['.'])
    .addOption(new Option('-f, --format <format>', 'output format').choices(FORMATS).default('stylish'))
    .option('--max-warnings <number>', 'fail (exit 1) when there are more warnings than this', parseMaxWarnings)
    .option('--baseline <file>', 'accept the findings recorded in this file; fail only on new or increased counts')
    .option('--update-baseline', `write the baseline (default ${DEFAULT_BASELINE_FILE}) from this scan`)
    .option('--no-types', 'do not use tsconfig.json and the type checker; follow ORM imports syntactically')
    .option('-c, --config <file>', 'config file (orm-migrate.config.json, or a package.json with "ormMigrate")')
    .addOption(presetOption())
    .option('--rule <rule:severity>', 'override a rule, e.g. --rule floating-async-call:warn (repeatable)', collectRule)
    .option('-o, --output-file <file>', 'write the report to a file instead of stdout')
    .option('--no-error-on-unmatched-pattern', 'a pattern that matches no file is a note, not an error (unreadable files still fail)')
    .action(async (paths: string[], options: ScanCommandOptions) => {
      result.exitCode = await runScan(paths, options);
    });
}
