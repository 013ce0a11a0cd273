/**
 * orm-migrate/mikro-orm against the real MikroORM 6.6.16 (@mikro-orm/better-sqlite) on a SQLite file.
 * Entities are EntitySchemas, so tsx needs no decorator metadata.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { AsyncLocalStorage } from 'node:async_hooks';
import { EntitySchema, RequestContext, ValidationError } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/better-sqlite';
import { GLOBAL_CONTEXT, removeGlobalContextWarnings, resetWarningsSeen, warnOnGlobalContext } from 'orm-migrate/mikro-orm';
import { UnknownOptionError, onDeprecation } from 'orm-migrate/runtime';
import type { CallSite } from 'orm-migrate/runtime';

interface Book {
  id: number;
  title: string;
}
const BookSchema = new EntitySchema<Book>({
  name: 'Book',
  tableName: 'book',
  properties: { id: { type: 'number', primary: true }, title: { type: 'string' } },
});

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/orm-migrate.js');
const thisFile = 'test/mikro-orm/shim.test.ts';

/** The 1-based line of this file that carries `marker`, and the column of `call` on it. */
function siteOf(marker: string, call: string): string {
  const lines = readFileSync(new URL(import.meta.url), 'utf8').split('\n');
  const index = lines.findIndex((line) => line.includes(marker) && !line.includes('siteOf('));
  assert.ok(index >= 0, `marker ${marker} not found`);
  return `${thisFile}:${index + 1}:${lines[index]!.indexOf(call) + 1}`;
}

const formatSite = (site: CallSite | null) => (site ? `${site.file}:${site.line}:${site.column}` : '<unknown call site>');

async function collectWarnings<T>(fn: () => Promise<T>): Promise<{ result: T; warnings: Array<Error & { code?: string }> }> {
  const warnings: Array<Error & { code?: string }> = [];
  const listener = (warning: Error) => warnings.push(warning);
  process.on('warning', listener);
  try {
    const result = await fn();
    await new Promise((resolve) => setImmediate(resolve));
    return { result, warnings: warnings.filter((w) => w.code === GLOBAL_CONTEXT) };
  } finally {
    process.off('warning', listener);
  }
}

function withEnv(name: string, value: string | undefined): () => void {
  const saved = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  return () => {
    if (saved === undefined) delete process.env[name];
    else process.env[name] = saved;
  };
}

