/**
 * `orm-migrate fix`: parses flags, plans the rewrites, guards uncommitted work, writes (or
 * prints diffs), reports what is left by hand and chooses the exit code. No analysis here.
 */
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { isRuleId } from '../codemods/engine/types.js';
import { FIXABLE_RULE_IDS, isFixableRuleId, planFix, unifiedDiff, uncommittedChanges, writeFileAtomically } from '../codemods/fix/index.js';
import type { FixFailure, FixPlan, FixableRuleId, ManualItem } from '../codemods/fix/index.js';
// main.ts imports this module too; these bindings are only read when a command runs.
import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE } from './main.js';
import type { CommandResult } from './main.js';
import { presetOption, reportInputProblems, runEngine } from './scan.js';
import type { PresetName } from '../codemods/presets/index.js';
import { displayPath } from '../codemods/report/format.js';

export interface FixCommandOptions {
  dryRun?: boolean;
  rule: FixableRuleId[];
  force?: boolean;
  types: boolean;
  config?: string;
  /** false with --no-error-on-unmatched-pattern. */
  errorOnUnmatchedPattern: boolean;
  /** --preset: overrides the config's "preset". */
  preset?: PresetName;
}


function collectRule(value: string, previous: FixableRuleId[]): FixableRuleId[] {
  const id = value.trim();
  if (isFixableRuleId(id)) return previous.includes(id) ? previous : [...previous, id];
  if (isRuleId(id)) throw new InvalidArgumentError(`${id} has no automatic fix (fixable rules: ${FIXABLE_RULE_IDS.join(', ')}).`);
  throw new InvalidArgumentError(`unknown rule "${id}" (fixable rules: ${FIXABLE_RULE_IDS.join(', ')}).`);
}

const RULE_LABELS: Record<FixableRuleId, [string, string]> = {
  'async-outside-connection': ['block added', 'blocks added'],
  'sync-in-async-context': ['sync call made async', 'sync calls made async'],
  'sync-to-async-wrapper': ['thread wrapper removed', 'thread wrappers removed'],
};

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

function manualLines(items: readonly ManualItem[], display: (file: string) => string): string[] {
  if (items.length === 0) return [];
  const lines = ['', `Left for you to change by hand (${items.length}):`];
  for (const item of items) {
    const findings = item.findings > 1 ? ` [${item.findings} findings]` : '';
    lines.push(`  ${display(item.file)}:${item.line}:${item.column}  ${item.subject}  (${item.ruleId})${findings}`, `    ${item.reason}`);
  }
  return lines;
}

function errorLines(errors: readonly FixFailure[], display: (file: string) => string): string[] {
  if (errors.length === 0) return [];
  // Error messages name their file already (absolute): show it as the rest of the report does.
  const line = (error: FixFailure): string => {
    const message = error.message.split(error.file).join(display(error.file));
    return message.startsWith(`${display(error.file)}:`) ? `  ${message}` : `  ${display(error.file)}: ${message}`;
  };
  return ['', `Could not fix (${errors.length}):`, ...errors.map(line)];
}

function summaryLine(changed: number, plan: FixPlan, errors: number, dryRun: boolean): string {
  const unchanged = plan.scanned.length - changed - errors;
  return `${plural(changed, 'file', 'files')} ${dryRun ? 'would change' : 'changed'}, ${unchanged} unchanged, ${plan.manual.length} manual, ${plural(errors, 'error', 'errors')}`;
}

