import assert from 'node:assert/strict';
import { aatomic, atomic, IntegrityError, newConnection, onQuery, syncToAsync, TransactionManagementError } from 'orm-migrate/runtime';
import { describeEachEngine, useFreshDatabase } from './support/engines.js';
import { Choice, Question, collectWarnings, sleep } from './support/polls.js';

const BUSY = /SQLITE_BUSY|locked/i;

/** One task of the ticket #31997 story: a question and 9 choices in a nested transaction. */
async function createPoll(i: number, failAfterWrites = false): Promise<void> {
  await sleep(1 + (i % 3)); // a real task would await I/O here
  await aatomic(async () => {
    const question = await Question.objects.acreate({ questionText: `demo question ${i}`, pubDate: new Date() });
    for (let j = 0; j < 9; j++) {
      await Choice.objects.acreate({ question, choiceText: `demo choice ${i}.${j}` });
      if (j === 4) await sleep(1); // span an await inside the transaction
    }
    if (failAfterWrites) throw new Error(`task ${i} failed`);
  });
}

describeEachEngine('transactions on a shared connection (the "database is locked" story)', (engine) => {
  useFreshDatabase(engine);

  beforeEach(() => {
    for (let i = 0; i < 3; i++) Question.objects.create({ questionText: `old ${i}`, pubDate: new Date() });
  });

  it('10 concurrent tasks under an outer aatomic: no SQLITE_BUSY, 10 questions and 90 choices', async () => {
    await newConnection(async () => {
      await aatomic(async () => {
        await Question.objects.all().adelete();
        await Promise.all(Array.from({ length: 10 }, (_, i) => createPoll(i)));
      });
    });
    assert.equal(Question.objects.count(), 10);
    assert.equal(Choice.objects.count(), 90);
    for (let i = 0; i < 10; i++) {
      const question = Question.objects.get({ questionText: `demo question ${i}` });
      const texts = Choice.objects.filter({ question }).orderBy('id').values('choiceText').iterator();
      assert.deepEqual([...texts].map((row) => row.choiceText), Array.from({ length: 9 }, (_, j) => `demo choice ${i}.${j}`), `task ${i}'s choices are its own`);
    }
  });

  it('when one task throws, only that task\'s rows are gone', async () => {
    const results = await newConnection(async () =>
      aatomic(async () => {
        await Question.objects.all().adelete();
        return Promise.allSettled(Array.from({ length: 10 }, (_, i) => createPoll(i, i === 3)));
      }),
    );
    assert.deepEqual(results.map((r) => r.status), Array.from({ length: 10 }, (_, i) => (i === 3 ? 'rejected' : 'fulfilled')));
    for (const result of results) if (result.status === 'rejected') assert.doesNotMatch(String(result.reason), BUSY);
    assert.equal(Question.objects.count(), 9);
    assert.equal(Choice.objects.count(), 81);
    assert.equal(Question.objects.filter({ questionText: 'demo question 3' }).exists(), false);
  });

  it("a task's plain acreate outside another task's failing transaction survives that rollback", async () => {
    await newConnection(async () => {
      const failing = aatomic(async () => {
        await Question.objects.acreate({ questionText: 'in the failing transaction', pubDate: new Date() });
        await sleep(20); // the other task tries to write meanwhile
        throw new Error('roll me back');
      });
      const plain = (async () => {
        await sleep(5);
        await Question.objects.acreate({ questionText: 'plain write by another task', pubDate: new Date() });
      })();
      await assert.rejects(failing, /roll me back/);
      await plain;
    });
    assert.equal(Question.objects.filter({ questionText: 'in the failing transaction' }).exists(), false);
    assert.equal(Question.objects.filter({ questionText: 'plain write by another task' }).exists(), true);
  });

  it('nested aatomic is a savepoint: an inner rollback keeps the outer writes', async () => {
    await newConnection(async () => {
      await aatomic(async () => {
        await Question.objects.acreate({ questionText: 'outer', pubDate: new Date() });
        await assert.rejects(
          aatomic(async () => {
            await Question.objects.acreate({ questionText: 'inner', pubDate: new Date() });
            throw new Error('inner fails');
          }),
          /inner fails/,
        );
      });
    });
    assert.equal(Question.objects.filter({ questionText: 'outer' }).exists(), true);
    assert.equal(Question.objects.filter({ questionText: 'inner' }).exists(), false);
  });

  it('two separate blocks whose transactions span an await both commit while a 10 ms timer keeps firing', async () => {
    // Two pooled connections ready (PostgreSQL), so the second block's BEGIN is not held up by a connect on a busy machine.
    await Promise.all([newConnection(() => Question.objects.acount()), newConnection(() => Question.objects.acount())]);
    const ticks: number[] = [];
    const timer = setInterval(() => ticks.push(performance.now()), 10);
    const statements: string[] = [];
    const stop = onQuery((event) => statements.push(event.sql));
    const started = performance.now();
    try {
      const block = (name: string) =>
        newConnection(async () => {
          await aatomic(async () => {
            await Question.objects.acreate({ questionText: `${name} 1`, pubDate: new Date() });
            await sleep(60); // holds the file's write lock across an await
            await Question.objects.acreate({ questionText: `${name} 2`, pubDate: new Date() });
          });
        });
      await Promise.all([block('A'), block('B')]);
    } finally {
      clearInterval(timer);
      stop();
    }
    const elapsed = performance.now() - started;
    assert.equal(Question.objects.filter({ questionText__startswith: 'A ' }).count(), 2);
    assert.equal(Question.objects.filter({ questionText__startswith: 'B ' }).count(), 2);
    if (engine.name === 'sqlite') {
      // The second writer waited asynchronously: the event loop kept running the timer.
      assert.ok(elapsed >= 110, `the transactions ran one after the other (${elapsed.toFixed(0)} ms)`);
    } else {
      // The server orders writers itself: the two transactions overlap (both BEGINs before the first COMMIT).
      const begins = statements.flatMap((sql, i) => (sql === 'BEGIN' ? [i] : []));
      assert.equal(begins.length, 2);
      assert.ok(begins[1]! < statements.indexOf('COMMIT'), `the transactions overlapped: ${statements.join(' | ')}`);
    }
    const gaps = ticks.slice(1).map((t, i) => t - ticks[i]!);
    // A writer stuck in SQLite's synchronous busy wait would freeze the loop for the whole 5 s timeout.
    assert.ok(ticks.length >= 3 && Math.max(...gaps) < 250, `the timer kept firing (${ticks.length} ticks, max gap ${Math.max(...gaps).toFixed(0)} ms)`);
  });

  it('a plain write in one block waits for another block\'s open transaction instead of failing', async () => {
    await Promise.all([
      newConnection(() =>
        aatomic(async () => {
          await Question.objects.acreate({ questionText: 'tx', pubDate: new Date() });
          await sleep(30);
        }),
      ),
      newConnection(async () => {
        await sleep(5);
        await Question.objects.acreate({ questionText: 'plain', pubDate: new Date() });
      }),
    ]);
    assert.equal(Question.objects.filter({ questionText__in: ['tx', 'plain'] }).count(), 2);
  });

  it('a legacy sync write while a block has a transaction open does not freeze the event loop', async () => {
    await newConnection(async () => {
      await aatomic(async () => {
        await Question.objects.acreate({ questionText: 'held', pubDate: new Date() });
        const started = performance.now();
        const legacyWrite = syncToAsync(() => Question.objects.create({ questionText: 'sync', pubDate: new Date() }));
        if (engine.name === 'sqlite') {
          // The block holds the file's write lock: the sync write fails at once instead of busy-waiting.
          await assert.rejects(legacyWrite(), /being written by another newConnection\(\) block on this thread/);
        } else {
          // Separate server sessions: the sync write commits at once, outside the block's transaction.
          assert.equal((await legacyWrite()).questionText, 'sync');
        }
        assert.ok(performance.now() - started < 500, 'it did not wait for the transaction');
      });
    });
    assert.equal(Question.objects.filter({ questionText: 'held' }).exists(), true);
    assert.equal(Question.objects.filter({ questionText: 'sync' }).exists(), engine.name === 'postgres');
  });
});

