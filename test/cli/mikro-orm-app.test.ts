/**
 * The MikroORM preset end to end on fixtures/mikro-orm-app, on a copy: its own mocha suite runs
 * under the orm-migrate/mocha plugin with `warnOnGlobalContext` recording each global-context use;
 * `scan --preset mikro-orm` reports the entry points that run outside every RequestContext (not
 * the routes); `fix --preset mikro-orm` opens a context at each root; afterwards the suite passes
 * with no record left but the documented manual item (the reminders job), the app type-checks, the
 * routes and the shared helper are byte-identical, a second fix changes nothing, and the gate
 * shows the drop against the baseline recorded before.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixture = join(root, 'fixtures/mikro-orm-app');
const bin = join(root, 'bin/orm-migrate.js');
const plugin = join(root, 'dist/mocha/plugin.js');
const require = createRequire(import.meta.url);
const mochaBin = require.resolve('mocha/bin/mocha.js');
const tscBin = require.resolve('typescript/bin/tsc');

/** The app's non-route entry points and the helper the nightly job shares with a route. */
const OUTSIDE_FILES = ['consumers/receipts.ts', 'jobs/nightly-report.ts', 'jobs/payment-reminders.ts', 'jobs/purge-abandoned-orders.ts', 'listeners/audit.ts', 'scripts/seed.ts', 'services/revenue.ts'];
/** The roots fix rewrites: one file per root (the helper is not a root; the reminders job is manual). */
const FIXED_FILES = ['consumers/receipts.ts', 'jobs/nightly-report.ts', 'jobs/purge-abandoned-orders.ts', 'listeners/audit.ts', 'scripts/seed.ts'];
/** Already inside a RequestContext (the middleware): fix must leave them byte for byte. */
const ROUTE_FILES = ['http/app.ts', 'routes/orders.ts', 'routes/reports.ts'];
/** No EntityManager or MikroORM binding in scope at its root (it reads `DI.em`): a manual item, see the app's README. */
const MANUAL_FILES = ['jobs/payment-reminders.ts'];
const VALIDATION_ERROR = /ValidationError: Using global EntityManager instance methods for context specific actions is disallowed/;

interface Finding {
  file: string;
  line: number;
  ruleId: string;
  roots: Array<{ file: string; name?: string }>;
}

interface WarningRecord {
  site: string;
  test?: string;
}

/** `file:line` of every line marked `expect: async-outside-connection`. */
function markedLines(app: string): Set<string> {
  const marked = new Set<string>();
  for (const file of sourceFiles(app)) {
    readFileSync(join(app, file), 'utf8')
      .split('\n')
      .forEach((text, index) => {
        if (/\/\/ expect: async-outside-connection/.test(text)) marked.add(`${file}:${index + 1}`);
      });
  }
  return marked;
}

/** The app's .ts files outside test/, relative and sorted. */
function sourceFiles(app: string): string[] {
  return (readdirSync(app, { recursive: true, encoding: 'utf8' }) as string[])
    .filter((file) => file.endsWith('.ts') && !file.startsWith('test/') && !file.includes('node_modules'))
    .map((file) => file.split('\\').join('/'))
    .sort();
}

const snapshot = (app: string): Map<string, string> => new Map(sourceFiles(app).map((file) => [file, readFileSync(join(app, file), 'utf8')]));
const fileOf = (site: string): string => site.replace(/:\d+:\d+$/, '');

