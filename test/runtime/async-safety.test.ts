import assert from 'node:assert/strict';
import { ImproperlyConfigured, SynchronousOnlyOperation, TransactionManagementError, aatomic, atomic, newConnection } from 'orm-migrate/runtime';
import { describeEachEngine, useFreshDatabase } from './support/engines.js';
import { Choice, Question } from './support/polls.js';

describeEachEngine('async safety: sync ORM calls inside a newConnection block', (engine) => {
  useFreshDatabase(engine);
  const saved = process.env.ORM_ALLOW_ASYNC_UNSAFE;
  afterEach(() => {
    if (saved === undefined) delete process.env.ORM_ALLOW_ASYNC_UNSAFE;
    else process.env.ORM_ALLOW_ASYNC_UNSAFE = saved;
  });

  it('count() throws SynchronousOnlyOperation naming the call and its async twin', async () => {
    delete process.env.ORM_ALLOW_ASYNC_UNSAFE;
    const error = await newConnection(async () => {
      try {
        Question.objects.count();
      } catch (caught) {
        return caught;
      }
      return null;
    });
    assert.ok(error instanceof SynchronousOnlyOperation);
    assert.match(error.message, /Question\.count\(\)/);
    assert.match(error.message, /use `await …\.acount\(\)`/);
    assert.match(error.message, /ORM_ALLOW_ASYNC_UNSAFE/);
  });

  it('every sync entry point is guarded: save(), iteration, atomic(), lazy foreign keys', async () => {
    delete process.env.ORM_ALLOW_ASYNC_UNSAFE;
    const q = Question.objects.create({ questionText: 'Q', pubDate: new Date() });
    const c = Choice.objects.create({ question: q, choiceText: 'C' });
    const fresh = Choice.objects.get({ pk: c.id }); // not cached: reading .question queries
    await newConnection(async () => {
      assert.throws(() => q.save(), /Question\.save\(\).*`await …\.asave\(\)`/);
      assert.throws(() => [...Question.objects.all()], /Question\.iterator\(\).*aiterator/);
      assert.throws(() => atomic(() => 1), /atomic\(\).*`await …\.aatomic\(\)`/);
      assert.throws(() => fresh.question, SynchronousOnlyOperation);
    });
  });

  it('works with ORM_ALLOW_ASYNC_UNSAFE=1 (read at each call)', async () => {
    Question.objects.create({ questionText: 'Q', pubDate: new Date() });
    for (const value of ['1', 'true', 'yes', 'TRUE']) {
      process.env.ORM_ALLOW_ASYNC_UNSAFE = value;
      const count = await newConnection(async () => Question.objects.count());
      assert.equal(count, 1, `with ${value}`);
    }
    process.env.ORM_ALLOW_ASYNC_UNSAFE = '1';
    assert.equal(await newConnection(async () => atomic(() => Question.objects.filter({ questionText: 'Q' }).update({ questionText: 'R' }))), 1, 'atomic() too');
  });

  it('any other value of ORM_ALLOW_ASYNC_UNSAFE is refused where it decides, naming the variable and the value (0, false, no forbid)', async () => {
    Question.objects.create({ questionText: 'Q', pubDate: new Date() });
    for (const value of ['0', 'false', 'no', ' ']) {
      process.env.ORM_ALLOW_ASYNC_UNSAFE = value;
      await newConnection(async () => assert.throws(() => Question.objects.count(), SynchronousOnlyOperation, `with ${JSON.stringify(value)}`));
    }
    process.env.ORM_ALLOW_ASYNC_UNSAFE = 'maybe';
    await newConnection(async () =>
      assert.throws(
        () => Question.objects.count(),
        (error: unknown) => error instanceof ImproperlyConfigured && /^the environment variable ORM_ALLOW_ASYNC_UNSAFE is "maybe": set it to 1, true or yes/.test((error as Error).message),
      ),
    );
    assert.equal(Question.objects.count(), 1, 'outside a block the variable is not consulted');
  });

  it(
    engine.name === 'sqlite'
      ? 'allowed sync calls inside aatomic run on the block connection and see its transaction'
      : 'allowed sync calls inside aatomic are refused: the block connection is async, sync calls use the thread\'s own',
    async () => {
      process.env.ORM_ALLOW_ASYNC_UNSAFE = '1';
      await newConnection(() =>
        aatomic(async () => {
          await Question.objects.acreate({ questionText: 'uncommitted', pubDate: new Date() });
          if (engine.name === 'sqlite') assert.equal(Question.objects.count(), 1);
          else assert.throws(() => Question.objects.count(), (e: unknown) => e instanceof TransactionManagementError && /cannot join the open aatomic\(\) transaction/.test((e as Error).message));
        }),
      );
      assert.equal(Question.objects.count(), 1, 'the transaction committed');
    },
  );

  it('still throws with false, 0 or empty', async () => {
    for (const value of ['false', '0', '', 'no']) {
      process.env.ORM_ALLOW_ASYNC_UNSAFE = value;
      await assert.rejects(newConnection(async () => Question.objects.count()), SynchronousOnlyOperation, `with '${value}'`);
    }
  });

  it('outside any block sync calls work as before', () => {
    delete process.env.ORM_ALLOW_ASYNC_UNSAFE;
    Question.objects.create({ questionText: 'Q', pubDate: new Date() });
    assert.equal(Question.objects.count(), 1);
    assert.equal(atomic(() => Question.objects.filter({ questionText: 'Q' }).update({ questionText: 'R' })), 1);
  });
});
