import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { threadId } from 'node:worker_threads';
import {
  Count,
  DatabaseError,
  ImproperlyConfigured,
  IntegrityError,
  OperationalError,
  PoolTimeoutError,
  SyncTimeoutError,
  Sum,
  TransactionManagementError,
  aatomic,
  atomic,
  closeAllConnections,
  configure,
  migrate,
  newConnection,
  onQuery,
  openConnectionCount,
} from 'orm-migrate/runtime';
import type { PostgresSettings, QueryEvent } from 'orm-migrate/runtime';
import { admin, describeEachEngine, useFreshDatabase } from './support/engines.js';
import type { TestEngine } from './support/engines.js';
import { Choice, Question, Sample, sleep } from './support/polls.js';

const T0 = new Date('2024-03-01T10:00:00.123Z');

/** Polls `probe` every 10 ms until it returns true, for at most `ms`. */
async function eventually(probe: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    if (await probe()) return true;
    await sleep(10);
  }
  return probe();
}

/** Server sessions of this test database opened under `applicationName`. */
async function sessions(applicationName: string): Promise<number[]> {
  const { rows } = await admin().query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 ORDER BY backend_start',
    [applicationName],
  );
  return rows.map((row) => row.pid);
}

async function terminate(pid: number): Promise<void> {
  await admin().query('SELECT pg_terminate_backend($1)', [pid]);
  const gone = await eventually(async () => (await admin().query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 0);
  assert.ok(gone, `backend ${pid} ended`);
  await sleep(50); // the client learns of it from its socket
}

let appCounter = 0;
/** Reconfigures `default` on the engine's schema with a session name of its own (so pg_stat_activity can be filtered). */
function configureWith(engine: TestEngine, extra: Partial<PostgresSettings> = {}): string {
  const applicationName = `orm-migrate-test-${process.pid}-${++appCounter}`;
  configure({ databases: { default: engine.settings({ applicationName, ...extra }) } });
  return applicationName;
}

describe('PostgreSQL settings', () => {
  const savedUrl = process.env.DATABASE_URL;
  afterEach(async () => {
    if (savedUrl === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = savedUrl;
    await closeAllConnections();
  });

  const bad = (settings: Record<string, unknown>, pattern: RegExp) =>
    assert.throws(() => configure({ databases: { default: { engine: 'postgres', ...settings } } } as never), (e: unknown) => e instanceof ImproperlyConfigured && pattern.test((e as Error).message));

  it('take a url, separate fields, or DATABASE_URL, and name the key that is wrong', () => {
    configure({ databases: { default: { engine: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/test', pool: { max: 3 } } } });
    configure({ databases: { default: { engine: 'postgres', host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' } } });
    delete process.env.DATABASE_URL;
    bad({}, /databases\.default\.url is missing: give url \(or host\/port\/user\/password\/database\), or set the DATABASE_URL environment variable/);
    process.env.DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
    configure({ databases: { default: { engine: 'postgres' } } });
    bad({ url: 'mysql://x@127.0.0.1/db' }, /databases\.default\.url must be a postgres:\/\/ or postgresql:\/\/ URL \(got a mysql:\/\/ URL\)/);
    bad({ url: 'postgres://127.0.0.1/db', host: 'x' }, /databases\.default\.host cannot be combined with url/);
    bad({ url: 'postgres://127.0.0.1/db', pool: { max: 0 } }, /databases\.default\.pool\.max must be an integer >= 1/);
    bad({ url: 'postgres://127.0.0.1/db', pool: { size: 3 } }, /databases\.default\.pool\.size is not a pool setting \(valid: max, acquireTimeout, idleTimeout\)/);
    bad({ url: 'postgres://127.0.0.1/db', statementTimout: 5 }, /databases\.default\.statementTimout is not a setting of the postgres engine \(valid: engine, url, .*statementTimeout/);
    bad({ url: 'postgres://127.0.0.1/db', syncTimeout: 0 }, /databases\.default\.syncTimeout must be more than 0 ms/);
    bad({ url: 'postgres://127.0.0.1/db', statementTimeout: 2 ** 31 }, /databases\.default\.statementTimeout must be a number of milliseconds from 0 to 2147483647/);
    bad({ url: 'postgres://127.0.0.1/db', schema: 'a;b' }, /databases\.default\.schema must be a plain identifier/);
    bad({ port: 'x' }, /databases\.default\.port must be a port number/);
    assert.throws(() => configure({ databases: { default: { engine: 'oracle' } } } as never), /databases\.default\.engine must be one of 'sqlite', 'postgres' \(got "oracle"\)/);
  });

  it('a server that refuses connections gives a clear error on every path, without the password, and nothing hangs', async () => {
    // Port 1 on the loopback address: refused at once.
    configure({ databases: { default: { engine: 'postgres', url: 'postgres://someone:s3cret@127.0.0.1:1/nowhere', syncTimeout: 5000 } } });
    const expected = (e: unknown) => {
      assert.ok(e instanceof OperationalError, String(e));
      assert.match(e.message, /could not reach the PostgreSQL server at postgres:\/\/someone@127\.0\.0\.1:1\/nowhere \(alias 'default'\): .*ECONNREFUSED/);
      assert.doesNotMatch(e.message, /s3cret/);
      return true;
    };
    await assert.rejects(newConnection(() => Question.objects.acount()), expected);
    assert.throws(() => Question.objects.count(), expected);
    process.env.ORM_MIGRATE_WARNINGS = 'ignore';
    try {
      await assert.rejects(Question.objects.acount(), expected);
    } finally {
      delete process.env.ORM_MIGRATE_WARNINGS;
    }
  });

  it('a backend killed as it connects (its error in the same read as ReadyForQuery) rejects the call instead of crashing the process', async () => {
    // A server that accepts the login, then at once sends what a backend killed by pg_terminate_backend sends, in one write.
    const message = (type: string, body: Buffer) => {
      const length = Buffer.alloc(4);
      length.writeUInt32BE(body.length + 4);
      return Buffer.concat([Buffer.from(type), length, body]);
    };
    const field = (code: string, text: string) => Buffer.from(`${code}${text}\0`);
    const killedAtLogin = Buffer.concat([
      message('R', Buffer.from([0, 0, 0, 0])), // AuthenticationOk
      message('Z', Buffer.from('I')), // ReadyForQuery
      message('E', Buffer.concat([field('S', 'FATAL'), field('C', '57P01'), field('M', 'terminating connection due to administrator command'), Buffer.from([0])])),
    ]);
    let logins = 0;
    const server = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', () => {
        logins++;
        socket.end(killedAtLogin);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      configure({ databases: { default: { engine: 'postgres', url: `postgres://postgres@127.0.0.1:${port}/test`, syncTimeout: 5000 } } });
      const lost = (e: unknown) => {
        assert.ok(e instanceof OperationalError, String(e));
        assert.match(e.message, /was lost: terminating connection due to administrator command/);
        assert.equal(e.code, '57P01');
        return true;
      };
      await assert.rejects(newConnection(() => Question.objects.acount()), lost);
      assert.ok(logins >= 2, 'the block took another client after the first one died on the way in');
      // A worker thread's own client (the fallback's sticky worker; sync calls would block this thread, which serves the fake server).
      process.env.ORM_MIGRATE_WARNINGS = 'ignore';
      await assert.rejects(Question.objects.acount(), lost);
    } finally {
      delete process.env.ORM_MIGRATE_WARNINGS;
      await closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describeEachEngine('the PostgreSQL backend', (engine) => {
  useFreshDatabase(engine);

  it('maps every field type like SQLite: numbers, booleans, Dates and JSON come back as they went in', async () => {
    const q = Question.objects.create({ questionText: 'typed', pubDate: T0 });
    const created = await newConnection(() =>
      Sample.objects.acreate({ label: 'all', body: 'long text', count: 2 ** 40, ratio: 0.25, active: false, seenAt: T0, payload: { tags: ['a', 'b'] }, question: q }),
    );
    const expected = { id: created.id, label: 'all', body: 'long text', count: 2 ** 40, ratio: 0.25, active: false, seenAt: T0, payload: { tags: ['a', 'b'] }, questionId: q.id };
    const sync = Sample.objects.get({ pk: created.id });
    const viaBlock = await newConnection(() => Sample.objects.aget({ pk: created.id }));
    for (const instance of [sync, viaBlock]) {
      assert.deepEqual(instance.toJSON(), expected);
      assert.equal(typeof instance.id, 'number');
      assert.ok(instance.seenAt instanceof Date);
    }
    const [values] = [...Sample.objects.values('count', 'active', 'payload')];
    assert.deepEqual(values, { count: 2 ** 40, active: false, payload: { tags: ['a', 'b'] } });
    // COUNT and SUM are int8 on the server and numbers here.
    assert.deepEqual(Sample.objects.aggregate({ n: Count(), total: Sum('count') }), { n: 1, total: 2 ** 40 });
    assert.equal(Sample.objects.count(), 1);
    assert.equal(Sample.objects.filter({ payload: { tags: ['a', 'b'] } }).count(), 1, 'json compares as JSON');
    assert.equal(Sample.objects.filter({ active: false, seenAt__lte: T0 }).count(), 1);

    const { rows } = await admin().query(
      'SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position',
      [(engine.settings() as PostgresSettings).schema, 'sample'],
    );
    assert.deepEqual(Object.fromEntries(rows.map((r) => [r.column_name, r.data_type])), {
      id: 'bigint',
      label: 'character varying',
      body: 'text',
      count: 'bigint',
      ratio: 'double precision',
      active: 'boolean',
      seen_at: 'timestamp with time zone',
      payload: 'jsonb',
      question_id: 'bigint',
    });
  });

  it('a schema that does not exist is named in the error, with the statement that creates it', () => {
    configureWith(engine, { schema: `${(engine.settings() as PostgresSettings).schema}_missing` });
    assert.throws(() => migrate(), (e: unknown) => e instanceof DatabaseError && (e as DatabaseError).code === '3F000' && /databases\.default\.schema is 'orm_test_\w+_missing': create it first, CREATE SCHEMA "orm_test_\w+_missing"/.test((e as Error).message));
  });

  it('migrate() is idempotent and the sync calls run on a worker thread that holds the connection', () => {
    migrate();
    migrate();
    const events: QueryEvent[] = [];
    const stop = onQuery((event) => events.push(event));
    try {
      assert.equal(Question.objects.create({ questionText: 'x', pubDate: T0 }).id, 1);
      assert.equal(Question.objects.filter({ questionText__startswith: 'x' }).exists(), true);
    } finally {
      stop();
    }
    assert.equal(events.length, 2);
    for (const event of events) {
      assert.equal(event.via, 'sync');
      assert.notEqual(event.threadId, threadId, 'run by the blocking worker');
    }
    assert.match(events[1]!.sql, /"question_text" LIKE \$1 ESCAPE/);
  });

  it('a sync call that gets no answer in time throws SyncTimeoutError instead of hanging, and the next call works', async function () {
    configureWith(engine, { syncTimeout: 300 });
    assert.equal(Question.objects.count(), 0); // the worker is up
    const locker = await admin().connect();
    try {
      await locker.query(`BEGIN; LOCK TABLE "${(engine.settings() as PostgresSettings).schema}"."polls_question" IN ACCESS EXCLUSIVE MODE`);
      const started = performance.now();
      assert.throws(
        () => Question.objects.count(),
        (e: unknown) =>
          e instanceof SyncTimeoutError &&
          e instanceof OperationalError &&
          /a sync ORM call on 'default' \(postgres:\/\/.*\) waited \d+ ms and gave up: no answer came within databases\.default\.syncTimeout = 300 ms/.test((e as Error).message),
      );
      const waited = performance.now() - started;
      assert.ok(waited >= 290 && waited < 3000, `gave up after ${waited.toFixed(0)} ms`);
      // In a sync transaction the timeout fails the whole transaction: later statements do not run outside it.
      assert.throws(
        () =>
          atomic(() => {
            assert.equal(Choice.objects.count(), 0);
            assert.throws(() => Question.objects.count(), SyncTimeoutError);
            Sample.objects.create({ label: 'would run outside the transaction' });
          }),
        (e: unknown) => e instanceof TransactionManagementError && e.cause instanceof SyncTimeoutError,
      );
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
    }
    assert.equal(Question.objects.count(), 0, 'a new worker serves the next call');
    assert.equal(Sample.objects.count(), 0);
    assert.equal(openConnectionCount().sync, 1);
  });

  it('statementTimeout cancels a statement on the server; the block connection goes on working', async () => {
    configureWith(engine, { statementTimeout: 150 });
    const locker = await admin().connect();
    await newConnection(async () => {
      try {
        await locker.query(`BEGIN; LOCK TABLE "${(engine.settings() as PostgresSettings).schema}"."polls_question" IN ACCESS EXCLUSIVE MODE`);
        await assert.rejects(Question.objects.acount(), (e: unknown) => e instanceof OperationalError && (e as OperationalError).code === '57014' && /statement timeout/.test((e as Error).message));
      } finally {
        await locker.query('ROLLBACK');
        locker.release();
      }
      assert.equal(await Question.objects.acount(), 0);
    });
  });

  it('a pool that cannot give a connection in time rejects with an error naming the alias and the pool size', async () => {
    configureWith(engine, { pool: { max: 1, acquireTimeout: 150 } });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const holder = newConnection(async () => {
      await Question.objects.acount(); // checks the only client out
      await held;
    });
    await sleep(30);
    const started = performance.now();
    await assert.rejects(newConnection(() => Question.objects.acount()), (e: unknown) => {
      assert.ok(e instanceof PoolTimeoutError && e instanceof OperationalError, String(e));
      assert.match(e.message, /no PostgreSQL connection of alias 'default' became free within 150 ms: all 1 connections of its pool \(databases\.default\.pool\.max = 1\)/);
      return true;
    });
    assert.ok(performance.now() - started < 2000);
    release();
    await holder;
    assert.equal(await newConnection(() => Question.objects.acount()), 0, 'the client went back to the pool');
  });

  it('load: 200 concurrent blocks each doing a transaction with pool max 10 all complete, and the sessions return to baseline', async function () {
    const applicationName = configureWith(engine, { pool: { max: 10, idleTimeout: 200 } });
    const baseline = (await sessions(applicationName)).length;
    const question = await newConnection(() => Question.objects.acreate({ questionText: 'load', pubDate: T0 }));
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      for (let i = 0; sampling && i < 2000; i++) {
        peak = Math.max(peak, (await sessions(applicationName)).length);
        await sleep(5);
      }
    })();
    const results = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) =>
        newConnection(() =>
          aatomic(async () => {
            const choice = await Choice.objects.acreate({ question, choiceText: `choice ${i}`, votes: i });
            await Choice.objects.filter({ pk: choice.id }).aupdate({ votes: i + 1 });
            return choice.id;
          }),
        ),
      ),
    );
    sampling = false;
    await sampler;
    const failures = results.filter((r) => r.status === 'rejected');
    assert.deepEqual(failures, [], 'no block failed');
    assert.deepEqual(await newConnection(() => Choice.objects.aaggregate({ n: Count(), total: Sum('votes') })), { n: 200, total: (200 * 201) / 2 });
    assert.ok(peak <= 10 + baseline, `at most pool.max sessions at once (saw ${peak})`);
    assert.ok(peak >= 2, `blocks ran in parallel (saw ${peak})`);
    assert.ok(await eventually(async () => (await sessions(applicationName)).length === baseline), 'idle pooled sessions closed: back to the baseline');
    assert.equal(openConnectionCount().blocks, 0);
  });

  it("killing a block's server backend rejects that block with a clear error; the next blocks work", async () => {
    const applicationName = configureWith(engine, { pool: { max: 2 } });
    const killed = newConnection(async () => {
      assert.equal(await Question.objects.acount(), 0);
      const pids = await sessions(applicationName);
      assert.equal(pids.length, 1, 'only this block is connected');
      await terminate(pids[0]!);
      await Question.objects.acount();
    });
    await assert.rejects(killed, (e: unknown) => {
      assert.ok(e instanceof OperationalError, String(e));
      assert.match(e.message, /the connection to the PostgreSQL server at postgres:\/\/.* \(alias 'default'\) was lost: terminating connection due to administrator command/);
      assert.match(e.message, /run the work again in a new newConnection\(\) block/);
      assert.equal(e.code, '57P01');
      return true;
    });
    // Inside a transaction: the transaction fails with the same error and nothing is committed.
    const inTransaction = newConnection(() =>
      aatomic(async () => {
        await Question.objects.acreate({ questionText: 'lost', pubDate: T0 });
        await terminate((await sessions(applicationName))[0]!);
        await Question.objects.acreate({ questionText: 'lost too', pubDate: T0 });
      }),
    );
    await assert.rejects(inTransaction, /was lost: terminating connection due to administrator command/);
    for (let i = 0; i < 5; i++) {
      assert.equal(await newConnection(() => Question.objects.acount()), 0, `block ${i} after the kill works`);
    }
  });

  it('a killed worker connection (sync calls, fallback) is replaced: at most one call fails, with the clear error', async () => {
    const applicationName = configureWith(engine);
    process.env.ORM_MIGRATE_WARNINGS = 'ignore';
    // The worker thread usually hears of the kill before the next call; if not, that one call fails clearly.
    const lostOrDone = <T>(outcome: { ok: true; value: T } | { ok: false; error: unknown }): boolean => {
      if (outcome.ok) return true;
      assert.match(String(outcome.error), /OperationalError: the connection to the PostgreSQL server at .* was lost: .*the next call opens a new connection/);
      return false;
    };
    const attempt = <T>(call: () => T) => {
      try {
        return { ok: true as const, value: call() };
      } catch (error) {
        return { ok: false as const, error };
      }
    };
    try {
      assert.equal(Question.objects.count(), 0);
      const [syncPid] = await sessions(applicationName);
      assert.equal(await Question.objects.acount(), 0);
      const fallbackPid = (await sessions(applicationName)).find((pid) => pid !== syncPid)!;
      await terminate(syncPid!);
      await terminate(fallbackPid);
      lostOrDone(attempt(() => Question.objects.exists()));
      assert.equal(Question.objects.create({ questionText: 'after', pubDate: T0 }).questionText, 'after');
      lostOrDone(await Question.objects.aexists().then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error })));
      assert.equal(await Question.objects.acount(), 1);
      await assert.rejects(Question.objects.acreate({ id: 1, questionText: 'dup', pubDate: T0 }), IntegrityError);
    } finally {
      delete process.env.ORM_MIGRATE_WARNINGS;
    }
  });
}, ['postgres']);
