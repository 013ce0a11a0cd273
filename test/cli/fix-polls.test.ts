/**
 * `orm-migrate fix` end to end on the polls app: its own mocha suite passes before (with
 * PendingDeprecationWarnings) and after the fix on a copy (with none, and no
 * SynchronousOnlyOperation), the fixed app type-checks, and a second fix changes nothing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/orm-migrate.js');
const require = createRequire(import.meta.url);
const mochaBin = require.resolve('mocha/bin/mocha.js');
const tscBin = require.resolve('typescript/bin/tsc');

describe('orm-migrate fix on the polls app (its own test suite before and after)', function () {
  this.timeout(120_000);
  let scratch: string;
  let app: string;

  /** Runs the app's suite with a warnings file; returns the recorded deprecated calls and the output. */
  function runSuite(name: string): { records: string[]; output: string } {
    const warnings = join(scratch, name);
    const run = spawnSync(process.execPath, [mochaBin], { cwd: app, encoding: 'utf8', env: { ...process.env, ORM_MIGRATE_WARNINGS_FILE: warnings, ORM_MIGRATE_WARNINGS: '', NODE_OPTIONS: '' } });
    const output = `${run.stdout}\n${run.stderr}`;
    assert.equal(run.status, 0, `the polls suite must pass:\n${output}`);
    assert.match(run.stdout, /5 passing/);
    return { records: existsSync(warnings) ? readFileSync(warnings, 'utf8').split('\n').filter(Boolean) : [], output };
  }

  const fix = (...args: string[]) => spawnSync(process.execPath, [bin, 'fix', ...args], { cwd: app, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });

  before(() => {
    // Inside the repository so the copy resolves 'orm-migrate/runtime' to this package, and in a
    // directory git does not ignore, because scan skips ignored files.
    scratch = join(root, `.fix-scratch-${process.pid}`);
    mkdirSync(scratch, { recursive: true });
    app = join(scratch, 'polls');
    cpSync(join(root, 'fixtures/polls'), app, { recursive: true });
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  let firstFix: ReturnType<typeof fix>;

  it('before the fix: the suite passes with PendingDeprecationWarnings', () => {
    const { records, output } = runSuite('before.jsonl');
    assert.ok(records.length > 0, 'legacy calls are recorded');
    assert.match(output, /PendingDeprecationWarning/);
  });

  it('fix rewrites the handlers, the legacy wrappers and the script, and names what is left by hand', () => {
    // The copy is untracked in this repository's git tree: --force, as the guard would refuse it.
    firstFix = fix('--force');
    assert.equal(firstFix.status, 1, `manual items remain, so exit 1:\n${firstFix.stdout}${firstFix.stderr}`);
    assert.match(firstFix.stdout, /^fixed handlers\/questions\.ts \(3 blocks added\)$/m);
    assert.match(firstFix.stdout, /^fixed handlers\/votes\.ts \(1 block added\)$/m);
    assert.match(firstFix.stdout, /^fixed legacy\.ts \(2 thread wrappers removed\)$/m);
    assert.match(firstFix.stdout, /^fixed scripts\/report\.ts \(1 sync call made async\)$/m);
    // renameQuestion's fire-and-forget asave() could outlive a block; main runs migrate() (sync).
    assert.match(firstFix.stdout, /handlers\/questions\.ts:37:1 {2}`renameQuestion`.*\n.*`question\.asave\(\)` \(handlers\/questions\.ts:40\) is not awaited/);
    assert.match(firstFix.stdout, /scripts\/report\.ts:7:1 {2}`main`.*\n.*`migrate\(\)` \(settings\.ts:7\) inside the block/);
    assert.match(firstFix.stdout, /^4 files changed, 7 unchanged, 2 manual, 0 errors$/m);
    const votes = readFileSync(join(app, 'handlers/votes.ts'), 'utf8');
    assert.match(votes, /^import \{ aatomic, newConnection \} from 'orm-migrate\/runtime';$/m);
    assert.match(votes, /^export async function vote\(request: Request\): Promise<Response> \{\n {2}return newConnection\(async \(\) => \{\n {4}const choiceId = intParam\(request, 'id'\);$/m);
    // The helpers the vote handler calls inside its transaction are not wrapped themselves.
    assert.equal(readFileSync(join(app, 'services/votes.ts'), 'utf8'), readFileSync(join(root, 'fixtures/polls/services/votes.ts'), 'utf8'));
  });

  it('after the fix: the suite passes with zero PendingDeprecationWarnings and no SynchronousOnlyOperation', () => {
    const { records, output } = runSuite('after.jsonl');
    assert.deepEqual(records, []);
    assert.doesNotMatch(output, /PendingDeprecationWarning|SynchronousOnlyOperation/);
  });

  it('the fixed app type-checks (tsc --noEmit -p)', () => {
    const run = spawnSync(process.execPath, [tscBin, '--noEmit', '-p', app], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stdout + run.stderr);
  });

  it('a second fix changes nothing', () => {
    const before = ['handlers/questions.ts', 'handlers/votes.ts', 'legacy.ts', 'scripts/report.ts'].map((file) => readFileSync(join(app, file), 'utf8'));
    const again = fix('--force');
    assert.equal(again.status, 1, again.stdout + again.stderr);
    assert.match(again.stdout, /^0 files changed, 11 unchanged, 2 manual, 0 errors$/m);
    assert.deepEqual(['handlers/questions.ts', 'handlers/votes.ts', 'legacy.ts', 'scripts/report.ts'].map((file) => readFileSync(join(app, file), 'utf8')), before);
  });
});