describe('the MikroORM preset end to end on fixtures/mikro-orm-app (its own suite before and after fix)', function () {
  this.timeout(180_000);
  let scratch: string;
  let app: string;
  let original: Map<string, string>;

  /** Runs the app's suite under the mocha plugin; returns the run's status, output and warning records. */
  function runSuite(warnings: string, mode = ''): { status: number | null; output: string; records: WarningRecord[] } {
    const file = join(scratch, warnings);
    const run = spawnSync(process.execPath, [mochaBin, '--require', plugin], {
      cwd: app,
      encoding: 'utf8',
      env: { ...process.env, ORM_MIGRATE_WARNINGS_FILE: file, ORM_MIGRATE_WARNINGS: mode, NODE_OPTIONS: '', NO_COLOR: '1' },
    });
    const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
    const records = lines.map((line) => JSON.parse(line) as WarningRecord & { kind?: string }).filter((record) => record.kind === undefined);
    return { status: run.status, output: `${run.stdout}\n${run.stderr}`, records };
  }

  const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: app, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ORM_MIGRATE_WARNINGS_FILE: '' } });

  before(() => {
    // Inside the repository, so the copy resolves 'orm-migrate/mikro-orm' to this package (its
    // dist/) and its dependencies from our node_modules; not git-ignored, as scan skips those.
    scratch = join(root, `.mikro-orm-app-scratch-${process.pid}`);
    mkdirSync(scratch, { recursive: true });
    app = join(scratch, 'app');
    cpSync(fixture, app, { recursive: true });
    original = snapshot(app);
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('before the fix: the suite passes with the shim, and the records name the non-route entry points and the shared helper', () => {
    const { status, output, records } = runSuite('before.jsonl');
    assert.equal(status, 0, `the app's suite must pass under the shim:\n${output}`);
    assert.match(output, /10 passing/);
    assert.match(output, /PendingDeprecationWarning/);
    assert.deepEqual([...new Set(records.map((record) => fileOf(record.site)))].sort(), OUTSIDE_FILES);
    // Every recorded call is one the scan must report (a marked line), never a route's.
    const marked = markedLines(app);
    for (const record of records) assert.ok(marked.has(record.site.replace(/:\d+$/, '')), `${record.site} is not a marked line`);
    // The helper is shared with the revenue route, which runs inside the middleware's context:
    // it is recorded through the nightly job only.
    for (const record of records.filter((r) => fileOf(r.site) === 'services/revenue.ts')) {
      if (record.test !== undefined) assert.match(record.test, /nightly report/);
    }
  });

  it("before the fix, ORM_MIGRATE_WARNINGS=error: the route tests and the already-migrated job pass, the others fail with MikroORM's ValidationError", () => {
    const { status, output } = runSuite('before-error.jsonl', 'error');
    assert.notEqual(status, 0, output);
    assert.match(output, /4 passing/);
    assert.match(output, /6 failing/);
    assert.match(output, VALIDATION_ERROR);
    assert.doesNotMatch(output, /\d+\) HTTP routes/);
    assert.doesNotMatch(output, /the audit-trail pruning \(already on a fork\)[^\n]*:\n/);
  });

  it('scan --preset mikro-orm reports exactly the marked calls (exit 1), none in the routes', () => {
    const run = cli('scan', '--preset', 'mikro-orm', '--format', 'json', '.');
    assert.equal(run.status, 1, run.stdout + run.stderr);
    const report = JSON.parse(run.stdout) as { summary: { fixable: number }; findings: Finding[] };
    const findings = report.findings;
    const reported = new Set(findings.filter((f) => f.ruleId === 'async-outside-connection').map((f) => `${f.file}:${f.line}`));
    assert.deepEqual([...reported].sort(), [...markedLines(app)].sort());
    assert.deepEqual(findings.filter((f) => f.ruleId !== 'async-outside-connection'), []);
    for (const file of ROUTE_FILES) assert.ok(![...reported].some((site) => site.startsWith(`${file}:`)), `${file} must not be reported`);
    // Each finding names its root: the entry point in its own file, or, for the shared helper, the job that reached it.
    for (const finding of findings) {
      const roots = finding.roots.map((root) => `${root.file} ${root.name ?? '(inline)'}`);
      if (finding.file === 'services/revenue.ts') assert.deepEqual(roots, ['jobs/nightly-report.ts run'], `${finding.file}:${finding.line}`);
      else assert.ok(roots.length === 1 && roots[0]!.startsWith(`${finding.file} `), `${finding.file}:${finding.line} has roots ${roots.join(', ')}`);
    }
    // Every finding but the manual item's is one fix rewrites.
    assert.equal(report.summary.fixable, findings.filter((f) => !MANUAL_FILES.includes(f.file)).length);
  });

  it('records the baseline before the fix (gate --update-baseline)', () => {
    const update = cli('gate', '--preset', 'mikro-orm', '--warnings', join(scratch, 'before.jsonl'), '--update-baseline');
    assert.equal(update.status, 0, update.stdout + update.stderr);
  });

  it('fix --preset mikro-orm opens a context at each root, leaves the routes and the helper alone, and names the reminders job as manual', () => {
    // The copy is untracked in this repository's git tree: --force, as the guard would refuse it.
    const run = cli('fix', '--preset', 'mikro-orm', '--force');
    const output = run.stdout + run.stderr;
    assert.equal(run.status, 1, `the manual item remains, so exit 1:\n${output}`);
    assert.match(run.stdout, /^5 files changed, \d+ unchanged, 1 manual, 0 errors$/m, output);
    assert.match(run.stdout, /^ *jobs\/payment-reminders\.ts:\d+:\d+ {2}`remindUnpaidOrders`[^\n]*\n[^\n]*EntityManager or MikroORM/m, output);
    const after = snapshot(app);
    const changed = [...after.keys()].filter((file) => after.get(file) !== original.get(file));
    assert.deepEqual(changed, FIXED_FILES);
    for (const file of [...ROUTE_FILES, 'services/revenue.ts', ...MANUAL_FILES]) assert.equal(after.get(file), original.get(file), `${file} must be byte-identical`);
    const job = after.get('jobs/nightly-report.ts')!;
    assert.match(job, /^import \{[^}]*\bCreateRequestContext\b[^}]*\} from '@mikro-orm\/(?:core|better-sqlite)';$/m);
    assert.match(job, /^ {2}@CreateRequestContext\(\)\n {2}async run\(\): Promise<DailyReport> \{$/m);
    assert.match(after.get('jobs/purge-abandoned-orders.ts')!, /^ {2}return RequestContext\.create\(orm\.em, async \(\) => \{$/m);
    assert.match(after.get('consumers/receipts.ts')!, /RequestContext\.create\(orm\.em, async \(\) => \{/);
    assert.match(after.get('listeners/audit.ts')!, /RequestContext\.create\(em, async \(\) => \{/);
    // The script creates its ORM in main(): what follows that statement runs in a context.
    assert.match(after.get('scripts/seed.ts')!, /const orm = await MikroORM\.init\([^\n]*\);\n\s*(?:return |await )?RequestContext\.create\(orm\.em, async \(\) => \{/);
    for (const file of ['jobs/purge-abandoned-orders.ts', 'consumers/receipts.ts', 'listeners/audit.ts', 'scripts/seed.ts']) {
      // From core, or merged into an existing import of the driver package, which re-exports it.
      assert.match(after.get(file)!, /^import \{[^}]*\bRequestContext\b[^}]*\} from '@mikro-orm\/(?:core|better-sqlite)';$/m, file);
    }
  });

  it('after the fix: the suite passes with no record left but the manual item’s', () => {
    const { status, output, records } = runSuite('after.jsonl');
    assert.equal(status, 0, `the app's suite must pass after the fix:\n${output}`);
    assert.match(output, /10 passing/);
    assert.deepEqual([...new Set(records.map((record) => fileOf(record.site)))], MANUAL_FILES);
  });

  it("after the fix, ORM_MIGRATE_WARNINGS=error: only the manual item's test still fails with the ValidationError", () => {
    const { status, output } = runSuite('after-error.jsonl', 'error');
    assert.notEqual(status, 0, output);
    assert.match(output, /9 passing/);
    assert.match(output, /1 failing/);
    assert.match(output, /1\) scheduled jobs[^\n]*\n\s*the payment reminders/);
    assert.match(output, VALIDATION_ERROR);
  });

  it('the fixed app type-checks (tsc --noEmit -p)', () => {
    assert.match(readFileSync(join(app, 'jobs/nightly-report.ts'), 'utf8'), /@CreateRequestContext\(\)/, 'fix has run');
    const run = spawnSync(process.execPath, [tscBin, '--noEmit', '-p', app], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stdout + run.stderr);
  });

  it('a second fix changes nothing', () => {
    const before = snapshot(app);
    const again = cli('fix', '--preset', 'mikro-orm', '--force');
    assert.equal(again.status, 1, again.stdout + again.stderr);
    assert.match(again.stdout, /^0 files changed, \d+ unchanged, 1 manual, 0 errors$/m, again.stdout);
    assert.deepEqual(snapshot(app), before);
  });

  it('scan after the fix reports only the manual item', () => {
    const run = cli('scan', '--preset', 'mikro-orm', '--format', 'json', '.');
    assert.equal(run.status, 1, run.stdout + run.stderr);
    const findings = (JSON.parse(run.stdout) as { findings: Array<{ file: string }> }).findings;
    assert.deepEqual([...new Set(findings.map((f) => f.file))], MANUAL_FILES);
  });

  it('the gate against the baseline recorded before shows the drop', () => {
    const run = cli('gate', '--preset', 'mikro-orm', '--warnings', join(scratch, 'after.jsonl'));
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /\d+ fewer deprecated calls? than the baseline at \d+ sites?\./);
    // The shared helper dropped out with the job that reached it; the manual item's site stays.
    assert.match(run.stdout, /no longer hit services\/revenue\.ts:\d+:\d+/);
    assert.doesNotMatch(run.stdout, /no longer hit jobs\/payment-reminders\.ts/);
    const strict = cli('gate', '--preset', 'mikro-orm', '--warnings', join(scratch, 'after.jsonl'), '--strict');
    assert.equal(strict.status, 1, strict.stdout);
  });
});
