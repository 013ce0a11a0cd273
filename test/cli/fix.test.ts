/** `orm-migrate fix` as a user runs it: the built CLI in a child process (npm test builds first). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createTypedProject } from '../support/temp-project.js';
import type { TempProject } from '../support/temp-project.js';

const bin = fileURLToPath(new URL('../../bin/orm-migrate.js', import.meta.url));

function fix(cwd: string, ...args: string[]) {
  return spawnSync(process.execPath, [bin, 'fix', ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
}

function git(cwd: string, ...args: string[]): void {
  const run = spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'commit.gpgsign=false', ...args], { cwd, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
}

const HANDLER = `import { Question } from './models.js';

export async function show(id: number) {
  return Question.objects.aget({ pk: id });
}
`;

const LEGACY = `import { syncToAsync } from 'orm-migrate/runtime';
import { Question } from './models.js';

export async function count() {
  const total = await syncToAsync(() => Question.objects.count())();
  return total;
}
`;

describe('orm-migrate fix (child process)', function () {
  this.timeout(60_000);
  let project: TempProject;
  afterEach(() => project?.remove());

  it('--dry-run prints a unified diff per file, writes nothing and exits 1; git apply of it is the fix', () => {
    project = createTypedProject({ 'handler.ts': HANDLER, 'legacy.ts': LEGACY });
    const dry = fix(project.dir, '--dry-run');
    assert.equal(dry.status, 1, dry.stderr);
    assert.match(dry.stdout, /^--- a\/handler\.ts\n\+\+\+ b\/handler\.ts\n@@ /m);
    assert.match(dry.stdout, /^\+ {2}return newConnection\(async \(\) => \{$/m);
    assert.match(dry.stdout, /^--- a\/legacy\.ts$/m);
    assert.match(dry.stderr, /^2 files would change, 1 unchanged, 0 manual, 0 errors \(dry run: nothing was written\)$/m);
    assert.equal(project.read('handler.ts'), HANDLER);

    git(project.dir, 'init', '-q');
    git(project.dir, 'add', '.');
    git(project.dir, 'commit', '-q', '-m', 'legacy');
    const patched = spawnSync('git', ['apply', '-'], { cwd: project.dir, input: dry.stdout, encoding: 'utf8' });
    assert.equal(patched.status, 0, patched.stderr);
    const applied = { handler: project.read('handler.ts'), legacy: project.read('legacy.ts') };
    git(project.dir, 'checkout', '-q', '--', '.');

    const run = fix(project.dir);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^fixed handler\.ts \(1 block added\)$/m);
    assert.match(run.stdout, /^fixed legacy\.ts \(1 thread wrapper removed\)$/m);
    assert.match(run.stdout, /^2 files changed, 1 unchanged, 0 manual, 0 errors$/m);
    assert.deepEqual({ handler: project.read('handler.ts'), legacy: project.read('legacy.ts') }, applied);
    assert.equal(project.read('legacy.ts'), LEGACY.replace("import { syncToAsync } from 'orm-migrate/runtime';", "import { newConnection } from 'orm-migrate/runtime';").replace('syncToAsync(() => Question.objects.count())()', 'newConnection(() => Question.objects.acount())'));

    git(project.dir, 'commit', '-q', '-am', 'fixed');
    const again = fix(project.dir);
    assert.equal(again.status, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /^0 files changed, 3 unchanged, 0 manual, 0 errors$/m);
    const dryAgain = fix(project.dir, '--dry-run');
    assert.equal(dryAgain.status, 0);
    assert.equal(dryAgain.stdout, '');
  });

  it('refuses a git tree with uncommitted changes in the target files, changing nothing, unless --force', () => {
    project = createTypedProject({ 'handler.ts': HANDLER, 'other.ts': HANDLER.replace('show', 'other') });
    git(project.dir, 'init', '-q');
    git(project.dir, 'add', '.');
    git(project.dir, 'commit', '-q', '-m', 'legacy');
    const edited = `${HANDLER}// work in progress\n`;
    project.write('handler.ts', edited);
    const refused = fix(project.dir);
    assert.equal(refused.status, 2, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /refusing to rewrite 1 file that has uncommitted changes/);
    assert.match(refused.stderr, /^ {2}handler\.ts \(modified\)$/m);
    assert.match(refused.stderr, /Commit or stash them first, or run again with --force\. Nothing was changed\./);
    assert.equal(project.read('handler.ts'), edited);
    assert.equal(project.read('other.ts'), HANDLER.replace('show', 'other'), 'the clean file is not changed either');

    const forced = fix(project.dir, '--force');
    assert.equal(forced.status, 0, forced.stdout + forced.stderr);
    assert.match(project.read('handler.ts'), /return newConnection\(async \(\) => \{\n {4}return Question\.objects\.aget\(\{ pk: id \}\);\n {2}\}\);\n\}\n\/\/ work in progress\n$/);
    assert.match(project.read('other.ts'), /newConnection/);
  });

  it('--rule applies only the chosen rewrites; a rule without a fix or an unknown one is bad usage', () => {
    project = createTypedProject({ 'handler.ts': HANDLER, 'legacy.ts': LEGACY });
    // Not a git working tree: --force (without it fix refuses, see test/cli/fail-closed.test.ts).
    const wrappersOnly = fix(project.dir, '--rule', 'sync-to-async-wrapper', '--force');
    assert.equal(wrappersOnly.status, 0, wrappersOnly.stdout + wrappersOnly.stderr);
    assert.equal(project.read('handler.ts'), HANDLER);
    assert.match(project.read('legacy.ts'), /newConnection\(\(\) => Question\.objects\.acount\(\)\)/);

    const notFixable = fix(project.dir, '--rule', 'floating-async-call');
    assert.equal(notFixable.status, 2);
    assert.match(notFixable.stderr, /floating-async-call has no automatic fix \(fixable rules: async-outside-connection, sync-in-async-context, sync-to-async-wrapper\)/);
    const unknown = fix(project.dir, '--rule', 'nope');
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown rule "nope"/);
  });

  it('a bad config exits 2 naming the file and the key', () => {
    project = createTypedProject({ 'handler.ts': HANDLER, 'orm-migrate.config.json': '{ "connection": { "module": 1 } }\n' });
    const run = fix(project.dir);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /orm-migrate\.config\.json: "connection\.module"/);
    assert.equal(project.read('handler.ts'), HANDLER);
  });

  it('a file that cannot be fixed is reported; the others are fixed; manual items exit 1', () => {
    project = createTypedProject({
      'handler.ts': HANDLER,
      // Declares its own newConnection, so the import cannot be added: that file fails alone.
      'clash.ts': `${HANDLER.replace('show', 'clash')}\nfunction newConnection() {\n  return 1;\n}\nnewConnection();\n`,
      'manual.ts': `import { Question } from './models.js';\n\nexport function later() {\n  return Question.objects.acount();\n}\n`,
    });
    const before = readFileSync(project.path('clash.ts'), 'utf8');
    const run = fix(project.dir, '--force');
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /^fixed handler\.ts \(1 block added\)$/m);
    assert.match(run.stdout, /^Could not fix \(1\):\n {2}clash\.ts: declares its own `newConnection`/m);
    assert.match(run.stdout, /^Left for you to change by hand \(1\):\n {2}manual\.ts:3:1 {2}`later` {2}\(async-outside-connection\)\n {4}it is not async/m);
    assert.match(run.stdout, /^1 file changed, 2 unchanged, 1 manual, 1 error$/m);
    assert.equal(project.read('clash.ts'), before);
  });
});