export async function runFix(paths: readonly string[], options: FixCommandOptions): Promise<number> {
  const cwd = process.cwd();
  const display = (file: string): string => displayPath(cwd, file);
  const plan = await runEngine((onProgress) => planFix({ cwd, paths, configFile: options.config, types: options.types, rules: options.rule, onProgress, ...(options.preset ? { preset: options.preset } : {}) }));
  if (plan === undefined) return EXIT_USAGE;
  for (const note of plan.notes) process.stderr.write(`orm-migrate: note: ${note}\n`);
  if (reportInputProblems(plan.problems, cwd, options.errorOnUnmatchedPattern)) {
    process.stderr.write('orm-migrate fix: the paths above could not be scanned, so the rewrite would be partial. Nothing was changed.\n');
    return EXIT_USAGE;
  }

  if (options.dryRun) {
    // stdout is the patch alone (it can be piped to `git apply`); the report goes to stderr.
    for (const file of plan.files) process.stdout.write(unifiedDiff(display(file.file), file.original, file.fixed));
    const report = [...manualLines(plan.manual, display), ...errorLines(plan.errors, display), '', `${summaryLine(plan.files.length, plan, plan.errors.length, true)} (dry run: nothing was written)`];
    process.stderr.write(`${report.join('\n').replace(/^\n/, '')}\n`);
    return plan.files.length > 0 || plan.manual.length > 0 || plan.errors.length > 0 ? EXIT_FINDINGS : EXIT_OK;
  }

  if (!options.force && plan.files.length > 0) {
    const check = uncommittedChanges(plan.files.map((file) => file.file));
    if (check.kind === 'dirty') {
      const lines = [
        `orm-migrate fix: refusing to rewrite ${plural(check.files.length, 'file that has', 'files that have')} uncommitted changes, so that every rewrite can be reviewed and reverted with git:`,
        ...check.files.map((entry) => `  ${display(entry.file)} (${entry.status.trim() === '??' ? 'untracked' : 'modified'})`),
        'Commit or stash them first, or run again with --force. Nothing was changed.',
      ];
      process.stderr.write(`${lines.join('\n')}\n`);
      return EXIT_USAGE;
    }
    if (check.kind === 'no-git') {
      // Without git nothing can be reviewed or reverted: the same refusal as for uncommitted changes.
      const lines = [
        `orm-migrate fix: refusing to rewrite ${plural(plan.files.length, 'file', 'files')} outside a git working tree (${check.reason}), because the rewrites could not be reviewed or reverted with git:`,
        ...plan.files.map((file) => `  ${display(file.file)}`),
        'Run it inside a git working tree with the files committed, or again with --force. Nothing was changed.',
      ];
      process.stderr.write(`${lines.join('\n')}\n`);
      return EXIT_USAGE;
    }
  }

  const errors = [...plan.errors];
  let changed = 0;
  const lines: string[] = [];
  for (const file of plan.files) {
    try {
      writeFileAtomically(file.file, file.fixed, file.original);
      changed += 1;
      const what = (Object.entries(file.rewrites) as [FixableRuleId, number][]).map(([rule, count]) => plural(count, ...(plan.rewriteLabels?.[rule] ?? RULE_LABELS[rule])));
      lines.push(`fixed ${display(file.file)} (${what.join(', ')})`);
    } catch (error) {
      errors.push({ file: file.file, message: error instanceof Error ? error.message : String(error) });
    }
  }
  lines.push(...manualLines(plan.manual, display), ...errorLines(errors, display), '', summaryLine(changed, plan, errors.length, false));
  process.stdout.write(`${lines.join('\n').replace(/^\n/, '')}\n`);
  return plan.manual.length > 0 || errors.length > 0 ? EXIT_FINDINGS : EXIT_OK;
}

export function registerFixCommand(program: Command, result: CommandResult): void {
  program
    .command('fix')
    .description('rewrite call sites into newConnection blocks (writes the files; --dry-run prints diffs)')
    .argument('[paths...]', 'files, directories or globs', ['.'])
    .option('--dry-run', 'print a unified diff per file and write nothing (exit 1 when changes are pending)')
    .addOption(new Option('--rule <id>', `apply only this rewrite (repeatable): ${FIXABLE_RULE_IDS.join(', ')}`).argParser(collectRule).default([], 'all of them'))
    .option('--force', 'rewrite files even when they have uncommitted changes')
    .option('--no-types', 'do not use tsconfig.json and the type checker; follow ORM imports syntactically')
    .option('-c, --config <file>', 'config file (orm-migrate.config.json, or a package.json with "ormMigrate")')
    .addOption(presetOption())
    .option('--no-error-on-unmatched-pattern', 'a pattern that matches no file is a note, not an error (unreadable files still fail)')
    .action(async (paths: string[], options: FixCommandOptions) => {
      result.exitCode = await runFix(paths, options);
    });
}
