/**
 * `orm-migrate fix` under the mikro-orm preset, as a user runs it: the built CLI in a child
 * process on a copy of fixtures/fix-mikro-orm. Each input must come out as its `.output` file
 * (or unchanged), leave the expected manual items, type-check against the real @mikro-orm/core
 * types, and a second fix must change nothing. ts-morph is loaded on this path only.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TempProject } from '../support/temp-project.js';
import { createMikroOrmProject, mikroOrmFixtures, mikroOrmManualExpectations } from '../codemods/fix/mikro-orm-fixtures.js';

const bin = fileURLToPath(new URL('../../bin/orm-migrate.js', import.meta.url));
const dist = fileURLToPath(new URL('../../dist/', import.meta.url));
const tscBin = createRequire(import.meta.url).resolve('typescript/bin/tsc');

/** Preloaded into the CLI: on exit, writes which ts-morph modules Node loaded (ts-morph is CommonJS, so require.cache has them). */
const PROBE = `import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
const require = createRequire(import.meta.url);
process.on('exit', () => {
  writeFileSync(process.env.ORM_MIGRATE_TEST_PROBE, JSON.stringify(Object.keys(require.cache).filter((key) => /[\\\\/]@?ts-morph[\\\\/]/.test(key))));
});
`;

function cli(cwd: string, args: readonly string[], probe?: string) {
  const preload = probe ? ['--import', join(cwd, 'probe.mjs')] : [];
  return spawnSync(process.execPath, [...preload, bin, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...(probe ? { ORM_MIGRATE_TEST_PROBE: probe } : {}) } });
}

function loadedTsMorph(project: TempProject, args: readonly string[]): { modules: string[]; status: number | null; stderr: string } {
  project.write('probe.mjs', PROBE);
  const out = project.path('probe.json');
  const run = cli(project.dir, args, out);
  return { modules: JSON.parse(readFileSync(out, 'utf8')) as string[], status: run.status, stderr: run.stderr };
}

/** Static `import … from` / `export … from` specifiers of a built module (dynamic `import()` excluded). */
function staticImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm)].map((match) => (match[1] ?? match[2]) as string);
}

function staticallyReachable(entry: string): Set<string> {
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const specifier of staticImports(file)) {
      if (specifier.startsWith('.')) queue.push(resolve(dirname(file), specifier));
      else seen.add(specifier);
    }
  }
  return seen;
}

/**
 * Runs fixed (or original) fixture code against MikroORM 6 on a SQLite file: each entry point
 * prints "ok" or the error it threw. Before the fix they throw MikroORM's global-context error.
 */
const RUNNER = `import { MikroORM, EntitySchema } from '@mikro-orm/better-sqlite';
import { User } from './_support/entities.js';
import { CleanupService } from './class-em/cleanup-service.js';
import { NightlyJobs } from './class-orm/jobs.js';
import { Reports } from './class-db/reports.js';
import { MailProcessor } from './class-repository/mail-processor.js';
import { deleteUser, countUsers } from './function-param/cleanup.js';
import { OrderService } from './inherited/orders.js';
import { Billing, Store } from './no-decorators/billing.js';
import { syncUsers } from './decoys/sync.js';

const schema = new EntitySchema({ class: User, properties: { id: { type: 'number', primary: true }, name: { type: 'string' } } });
const orm = await MikroORM.init({ entities: [schema], dbName: process.argv[2], allowGlobalContext: false });
await orm.schema.refreshDatabase();
await orm.em.fork().insert(User, { id: 1, name: ' ada ' });
const user = new User();
user.id = 2;
user.name = 'grace';
const calls: [string, () => unknown][] = [
  ['CleanupService.welcome', () => new CleanupService(orm.em).welcome(1)],
  ['NightlyJobs.renameAll', () => new NightlyJobs(orm as never).renameAll('x')],
  ['Reports.usersNamed', () => new Reports(orm.em).usersNamed('ada')],
  ['Reports.track', () => new Reports(orm.em).track(user)],
  ['Reports.countWith', () => new Reports(orm.em).countWith(orm.em)],
  ['MailProcessor.handle', () => new MailProcessor(orm.em.getRepository(User)).handle(1)],
  ['countUsers', () => countUsers(orm.em)],
  ['OrderService.onPaid', () => new OrderService(orm.em).onPaid(1)],
  ['Billing.charge', () => new Billing(orm.em).charge(1)],
  ['Store.size', () => new Store(orm.em).size()],
  ['syncUsers', () => syncUsers(orm as never)],
  ['deleteUser', () => deleteUser(orm.em, 1)],
];
for (const [name, call] of calls) {
  try {
    await call();
    console.log(name + ': ok');
  } catch (error) {
    console.log(name + ': ' + (error instanceof Error ? error.message.split('\\n')[0] : String(error)));
  }
}
await orm.close();
`;