/** Django's message for a query in an atomic block after a database error (BaseDatabaseWrapper.validate_no_broken_transaction). */
const BROKEN_TRANSACTION = "An error occurred in the current transaction. You can't execute queries until the end of the 'atomic' block.";

function isBrokenTransaction(error: unknown): boolean {
  assert.ok(error instanceof TransactionManagementError, `expected TransactionManagementError, got ${String(error)}`);
  assert.equal(error.message, BROKEN_TRANSACTION);
  assert.ok(error.cause instanceof IntegrityError, 'the cause is the database error that broke the transaction');
  return true;
}

describeEachEngine('a database error inside atomic blocks (Django\'s needs_rollback)', (engine) => {
  useFreshDatabase(engine);
  const titles = () => [...Question.objects.orderBy('id').values('questionText').iterator()].map((row) => row.questionText);
  const acreate = (questionText: string) => Question.objects.acreate({ questionText, pubDate: new Date() });
  /** A duplicate primary key: the database rejects it with an IntegrityError. */
  const aduplicate = () => Question.objects.acreate({ id: 1, questionText: 'duplicate', pubDate: new Date() });
  const create = (questionText: string) => Question.objects.create({ questionText, pubDate: new Date() });
  const duplicate = () => Question.objects.create({ id: 1, questionText: 'duplicate', pubDate: new Date() });

  beforeEach(() => {
    create('seed'); // id 1
  });

  it('aatomic: after a caught error the next query raises TransactionManagementError and the block rolls back at its end without raising', async () => {
    await newConnection(async () => {
      const result = await aatomic(async () => {
        await acreate('before the error');
        await assert.rejects(aduplicate(), IntegrityError);
        await assert.rejects(Question.objects.acount(), isBrokenTransaction);
        await assert.rejects(acreate('after the error'), isBrokenTransaction);
        return 'the body returned';
      });
      assert.equal(result, 'the body returned');
      // The mark ends with its transaction: the block's connection goes on working.
      await aatomic(() => acreate('next transaction'));
      await acreate('autocommit');
    });
    assert.deepEqual(titles(), ['seed', 'next transaction', 'autocommit']);
  });

  it('aatomic: a nested block that catches its own error recovers through its savepoint; the outer block goes on and commits', async () => {
    await newConnection(() =>
      aatomic(async () => {
        await acreate('outer before');
        await aatomic(async () => {
          await acreate('inner');
          await assert.rejects(aduplicate(), IntegrityError);
          await assert.rejects(acreate('inner after the error'), isBrokenTransaction);
        });
        await acreate('outer after');
      }),
    );
    assert.deepEqual(titles(), ['seed', 'outer before', 'outer after']);
  });

  it('aatomic: an error escaping a nested block rolls back to its savepoint and leaves the outer block usable', async () => {
    await newConnection(() =>
      aatomic(async () => {
        await acreate('outer before');
        await assert.rejects(
          aatomic(async () => {
            await acreate('inner');
            await aduplicate();
          }),
          IntegrityError,
        );
        await acreate('outer after');
      }),
    );
    assert.deepEqual(titles(), ['seed', 'outer before', 'outer after']);
  });

  it('aatomic: after an error in the outer block a nested block cannot query either, and the whole transaction rolls back', async () => {
    await newConnection(() =>
      aatomic(async () => {
        await acreate('outer');
        await assert.rejects(aduplicate(), IntegrityError);
        await aatomic(async () => {
          await assert.rejects(acreate('inner'), isBrokenTransaction);
        });
        await assert.rejects(Question.objects.aexists(), isBrokenTransaction);
      }),
    );
    assert.deepEqual(titles(), ['seed']);
  });

  it("concurrent tasks: one task's error breaks only its own savepoint; the other tasks' savepoints commit in turn", async () => {
    const outcomes = await newConnection(() =>
      aatomic(() =>
        Promise.all(
          [0, 1, 2, 3].map((i) =>
            aatomic(async () => {
              await acreate(`task ${i} a`);
              await sleep(1 + (i % 2)); // span an await inside the savepoint
              if (i === 2) {
                await assert.rejects(aduplicate(), IntegrityError);
                await assert.rejects(acreate(`task ${i} b`), isBrokenTransaction);
                return 'rolled back';
              }
              await acreate(`task ${i} b`);
              return 'committed';
            }),
          ),
        ),
      ),
    );
    assert.deepEqual(outcomes, ['committed', 'committed', 'rolled back', 'committed']);
    assert.deepEqual(titles().sort(), ['seed', 'task 0 a', 'task 0 b', 'task 1 a', 'task 1 b', 'task 3 a', 'task 3 b']);
  });

  it("an ORM call's own savepoint (getOrCreate's insert) keeps its error to itself: the block goes on and commits", async () => {
    await newConnection(() =>
      aatomic(async () => {
        await acreate('before');
        // No row has this text, so it inserts id 1, which collides: the insert's savepoint rolls back.
        await assert.rejects(Question.objects.agetOrCreate({ id: 1, questionText: 'not the seed' }, { pubDate: new Date() }), IntegrityError);
        await acreate('after');
      }),
    );
    assert.deepEqual(titles(), ['seed', 'before', 'after']);
  });

  it('a TransactionManagementError of the runtime itself (a sync call that cannot wait) does not break the block', async () => {
    const saved = process.env.ORM_ALLOW_ASYNC_UNSAFE;
    process.env.ORM_ALLOW_ASYNC_UNSAFE = '1';
    try {
      await newConnection(() =>
        aatomic(async () => {
          const holder = aatomic(async () => {
            await acreate('in the savepoint');
            await sleep(10);
          });
          await sleep(1); // the savepoint is open now
          assert.throws(() => Question.objects.count(), /cannot wait for another task's transaction|cannot join the open aatomic\(\) transaction/);
          await holder;
          await acreate('after');
        }),
      );
    } finally {
      if (saved === undefined) delete process.env.ORM_ALLOW_ASYNC_UNSAFE;
      else process.env.ORM_ALLOW_ASYNC_UNSAFE = saved;
    }
    assert.deepEqual(titles(), ['seed', 'in the savepoint', 'after']);
  });

  it('a COMMIT that fails (a deferred foreign key) rolls back, rejects, and leaves the connection and the file usable', async () => {
    await newConnection(async () => {
      await assert.rejects(
        aatomic(async () => {
          await acreate('with an orphan');
          await Choice.objects.acreate({ questionId: 999, choiceText: 'orphan' });
        }),
        IntegrityError,
      );
      await aatomic(() => acreate('next transaction'));
    });
    await newConnection(() => acreate('another block'));
    assert.deepEqual(titles(), ['seed', 'next transaction', 'another block']);
    assert.equal(Choice.objects.count(), 0);
  });

  it('atomic (sync code): same rules — error, TransactionManagementError, rollback at the end, recovery in a nested block', () => {
    const result = atomic(() => {
      create('before the error');
      assert.throws(duplicate, IntegrityError);
      assert.throws(() => Question.objects.count(), isBrokenTransaction);
      return 'the body returned';
    });
    assert.equal(result, 'the body returned');
    atomic(() => {
      create('outer before');
      atomic(() => {
        create('inner');
        assert.throws(duplicate, IntegrityError);
        assert.throws(() => create('inner after'), isBrokenTransaction);
      });
      create('outer after');
    });
    assert.deepEqual(titles(), ['seed', 'outer before', 'outer after']);
  });

  it("any error of a write marks the block, not only a failed statement (Django's mark_for_rollback_on_error): a value that does not convert, caught, still rolls the block back", async () => {
    const badVotes = { questionId: 1, choiceText: 'bad', votes: 'abc' as unknown as number };
    const brokenBy = (error: unknown): boolean => {
      assert.ok(error instanceof TransactionManagementError, `expected TransactionManagementError, got ${String(error)}`);
      assert.equal(error.message, BROKEN_TRANSACTION);
      assert.ok(error.cause instanceof Error && /votes/.test(error.cause.message), `the cause names the field: ${String(error.cause)}`);
      return true;
    };
    atomic(() => {
      create('sync before');
      assert.throws(() => Choice.objects.create(badVotes), /votes/);
      assert.throws(() => Question.objects.count(), brokenBy);
    });
    await newConnection(() =>
      aatomic(async () => {
        await acreate('async before');
        await assert.rejects(Choice.objects.acreate(badVotes), /votes/);
        await assert.rejects(Question.objects.acount(), brokenBy);
      }),
    );
    // A read that fails (an unknown field) marks nothing, as in Django; neither does a write outside any block.
    atomic(() => {
      create('kept');
      assert.throws(() => Question.objects.filter({ nope: 1 } as never).count());
      assert.throws(() => Choice.objects.create(badVotes), /votes/);
    });
    assert.throws(() => Choice.objects.create(badVotes), /votes/);
    create('autocommit after');
    assert.deepEqual(titles(), ['seed', 'autocommit after']);
  });

  it('aatomic with no block (the deprecated fallback opens a connection for it): same rules', async () => {
    await collectWarnings(() =>
      aatomic(async () => {
        await acreate('before the error');
        await assert.rejects(aduplicate(), IntegrityError);
        await assert.rejects(acreate('after the error'), isBrokenTransaction);
      }),
    );
    assert.deepEqual(titles(), ['seed']);
  });
});
