import assert from 'node:assert/strict';
import { IntegrityError, OperationalError, aatomic, atomic, configure, newConnection } from 'orm-migrate/runtime';
import { Choice, Question, useTempDatabase } from './support/polls.js';

describe('the SQLite file write lock', () => {
  const db = useTempDatabase();

  it("fails a block that waits for it longer than the alias's timeout with OperationalError (a block nested in another block's transaction would wait forever)", async () => {
    configure({ databases: { default: { engine: 'sqlite', name: db.file, timeout: 300 } } });
    const started = performance.now();
    let waited = 0;
    await newConnection(() =>
      aatomic(async () => {
        await Question.objects.acreate({ questionText: 'outer', pubDate: new Date() });
        // The inner block is another connection: it needs the write lock this transaction holds until it ends.
        const inner = newConnection(() => Question.objects.acreate({ questionText: 'inner', pubDate: new Date() }));
        await assert.rejects(inner, (error: unknown) => {
          waited = performance.now() - started;
          assert.ok(error instanceof OperationalError, String(error));
          assert.match(error.message, /^database is locked: the SQLite file '.*polls\.sqlite3' stayed locked by another newConnection\(\) block of this process for 300 ms/);
          return true;
        });
      }),
    );
    assert.ok(waited >= 290, `gave up after ${waited.toFixed(0)} ms, before the 300 ms timeout`);
    // The outer transaction committed; the timed-out waiter left the lock usable.
    assert.deepEqual([...Question.objects.orderBy('id')].map((question) => question.questionText), ['outer']);
    await newConnection(() => aatomic(() => Question.objects.acreate({ questionText: 'later', pubDate: new Date() })));
    assert.equal(Question.objects.count(), 2);
  });

  it('is released when a write fails, so later writers do not hang', async () => {
    const q = Question.objects.create({ questionText: 'x', pubDate: new Date() });
    await newConnection(async () => {
      await assert.rejects(Question.objects.acreate({ id: q.id, questionText: 'dup', pubDate: new Date() }), IntegrityError);
      // While the failing block is still open, another block must be able to write.
      const done = await Promise.race([
        newConnection(() => aatomic(() => Question.objects.acreate({ questionText: 'after', pubDate: new Date() }))).then(() => 'written'),
        new Promise((resolve) => setTimeout(() => resolve('hung'), 2000).unref()),
      ]);
      assert.equal(done, 'written');
    });
    Question.objects.create({ questionText: 'sync after', pubDate: new Date() });
    assert.equal(Question.objects.count(), 3);
  });

  it("a block's plain write queued for the lock does not deadlock with the same block's transaction queued behind it", async () => {
    const bounded = <T>(work: Promise<T>) =>
      Promise.race([work.then(() => 'done'), new Promise((resolve) => setTimeout(() => resolve('hung'), 3000).unref())]);
    const holder = newConnection(() =>
      aatomic(async () => {
        await Question.objects.acreate({ questionText: 'holder', pubDate: new Date() });
        await new Promise((resolve) => setTimeout(resolve, 30)); // the other block queues meanwhile
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 5));
    // Its plain write queues for the file lock first; then its transaction opens and queues for it too.
    const waiter = newConnection(() =>
      Promise.all([
        Question.objects.acreate({ questionText: 'plain', pubDate: new Date() }),
        aatomic(() => Question.objects.acreate({ questionText: 'in a transaction', pubDate: new Date() })),
      ]),
    );
    assert.equal(await bounded(Promise.all([holder, waiter])), 'done');
    assert.equal(Question.objects.count(), 3);
  });

  it('is released when a transaction body throws', async () => {
    await newConnection(() => assert.rejects(aatomic(async () => {
      await Question.objects.acreate({ questionText: 'gone', pubDate: new Date() });
      throw new Error('body fails');
    }), /body fails/));
    Question.objects.create({ questionText: 'sync after', pubDate: new Date() });
    assert.equal(Question.objects.count(), 1);
  });
});

describe('sync atomic() whose COMMIT fails', () => {
  useTempDatabase();

  it('rolls back, so the connection can start the next transaction', () => {
    // Foreign keys are DEFERRABLE INITIALLY DEFERRED: a dangling key only fails at COMMIT.
    assert.throws(() => atomic(() => Choice.objects.create({ questionId: 999, choiceText: 'orphan' })), IntegrityError);
    atomic(() => Question.objects.create({ questionText: 'next', pubDate: new Date() }));
    assert.equal(Question.objects.count(), 1);
    assert.equal(Choice.objects.count(), 0, 'the failed transaction left nothing behind');
  });
});

describe('a task that outlives its newConnection() block', () => {
  useTempDatabase();

  it('fails with an OperationalError that says so, and writes nothing', async () => {
    let late: Promise<unknown> | undefined;
    await newConnection(async () => {
      // Started inside the block, not awaited: it runs after the block closed its connection.
      late = new Promise((resolve) => setTimeout(resolve, 20)).then(() => Question.objects.acreate({ questionText: 'late', pubDate: new Date() }));
    });
    await assert.rejects(late!, (error: unknown) => {
      assert.ok(error instanceof OperationalError, String(error));
      assert.equal((error as OperationalError & { code?: string }).code, 'CONNECTION_CLOSED');
      assert.match(error.message, /^the newConnection\(\) block for 'default' has already ended: a task that outlived its block used its connection; await every task inside the block$/);
      return true;
    });
    assert.equal(Question.objects.count(), 0);
  });
});
