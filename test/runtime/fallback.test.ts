import assert from 'node:assert/strict';
import { threadId } from 'node:worker_threads';
import { onQuery, newConnection, ASYNC_NO_CONNECTION, PendingDeprecationWarning, openConnectionCount } from 'orm-migrate/runtime';
import type { QueryEvent } from 'orm-migrate/runtime';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stickyWorker } from '../../dist/runtime-shim/connections.js';
import { describeEachEngine, useFreshDatabase } from './support/engines.js';
import { Question, collectWarnings } from './support/polls.js';

/** The 1-based line of this file that carries `marker` (so the test does not hard-code line numbers). */
function lineOf(marker: string): number {
  const lines = readFileSync(new URL(import.meta.url), 'utf8').split('\n');
  return lines.findIndex((line) => line.includes(marker) && !line.includes('lineOf(')) + 1;
}

function recordQueries(): { events: QueryEvent[]; stop: () => void } {
  const events: QueryEvent[] = [];
  const stop = onQuery((event) => events.push(event));
  return { events, stop };
}

describeEachEngine('a-methods with no newConnection block (the deprecated fallback)', (engine) => {
  useFreshDatabase(engine);
  const saved = process.env.ORM_MIGRATE_WARNINGS;
  afterEach(() => {
    if (saved === undefined) delete process.env.ORM_MIGRATE_WARNINGS;
    else process.env.ORM_MIGRATE_WARNINGS = saved;
  });

  it('aget returns the right row, warns once naming this line, and runs on a worker thread', async () => {
    const q = Question.objects.create({ questionText: 'What?', pubDate: new Date('2024-01-02T03:04:05Z') });
    Question.objects.create({ questionText: 'Other', pubDate: new Date() });
    const { events, stop } = recordQueries();
    const { result, warnings } = await collectWarnings(() => Question.objects.aget({ pk: q.id })); // the call site
    stop();
    assert.equal(result.id, q.id);
    assert.equal(result.questionText, 'What?');
    assert.deepEqual(result.pubDate, new Date('2024-01-02T03:04:05Z'));
    assert.ok(result instanceof Question, 'hydrated as a Question in the caller thread');

    const ours = warnings.filter((w) => (w as { code?: string }).code === ASYNC_NO_CONNECTION);
    assert.equal(ours.length, 1);
    assert.equal(ours[0]!.name, 'PendingDeprecationWarning');
    assert.match(ours[0]!.message, /Question\.aget\(\)/);
    const site = new RegExp(`test/runtime/fallback\\.test\\.ts:${lineOf('// the call site')}:\\d+ `);
    assert.match(ours[0]!.message, site);
    assert.match(ours[0]!.message, /newConnection\(/);
    assert.match(ours[0]!.message, /npx orm-migrate fix/);

    assert.equal(events.length, 1);
    assert.equal(events[0]!.via, 'thread-fallback');
    assert.notEqual(events[0]!.threadId, threadId);
    assert.equal(events[0]!.alias, 'default');
  });

  it('the same call site in a loop warns once; ORM_MIGRATE_WARNINGS=always warns each time', async () => {
    Question.objects.create({ questionText: 'What?', pubDate: new Date() });
    const once = await collectWarnings(async () => {
      for (let i = 0; i < 5; i++) assert.equal(await Question.objects.aexists(), true);
    });
    assert.equal(once.warnings.filter((w) => (w as { code?: string }).code === ASYNC_NO_CONNECTION).length, 1);

    process.env.ORM_MIGRATE_WARNINGS = 'always';
    const always = await collectWarnings(async () => {
      for (let i = 0; i < 3; i++) await Question.objects.aexists();
    });
    assert.equal(always.warnings.filter((w) => (w as { code?: string }).code === ASYNC_NO_CONNECTION).length, 3);
  });

  it('ORM_MIGRATE_WARNINGS=error rejects with the warning instead of falling back; ignore stays silent', async () => {
    process.env.ORM_MIGRATE_WARNINGS = 'error';
    const { events, stop } = recordQueries();
    await assert.rejects(Question.objects.acount(), (error: unknown) => {
      assert.ok(error instanceof PendingDeprecationWarning);
      assert.equal(error.code, ASYNC_NO_CONNECTION);
      return true;
    });
    stop();
    assert.equal(events.length, 0, 'no query ran');

    process.env.ORM_MIGRATE_WARNINGS = 'ignore';
    const silent = await collectWarnings(() => Question.objects.acount());
    assert.equal(silent.result, 0);
    assert.equal(silent.warnings.length, 0);

    process.env.ORM_MIGRATE_WARNINGS = 'sometimes';
    await assert.rejects(Question.objects.acount(), /ORM_MIGRATE_WARNINGS must be one of once, always, error, ignore \(got 'sometimes'\)/);
  });

  it('inside newConnection: no warning, via async-connection on this thread', async () => {
    const q = Question.objects.create({ questionText: 'What?', pubDate: new Date() });
    const { events, stop } = recordQueries();
    const { result, warnings } = await collectWarnings(() => newConnection(() => Question.objects.filter({ pk: q.id }).aexists()));
    stop();
    assert.equal(result, true);
    assert.equal(warnings.length, 0);
    assert.deepEqual(events.map((e) => [e.via, e.threadId]), [['async-connection', threadId]]);
  });

  it('a query error in the worker rejects with the same class and message as in a block', async () => {
    Question.objects.create({ questionText: 'What?', pubDate: new Date() });
    const inBlock = await newConnection(() => Question.objects.acreate({ id: 1, questionText: 'dup', pubDate: new Date() }).catch((e: unknown) => e));
    const inWorker = await Question.objects.acreate({ id: 1, questionText: 'dup', pubDate: new Date() }).catch((e: unknown) => e);
    assert.ok(inBlock instanceof Error && inWorker instanceof Error);
    assert.equal(inWorker.constructor, inBlock.constructor);
    assert.equal(inWorker.name, 'IntegrityError');
    assert.equal(inWorker.message, inBlock.message);
    assert.equal((inWorker as { code?: string }).code, engine.duplicateKeyCode);
  });

  it('a worker that dies rejects its pending call and is replaced', async () => {
    Question.objects.create({ questionText: 'What?', pubDate: new Date() });
    assert.equal(await Question.objects.acount(), 1);
    const worker = stickyWorker('default');
    const firstThread = worker.threadId;
    assert.notEqual(firstThread, null);
    // Keep the worker busy with a long statement so the ORM call below is surely still queued when the thread dies.
    const longSql =
      engine.name === 'sqlite'
        ? 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000000) SELECT count(*) AS n FROM c'
        : 'SELECT pg_sleep(2) AS n';
    const busy = worker.execute({ sql: longSql, params: [], mode: 'get', writes: false });
    const queued = Question.objects.filter({ questionText__contains: 'x' }).acount();
    await worker.terminate({ final: false });
    await assert.rejects(busy, /worker thread of database alias 'default' (was terminated|exited)/);
    await assert.rejects(queued, /worker thread of database alias 'default' (was terminated|exited)/);
    assert.equal(await Question.objects.acount(), 1, 'a new worker serves the next call');
    assert.notEqual(worker.threadId, firstThread);
    assert.equal(openConnectionCount().workers, 1);
  });

  it('an idle worker does not keep the process alive (child process exits by itself)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'orm-migrate-idle-'));
    try {
      const script = [
        "import { configure, defineModel, fields, migrate } from 'orm-migrate/runtime';",
        `configure({ databases: { default: ${JSON.stringify(engine.name === 'sqlite' ? { engine: 'sqlite', name: join(dir, 'db.sqlite3') } : engine.settings())} } });`,
        "const Q = defineModel('Q', { table: 'q', fields: { id: fields.autoId(), n: fields.integer() } });",
        'migrate();',
        'Q.objects.create({ n: 1 });',
        "console.log('count', await Q.objects.acount());",
      ].join('\n');
      const run = spawnSync(process.execPath, ['--no-warnings', '--input-type=module', '-e', script], {
        cwd: fileURLToPath(new URL('../..', import.meta.url)),
        encoding: 'utf8',
        timeout: 15_000,
      });
      assert.equal(run.signal, null, 'the process had to be killed: something kept it alive');
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stdout.trim(), 'count 1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