function runAgainstSqlite(project: TempProject): string[] {
  project.write('run-fixtures.ts', RUNNER);
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'run-fixtures.ts', project.path('fixtures.sqlite3')], { cwd: project.dir, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  // The fixtures log too: keep the runner's own lines.
  return run.stdout.trim().split('\n').filter((line) => /^[\w.]+: /.test(line));
}

interface ScanSummary {
  findings: number;
  fixable: number;
}

function scanSummary(cwd: string): ScanSummary {
  const run = cli(cwd, ['scan', '--format', 'json', '.']);
  const report = JSON.parse(run.stdout) as { findings: { ruleId: string }[]; summary: { fixable: number } };
  return { findings: report.findings.filter((finding) => finding.ruleId === 'async-outside-connection').length, fixable: report.summary.fixable };
}

describe('orm-migrate fix --preset mikro-orm (child process, fixtures/fix-mikro-orm)', function () {
  this.timeout(120_000);
  const fixtures = mikroOrmFixtures();
  let project: TempProject;
  let first: ReturnType<typeof cli>;
  let scanBefore: ScanSummary;

  before(() => {
    project = createMikroOrmProject(fixtures);
    scanBefore = scanSummary(project.dir);
    first = cli(project.dir, ['fix', '--force', '.']);
  });
  after(() => project.remove());

  it('fixes the fixtures and lists what is left by hand', () => {
    assert.equal(first.status, 1, `${first.stdout}\n${first.stderr}`);
    assert.match(first.stdout, /Left for you to change by hand \(\d+\):/);
    assert.match(first.stdout, /^fixed class-em\/cleanup-service\.ts \(3 RequestContexts opened\)$/m);
    assert.match(first.stdout, /^\d+ files changed, \d+ unchanged, \d+ manual, 0 errors$/m);
  });

  for (const fixture of fixtures) {
    it(`${fixture.path}: ${fixture.expected === undefined ? 'stays byte for byte unchanged' : 'comes out as its .output file'}`, () => {
      assert.equal(project.read(fixture.path), fixture.expected ?? fixture.input);
    });
  }

  it('leaves exactly the expected manual items, each with its reason', () => {
    for (const entry of mikroOrmManualExpectations()) {
      const line = first.stdout.split('\n').findIndex((text) => text.trim().startsWith(`${entry.path}:${entry.line}:`));
      assert.ok(line !== -1, `no manual item at ${entry.path}:${entry.line} in\n${first.stdout}`);
      assert.ok(first.stdout.split('\n')[line + 1]?.includes(entry.reason), `${entry.path}:${entry.line}: reason does not mention "${entry.reason}"`);
    }
  });

  it('type-checks after the fix with the real @mikro-orm/core types (tsc --noEmit)', () => {
    const run = spawnSync(process.execPath, [tscBin, '-p', 'tsconfig.json', '--noEmit'], { cwd: project.dir, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stdout + run.stderr);
  });

  it('the fixed code runs inside RequestContexts against MikroORM 6 on SQLite, where the original throws', () => {
    const fixed = runAgainstSqlite(project);
    assert.ok(fixed.length >= 12, fixed.join('\n'));
    for (const line of fixed) assert.match(line, /: ok$/);
    const original = createMikroOrmProject(fixtures);
    try {
      const lines = runAgainstSqlite(original);
      assert.equal(lines.length, fixed.length);
      for (const line of lines) assert.match(line, /: Using global EntityManager instance methods for context specific actions is disallowed/);
    } finally {
      original.remove();
    }
  });

  it("scan's fixable count is what the fix removed (same plan), and nothing fixable is left", () => {
    const after = scanSummary(project.dir);
    assert.ok(scanBefore.fixable > 0);
    assert.equal(scanBefore.fixable, scanBefore.findings - after.findings, JSON.stringify({ scanBefore, after }));
    assert.equal(after.fixable, 0);
  });

  it('is idempotent: a second fix changes nothing', () => {
    const again = cli(project.dir, ['fix', '--dry-run', '.']);
    assert.equal(again.stdout, '', again.stdout);
    assert.match(again.stderr, /^0 files would change, \d+ unchanged, \d+ manual, 0 errors \(dry run: nothing was written\)$/m);
  });

  it('--dry-run prints the diffs and the same summary, and writes nothing', () => {
    const fresh = createMikroOrmProject(fixtures);
    try {
      const run = cli(fresh.dir, ['fix', '--dry-run', '.']);
      assert.equal(run.status, 1, run.stderr);
      assert.match(run.stdout, /^\+\s+@CreateRequestContext\(\)$/m);
      assert.match(run.stdout, /^\+\s+return RequestContext\.create\(orm\.em, async \(\) => \{$/m);
      assert.match(run.stderr, /^\d+ files would change, \d+ unchanged, \d+ manual, 0 errors \(dry run: nothing was written\)$/m);
      for (const fixture of fixtures) assert.equal(fresh.read(fixture.path), fixture.input);
    } finally {
      fresh.remove();
    }
  });
});

describe('ts-morph is loaded only by the mikro-orm fix', function () {
  this.timeout(120_000);
  let project: TempProject;
  before(() => {
    project = createMikroOrmProject(mikroOrmFixtures());
  });
  after(() => project.remove());

  it('no module the CLI imports statically imports ts-morph; the mikro-orm editor does', () => {
    const reachable = staticallyReachable(join(dist, 'cli/main.js'));
    assert.ok(reachable.has(join(dist, 'codemods/fix/mikro-orm/index.js')), 'the walk does not reach the mikro-orm fix');
    assert.ok(!reachable.has('ts-morph'), 'ts-morph is imported statically');
    assert.ok(!reachable.has(join(dist, 'codemods/fix/mikro-orm/edit.js')));
    assert.ok(staticImports(join(dist, 'codemods/fix/mikro-orm/edit.js')).includes('ts-morph'));
  });

  it('scan under the mikro-orm preset does not load it', () => {
    const run = loadedTsMorph(project, ['scan', '.']);
    assert.ok(run.status === 0 || run.status === 1, run.stderr);
    assert.deepEqual(run.modules, []);
  });

  it('fix under the default preset does not load it', () => {
    writeFileSync(project.path('orm-migrate.config.json'), '{}\n');
    try {
      const run = loadedTsMorph(project, ['fix', '--dry-run', '.']);
      assert.ok(run.status === 0 || run.status === 1, run.stderr);
      assert.deepEqual(run.modules, []);
    } finally {
      writeFileSync(project.path('orm-migrate.config.json'), '{ "preset": "mikro-orm" }\n');
    }
  });

  it('fix under the mikro-orm preset loads it (the probe sees it)', () => {
    const run = loadedTsMorph(project, ['fix', '--dry-run', '.']);
    assert.equal(run.status, 1, run.stderr);
    assert.ok(run.modules.some((file) => /[\\/]ts-morph[\\/]/.test(file)), JSON.stringify(run.modules));
  });
});