describe('orm-migrate/mikro-orm: warnOnGlobalContext on MikroORM 6', function () {
  this.timeout(60_000);
  let dir: string;
  let orm: MikroORM;
  const restore: Array<() => void> = [];

  async function open(options: Record<string, unknown> = {}, shim = true): Promise<MikroORM> {
    const base = { dbName: join(dir, 'app.sqlite3'), entities: [BookSchema], debug: false, ...options };
    const opened = await MikroORM.init(shim ? warnOnGlobalContext(base) : base);
    await opened.schema.refreshDatabase();
    const em = opened.em.fork();
    for (const title of ['Dune', 'Emma', 'Ulysses']) em.create(BookSchema, { title });
    await em.flush();
    return opened;
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'orm-migrate-mikro-'));
    restore.push(withEnv('ORM_MIGRATE_WARNINGS', undefined), withEnv('ORM_MIGRATE_WARNINGS_FILE', undefined));
    resetWarningsSeen();
    orm = await open();
  });
  afterEach(async () => {
    await orm.close(true);
    while (restore.length > 0) restore.pop()!();
    rmSync(dir, { recursive: true, force: true });
  });

  it('without the shim MikroORM throws its ValidationError (what the shim replaces)', async () => {
    const plain = await open({ dbName: join(dir, 'plain.sqlite3') }, false);
    try {
      await assert.rejects(plain.em.findOne(BookSchema, { title: 'Dune' }), ValidationError);
    } finally {
      await plain.close(true);
    }
  });

  it('the two lines of setup, as a user writes them, type-check and work', async () => {
    const setup = await MikroORM.init(warnOnGlobalContext({ dbName: join(dir, 'app.sqlite3'), entities: [BookSchema], debug: false }));
    try {
      const { result, warnings } = await collectWarnings(() => setup.em.find(BookSchema, { title: 'Dune' }));
      assert.deepEqual(result.map((book) => book.title), ['Dune']);
      assert.equal(warnings.length, 1);
    } finally {
      await setup.close(true);
    }
  });

  it('warns once per call site, naming this file:line:col and the code, and returns the rows', async () => {
    const { result, warnings } = await collectWarnings(async () => {
      const found: Array<Book | null> = [];
      for (let i = 0; i < 3; i++) found.push(await orm.em.findOne(BookSchema, { title: 'Emma' })); // site: loop
      return found;
    });
    assert.deepEqual(result.map((book) => book?.title), ['Emma', 'Emma', 'Emma']);
    assert.equal(warnings.length, 1, warnings.map((w) => w.message).join('\n'));
    assert.equal(warnings[0]!.name, 'PendingDeprecationWarning');
    assert.equal(warnings[0]!.code, 'ORM_MIKRO_ORM_GLOBAL_CONTEXT');
    const site = siteOf('// site: loop', 'findOne');
    assert.ok(warnings[0]!.message.startsWith(`EntityManager.findOne() at ${site} used MikroORM's global EntityManager`), warnings[0]!.message);
    assert.match(warnings[0]!.message, /RequestContext\.create\(orm\.em/);
  });

  it('two call sites give two warnings; a repository call names the repository method', async () => {
    const { warnings } = await collectWarnings(async () => {
      await orm.em.find(BookSchema, {}); // site: first
      await orm.em.getRepository(BookSchema).count(); // site: second
    });
    assert.deepEqual(
      warnings.map((w) => w.message.slice(0, w.message.indexOf(' used '))),
      [`EntityManager.find() at ${siteOf('// site: first', 'find(')}`, `EntityRepository.count() at ${siteOf('// site: second', 'count')}`],
    );
  });

  it('no warning inside RequestContext.create, on a fork, in em.transactional, nor where MikroORM does not check', async () => {
    const { result, warnings } = await collectWarnings(async () => {
      const inContext = await RequestContext.create(orm.em, () => orm.em.find(BookSchema, {}, { orderBy: { id: 'asc' } }));
      const onFork = await orm.em.fork().find(BookSchema, {}, { orderBy: { id: 'asc' } });
      const inTransaction = await orm.em.transactional((em) => em.find(BookSchema, {}, { orderBy: { id: 'asc' } }));
      // getContext(false) paths: MikroORM 6 lets the global EntityManager run these, so the shim stays silent.
      await orm.em.insert(BookSchema, { title: 'Walden' });
      await orm.em.nativeUpdate(BookSchema, { title: 'Walden' }, { title: 'Walden Two' });
      await orm.em.nativeDelete(BookSchema, { title: 'Walden Two' });
      // A request context's fork used after its context ended is not the global EntityManager: MikroORM does not throw.
      let escaped: EntityManager | undefined;
      await RequestContext.create(orm.em, async () => {
        escaped = RequestContext.getEntityManager();
      });
      await escaped!.findOne(BookSchema, { title: 'Dune' });
      return [inContext, onFork, inTransaction].map((books) => books.map((book) => book.title));
    });
    assert.deepEqual(result, [['Dune', 'Emma', 'Ulysses'], ['Dune', 'Emma', 'Ulysses'], ['Dune', 'Emma', 'Ulysses']]);
    assert.deepEqual(warnings, []);
  });

  it('the global context gives the same rows as a forked EntityManager', async () => {
    const { result, warnings } = await collectWarnings(async () => {
      const viaGlobal = await orm.em.find(BookSchema, { title: { $ne: 'Emma' } }, { orderBy: { title: 'desc' } });
      const viaFork = await orm.em.fork().find(BookSchema, { title: { $ne: 'Emma' } }, { orderBy: { title: 'desc' } });
      const counted = await orm.em.count(BookSchema);
      const viaBuilder = await orm.em.createQueryBuilder(BookSchema).where({ title: 'Dune' }).getResult();
      return { viaGlobal: viaGlobal.map((b) => ({ ...b })), viaFork: viaFork.map((b) => ({ ...b })), counted, viaBuilder: viaBuilder.map((b) => b.title) };
    });
    assert.deepEqual(result.viaGlobal, result.viaFork);
    assert.deepEqual(result.viaGlobal.map((b) => b.title), ['Ulysses', 'Dune']);
    assert.equal(result.counted, 3);
    assert.deepEqual(result.viaBuilder, ['Dune']);
    assert.equal(warnings.length, 3, 'find, count and the query builder: one warning each');
  });

  it('records one use per call, though MikroORM checks several times per call (and some only after its own await)', async () => {
    const records: Array<{ site: string; call: string }> = [];
    const stop = onDeprecation((record) => records.push({ site: formatSite(record.site), call: `${record.model}.${record.method}` }));
    try {
      const dune = await orm.em.fork().findOne(BookSchema, { title: 'Dune' });
      await orm.em.findOne(BookSchema, { title: 'Dune' }); // count: findOne checks 3 times
      await Promise.all([1, 2, 3].map((id) => orm.em.findOne(BookSchema, id))); // count: 3 calls in one synchronous run
      await orm.em.createQueryBuilder(BookSchema).getResult(); // count: checks again per row after its await
      await orm.em.refresh(dune!); // count: checks only after its own query
    } finally {
      stop();
    }
    const lines = readFileSync(new URL(import.meta.url), 'utf8').split('\n');
    const lineOf = (marker: string) => lines.findIndex((line) => line.includes(marker)) + 1;
    const tally = new Map<string, number>();
    for (const { site, call } of records) tally.set(`${call} @${site.split(':')[1]}`, (tally.get(`${call} @${site.split(':')[1]}`) ?? 0) + 1);
    assert.deepEqual(Object.fromEntries(tally), {
      [`EntityManager.findOne @${lineOf('// count: findOne checks')}`]: 1,
      [`EntityManager.findOne @${lineOf('// count: 3 calls')}`]: 3,
      [`QueryBuilder.getResult @${lineOf('// count: checks again per row')}`]: 1,
      [`EntityManager.refresh @${lineOf('// count: checks only after')}`]: 1,
    });
  });

  it('respects MIKRO_ORM_ALLOW_GLOBAL_CONTEXT (MikroORM merges it into allowGlobalContext)', async () => {
    restore.push(withEnv('MIKRO_ORM_ALLOW_GLOBAL_CONTEXT', 'true'));
    const shared = await open({ dbName: join(dir, 'env.sqlite3') });
    try {
      const { result, warnings } = await collectWarnings(() => shared.em.findOne(BookSchema, { title: 'Dune' }));
      assert.equal(result?.title, 'Dune');
      assert.deepEqual(warnings, []);
      assert.equal(removeGlobalContextWarnings(shared), false);
    } finally {
      await shared.close(true);
    }
  });

  it('ORM_MIGRATE_WARNINGS=error restores MikroORM\'s own ValidationError, and records the use', async () => {
    process.env.ORM_MIGRATE_WARNINGS = 'error';
    process.env.ORM_MIGRATE_WARNINGS_FILE = join(dir, 'warnings.jsonl');
    await assert.rejects(orm.em.findOne(BookSchema, { title: 'Dune' }), (error: unknown) => {
      assert.ok(error instanceof ValidationError, String(error));
      assert.match((error as Error).message, /Using global EntityManager instance methods for context specific actions is disallowed/);
      return true;
    });
    const records = readFileSync(join(dir, 'warnings.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(records.length, 1);
    assert.equal(records[0]!.code, GLOBAL_CONTEXT);
    // Still fine where MikroORM is fine.
    assert.equal((await orm.em.fork().findOne(BookSchema, { title: 'Dune' }))?.title, 'Dune');
  });

  it('ORM_MIGRATE_WARNINGS=ignore prints nothing and goes on; a bad value is refused at setup', async () => {
    process.env.ORM_MIGRATE_WARNINGS = 'ignore';
    const { result, warnings } = await collectWarnings(() => orm.em.findOne(BookSchema, { title: 'Dune' }));
    assert.equal(result?.title, 'Dune');
    assert.deepEqual(warnings, []);
    process.env.ORM_MIGRATE_WARNINGS = 'sometimes';
    assert.throws(() => warnOnGlobalContext({ dbName: 'x' }), /ORM_MIGRATE_WARNINGS must be one of once, always, error, ignore \(got 'sometimes'\)/);
  });

  it('a recording that cannot be written still returns the rows (one stderr line)', async () => {
    writeFileSync(join(dir, 'not-a-dir'), '');
    const target = join(dir, 'not-a-dir', 'warnings.jsonl');
    process.env.ORM_MIGRATE_WARNINGS_FILE = target;
    const stderr: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string | Uint8Array) => {
      stderr.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      const { result, warnings } = await collectWarnings(() => orm.em.find(BookSchema, {}, { orderBy: { id: 'asc' } }));
      assert.deepEqual(result.map((b) => b.title), ['Dune', 'Emma', 'Ulysses']);
      assert.equal(warnings.length, 1);
    } finally {
      process.stderr.write = write;
    }
    assert.equal(stderr.length, 1, stderr.join(''));
    assert.ok(stderr[0]!.startsWith(`orm-migrate: cannot record deprecated calls to ${target}: `), stderr[0]);
  });

  it('composes with a user-supplied context option', async () => {
    const storage = new AsyncLocalStorage<EntityManager>();
    const custom = await open({ dbName: join(dir, 'custom.sqlite3'), context: () => storage.getStore() });
    try {
      const { result, warnings } = await collectWarnings(async () => {
        const fork = custom.em.fork();
        const inside = await storage.run(fork, async () => {
          const book = await custom.em.findOne(BookSchema, { title: 'Dune' });
          return { book, sameMap: fork.getUnitOfWork(false).getById('Book', book!.id) === book };
        });
        const outside = await custom.em.findOne(BookSchema, { title: 'Dune' }); // site: custom context
        return { inside, outside };
      });
      assert.equal(result.inside.sameMap, true, 'the user context\'s fork served the call');
      assert.equal(result.outside?.title, 'Dune');
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!.message, new RegExp(`at ${siteOf('// site: custom context', 'findOne').replace(/\./g, '\\.')} `));
    } finally {
      await custom.close(true);
    }
  });

  it('respects allowGlobalContext: true (MikroORM never checks; the shim does nothing)', async () => {
    const shared = await open({ dbName: join(dir, 'shared.sqlite3'), allowGlobalContext: true });
    try {
      assert.equal(removeGlobalContextWarnings(shared), false, 'nothing was installed');
      const { result, warnings } = await collectWarnings(() => shared.em.findOne(BookSchema, { title: 'Dune' }));
      assert.equal(result?.title, 'Dune');
      assert.deepEqual(warnings, []);
    } finally {
      await shared.close(true);
    }
  });

  it('removeGlobalContextWarnings puts MikroORM\'s check back', async () => {
    assert.equal(removeGlobalContextWarnings(orm), true);
    assert.equal(Object.getOwnPropertyDescriptor(orm.em, 'global')?.value, true);
    await assert.rejects(orm.em.findOne(BookSchema, { title: 'Dune' }), ValidationError);
  });

  it('refuses bad arguments, naming them', () => {
    const call = warnOnGlobalContext as unknown as (...args: unknown[]) => unknown;
    assert.throws(() => call({ dbName: 'x' }, { verbose: true }), (error: unknown) => {
      assert.ok(error instanceof UnknownOptionError);
      assert.equal((error as Error).message, 'warnOnGlobalContext() takes one argument, MikroORM\'s options object; got 2 (argument 2 is an object (Object))');
      return true;
    });
    assert.throws(() => call('sqlite.db'), /options must be MikroORM's options object.*got string "sqlite\.db"/);
    assert.throws(() => call(undefined), /options must be MikroORM's options object.*got undefined/);
    assert.throws(() => call({ extensions: {} }), /options\.extensions must be an array/);
    assert.throws(() => call({ context: true }), /options\.context must be a function/);
    assert.throws(() => call({ allowGlobalContext: 'yes' }), /options\.allowGlobalContext must be true or false \(got string "yes"\)/);
    const mine = { register: () => {} };
    const wrapped = warnOnGlobalContext({ dbName: 'x', extensions: [mine] });
    assert.equal(wrapped.extensions.length, 2, 'the user\'s extensions are kept');
    assert.equal(wrapped.extensions[0], mine);
    assert.equal(warnOnGlobalContext(wrapped), wrapped, 'wrapping twice changes nothing');
  });
});

describe('orm-migrate/mikro-orm records for orm-migrate gate (child processes, real CLI)', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'orm-migrate-mikro-gate-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A job script outside any RequestContext: `calls` findOne calls at one site, one find at another. */
  /** `job.mjs:line:col` of `call` in the job script (1-based, as V8 reports a member call). */
  let jobSite: (call: string) => string;
  function runJob(calls: number): void {
    const lib = (path: string) => JSON.stringify(pathToFileURL(join(root, path)).href);
    const script = [
      "import { createRequire } from 'node:module';",
      `import { startRecordingRun, finishRecordingRun } from ${lib('dist/mocha/plugin.js')};`,
      `import { warnOnGlobalContext } from ${lib('dist/mikro-orm/index.js')};`,
      `const require = createRequire(${JSON.stringify(join(root, 'package.json'))});`,
      "const { EntitySchema } = require('@mikro-orm/core');",
      "const { MikroORM } = require('@mikro-orm/better-sqlite');",
      "const Book = new EntitySchema({ name: 'Book', properties: { id: { type: 'number', primary: true }, title: { type: 'string' } } });",
      'startRecordingRun();',
      "const orm = await MikroORM.init(warnOnGlobalContext({ dbName: 'job.sqlite3', entities: [Book], debug: false }));",
      'await orm.schema.refreshDatabase();',
      "await orm.em.fork().insert(Book, { title: 'Dune' });",
      `for (let i = 0; i < ${calls}; i++) await orm.em.findOne(Book, { title: 'Dune' });`,
      'const all = await orm.em.find(Book, {});',
      "if (all.length !== 1) throw new Error('wrong rows');",
      'await orm.close(true);',
      'finishRecordingRun();',
    ].join('\n');
    writeFileSync(join(dir, 'job.mjs'), script);
    jobSite = (call) => {
      const lines = script.split('\n');
      const index = lines.findIndex((line) => line.includes(`orm.em.${call}(`));
      return `job.mjs:${index + 1}:${lines[index]!.indexOf(`${call}(`) + 1}`;
    };
    const run = spawnSync(process.execPath, ['job.mjs'], { cwd: dir, encoding: 'utf8', env: { ...process.env, ORM_MIGRATE_WARNINGS_FILE: 'warnings.jsonl', NODE_OPTIONS: '--no-warnings' } });
    assert.equal(run.status, 0, run.stderr);
  }
  const gate = (...args: string[]) =>
    spawnSync(process.execPath, [bin, 'gate', '--warnings', 'warnings.jsonl', ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ORM_MIGRATE_WARNINGS_FILE: '' } });

  it('the gate counts each use at its site, passes on the same counts and fails on more', () => {
    runJob(3);
    const update = gate('--update-baseline');
    assert.equal(update.status, 0, update.stdout + update.stderr);
    const findOne = jobSite('findOne');
    const find = jobSite('find');
    assert.deepEqual([findOne, find], ['job.mjs:12:42', 'job.mjs:13:26']);
    assert.ok(update.stdout.includes(`+ ${findOne} EntityManager.findOne() ORM_MIKRO_ORM_GLOBAL_CONTEXT ×3`), update.stdout);
    assert.ok(update.stdout.includes(`+ ${find} EntityManager.find() ORM_MIKRO_ORM_GLOBAL_CONTEXT ×1`), update.stdout);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, '.orm-migrate/baseline.json'), 'utf8')), {
      version: 2,
      runtime: {
        [findOne]: { ORM_MIKRO_ORM_GLOBAL_CONTEXT: { call: 'EntityManager.findOne', count: 3 } },
        [find]: { ORM_MIKRO_ORM_GLOBAL_CONTEXT: { call: 'EntityManager.find', count: 1 } },
      },
    });
    const same = gate();
    assert.equal(same.status, 0, same.stdout + same.stderr);
    assert.match(same.stdout, /4 deprecated calls recorded at 2 sites/);

    runJob(5);
    const more = gate();
    assert.equal(more.status, 1, more.stdout + more.stderr);
    assert.match(more.stdout, /more calls job\.mjs:12:42 .* 3 → 5/);
  });
});
