/**
 * scan's "N problems can be rewritten by orm-migrate fix" is what fix then rewrites (issue 12):
 * over every fix fixture directory and the polls app, the built CLI scans (json), fixes a copy,
 * and scans the fixed copy. Per file and rule, the findings that went away are exactly the ones
 * scan flagged `fixable`, and the ones fix left (manual) are exactly the ones it did not.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFixtureProject } from '../codemods/fix/fixtures.js';
import { runCli } from '../support/cli.js';
import type { CliRun } from '../support/cli.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const FIXABLE_RULES = new Set(['async-outside-connection', 'sync-in-async-context', 'sync-to-async-wrapper']);

interface JsonFinding {
  file: string;
  ruleId: string;
  fixable: boolean;
  suppressed: boolean;
}

interface JsonReport {
  findings: JsonFinding[];
  summary: { fixable: number };
}

const cli = (cwd: string, args: string[]): CliRun => runCli(cwd, args);

function scanJson(cwd: string, types: boolean): JsonReport {
  const run = cli(cwd, ['scan', '--format', 'json', ...(types ? [] : ['--no-types'])]);
  assert.ok(run.status === 0 || run.status === 1, run.stderr);
  return JSON.parse(run.stdout) as JsonReport;
}

/** Per `file rule`: [fixable-flagged findings, all findings] of the fixable rules. */
function countsByFileAndRule(report: JsonReport): Map<string, { flagged: number; total: number }> {
  const counts = new Map<string, { flagged: number; total: number }>();
  for (const finding of report.findings) {
    if (!FIXABLE_RULES.has(finding.ruleId) || finding.suppressed) continue;
    const key = `${finding.file} ${finding.ruleId}`;
    const entry = counts.get(key) ?? { flagged: 0, total: 0 };
    entry.total += 1;
    if (finding.fixable) entry.flagged += 1;
    counts.set(key, entry);
  }
  return counts;
}

interface Outcome {
  before: JsonReport;
  after: JsonReport;
}

/** scan, fix (the copy is not a git tree: --force), scan again. */
function scanFixScan(dir: string, types: boolean): Outcome {
  const before = scanJson(dir, types);
  const fixed = cli(dir, ['fix', '--force', ...(types ? [] : ['--no-types'])]);
  assert.ok(fixed.status === 0 || fixed.status === 1, fixed.stdout + fixed.stderr);
  assert.match(fixed.stdout, / 0 errors$/m, fixed.stdout + fixed.stderr);
  return { before, after: scanJson(dir, types) };
}

/** Findings gone per file and rule = the ones scan called fixable; the ones left = the ones it did not. */
function assertFixableMatches(outcome: Outcome, prefix: string): void {
  const before = countsByFileAndRule(outcome.before);
  const after = countsByFileAndRule(outcome.after);
  for (const [key, { flagged, total }] of before) {
    if (!key.startsWith(prefix)) continue;
    const left = after.get(key)?.total ?? 0;
    assert.equal(total - left, flagged, `${key}: scan flagged ${flagged} of ${total} findings as fixable, fix resolved ${total - left}`);
    assert.equal(after.get(key)?.flagged ?? 0, 0, `${key}: a finding fix left is still flagged fixable after the fix`);
  }
  for (const key of after.keys()) {
    if (key.startsWith(prefix)) assert.ok(before.has(key), `${key}: the fix added findings`);
  }
}

function totalFlagged(report: JsonReport): number {
  return [...countsByFileAndRule(report).values()].reduce((sum, entry) => sum + entry.flagged, 0);
}

describe('scan counts as fixable exactly what fix rewrites (child process)', function () {
  this.timeout(180_000);

  const setups: { name: string; types: boolean; config?: object }[] = [
    { name: 'type-aware', types: true },
    { name: '--no-types', types: false },
    // fix plans with floating-async-call on whatever the config says: scan must count the same way.
    { name: 'floating-async-call off in the config', types: true, config: { rules: { 'floating-async-call': 'off' } } },
    // The connection function comes from the module that exports it, not the first of ormModules.
    { name: 'a custom ormModules (a local module first, no "connection" key)', types: true, config: { ormModules: ['./_support/models.ts', 'orm-migrate/runtime'] } },
  ];
  for (const { name: setupName, types, config } of setups) {
    describe(`the fix fixtures, ${setupName}`, () => {
      let outcome: Outcome;
      before(() => {
        const project = createFixtureProject();
        try {
          if (config) project.write('orm-migrate.config.json', `${JSON.stringify(config)}\n`);
          outcome = scanFixScan(project.dir, types);
        } finally {
          project.remove();
        }
      });

      it('summary.fixable is the number of findings flagged fixable', () => {
        assert.equal(outcome.before.summary.fixable, totalFlagged(outcome.before));
        assert.equal(outcome.after.summary.fixable, 0);
      });

      const cases = readdirSync(join(root, 'fixtures/fix')).filter((name) => !name.startsWith('_') && statSync(join(root, 'fixtures/fix', name)).isDirectory());
      for (const name of cases) {
        it(`fixtures/fix/${name}`, () => {
          assertFixableMatches(outcome, `${name}/`);
        });
      }
    });
  }

  it('the polls app (type-aware)', () => {
    // Inside the repository, so 'orm-migrate/runtime' resolves to this package (as in fix-polls).
    const scratch = join(root, `.fixable-count-${process.pid}`);
    mkdirSync(scratch, { recursive: true });
    try {
      const dir = join(scratch, 'polls');
      cpSync(join(root, 'fixtures/polls'), dir, { recursive: true });
      const outcome = scanFixScan(dir, true);
      assert.equal(outcome.before.summary.fixable, totalFlagged(outcome.before));
      assert.ok(outcome.before.summary.fixable > 0, 'the polls app has fixable findings');
      assertFixableMatches(outcome, '');
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
