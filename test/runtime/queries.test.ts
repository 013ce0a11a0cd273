import assert from 'node:assert/strict';
import { readdirSync, readlinkSync } from 'node:fs';
import { FieldError, ImproperlyConfigured, IntegrityError, ProtectedError, configure, defineModel, fields, migrate, newConnection, aatomic, onQuery, openConnectionCount } from 'orm-migrate/runtime';
import type { QueryEvent } from 'orm-migrate/runtime';
import { unregisterModel } from '../../dist/runtime-shim/orm/model.js';
import { describeEachEngine, useFreshDatabase } from './support/engines.js';
import { Choice, Question, Sample } from './support/polls.js';

const T0 = new Date('2024-03-01T10:00:00.000Z');

/** File descriptors of this process that point at the database file or its WAL/SHM files. */
function openDescriptorsTo(file: string): number {
  if (process.platform !== 'linux') return 0;
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(file)) count++;
    } catch {
      // closed while we looked
    }
  }
  return count;
}

describeEachEngine('queries: lookups, bad input, injection, connection hygiene', (engine) => {
  useFreshDatabase(engine);

  beforeEach(() => {
    Question.objects.bulkCreate([
      { questionText: 'What is new?', pubDate: T0 },
      { questionText: 'what is up?', pubDate: new Date(T0.getTime() + 1000) },
      { questionText: '100% sure_thing', pubDate: new Date(T0.getTime() + 2000) },
    ]);
  });

  it('lookups mean what Django means', () => {
    const texts = (qs: { values: (...f: ['questionText']) => Iterable<Record<string, unknown>> }) => [...qs.values('questionText')].map((r) => r.questionText);
    assert.deepEqual(texts(Question.objects.filter({ questionText__startswith: 'What' })), ['What is new?'], 'startswith is case-sensitive');
    assert.deepEqual(texts(Question.objects.filter({ questionText__iexact: 'WHAT IS UP?' })), ['what is up?']);
    assert.deepEqual(texts(Question.objects.filter({ questionText__contains: '%' })), ['100% sure_thing'], 'wildcards are literal');
    assert.deepEqual(texts(Question.objects.filter({ questionText__icontains: 'E_T' })), ['100% sure_thing']);
    assert.equal(Question.objects.filter({ questionText__icontains: 'e%t' }).count(), 0);
    assert.equal(Question.objects.filter({ questionText__endswith: '?' }).count(), 2);
    assert.equal(Question.objects.filter({ pk__in: [] }).count(), 0);
    assert.equal(Question.objects.exclude({ pk__in: [] }).count(), 3);
    assert.equal(Question.objects.filter({ pubDate__range: [T0, new Date(T0.getTime() + 1000)] }).count(), 2);
    assert.equal(Question.objects.filter({ pubDate__gt: T0 }).orderBy('-pubDate').first()!.questionText, '100% sure_thing');
    assert.equal(Question.objects.filter({ pk__lte: 2 }).exclude({ questionText__startswith: 'w' }).count(), 1);
    const q = Question.objects.get({ pk: 1 });
    Choice.objects.create({ question: q, choiceText: 'a' });
    assert.equal(Choice.objects.filter({ question__questionText__startswith: 'What' }).count(), 1);
    assert.equal(Choice.objects.filter({ question: q }).count(), 1);
    assert.equal(Choice.objects.filter({ questionId: 1 }).count(), 1);
    assert.equal(Choice.objects.get({ choiceText: 'a' }).question!.questionText, 'What is new?', 'lazy foreign key outside a block');
    Sample.objects.create({ label: 'x' });
    assert.equal(Sample.objects.filter({ ratio__isnull: true }).count(), 1);
    assert.equal(Sample.objects.get({ label: 'x' }).active, true, 'default applied');
  });

  it('an unknown field or lookup names the model, the field and the choices', () => {
    assert.throws(
      () => Question.objects.filter({ title: 'x' } as never),
      (error: unknown) => error instanceof FieldError && /Question has no field 'title'/.test(error.message) && /Choices are: pk, id, questionText, pubDate/.test(error.message),
    );
    assert.throws(
      () => Question.objects.filter({ questionText__near: 'x' } as never),
      (error: unknown) => error instanceof FieldError && /unsupported lookup 'near' for field 'questionText'/.test(error.message) && /exact, iexact/.test(error.message),
    );
    assert.throws(() => Choice.objects.filter({ question__author: 'x' } as never), /Question has no field 'author'/);
    assert.throws(() => Question.objects.orderBy('-title' as never), /Question has no field 'title' \(in orderBy\('-title'\)\)/);
    assert.throws(() => Question.objects.create({ title: 'x' } as never), /Question has no field 'title'/);
    assert.throws(() => Question.objects.create({ questionText: 'no date' }), (e: unknown) => e instanceof IntegrityError && /Question\.pubDate is required/.test((e as Error).message));
  });

  it('DoesNotExist and MultipleObjectsReturned are per-model classes naming the lookup', async () => {
    assert.throws(() => Question.objects.get({ pk: 42 }), (error: unknown) => {
      assert.ok(error instanceof Question.DoesNotExist);
      assert.ok(!(error instanceof Choice.DoesNotExist));
      assert.match((error as Error).message, /^Question matching query does not exist: filter\(\{"pk":42\}\)$/);
      return true;
    });
    assert.throws(() => Question.objects.get({ questionText__icontains: 'what' }), (error: unknown) => {
      assert.ok(error instanceof Question.MultipleObjectsReturned);
      assert.match((error as Error).message, /get\(\) returned more than one Question -- it returned 2: filter\(\{"questionText__icontains":"what"\}\)/);
      return true;
    });
    await newConnection(() => assert.rejects(Choice.objects.aget({ pk: 1 }), Choice.DoesNotExist));
  });

  it('a value that looks like SQL injection is stored and read back verbatim, as a parameter', async () => {
    const evil = `'); DROP TABLE polls_question; -- " \` \\ %_*?[`;
    const events: QueryEvent[] = [];
    const stop = onQuery((e) => events.push(e));
    const created = await newConnection(() => Question.objects.acreate({ questionText: evil, pubDate: T0 }));
    stop();
    assert.equal(Question.objects.get({ pk: created.id }).questionText, evil);
    assert.equal(Question.objects.filter({ questionText: evil }).count(), 1);
    assert.equal(Question.objects.filter({ questionText__contains: 'DROP TABLE' }).count(), 1);
    assert.equal(Question.objects.filter({ questionText__startswith: `'); DROP` }).count(), 1);
    assert.equal(Question.objects.count(), 4, 'the table is still there');
    for (const event of events) assert.ok(!event.sql.includes('DROP'), `no user value in SQL: ${event.sql}`);
  });

  // SQLite only: it counts the file's descriptors (PostgreSQL's hygiene is the pool load test in postgres.test.ts).
  if (engine.name === 'sqlite') it('after 1,000 newConnection blocks no connection is left open', async () => {
    const db = { file: (engine.settings() as { name: string }).name };
    // SQLite keeps one closed connection's descriptor for reuse while another connection of this
    // process holds a lock on the file; so measure after a first block, then require no growth.
    await newConnection(() => Question.objects.acount());
    const before = openDescriptorsTo(db.file);
    assert.ok(before > 0 || process.platform !== 'linux', 'the sync connection has the file open');
    for (let i = 0; i < 1000; i++) {
      await newConnection(async () => {
        if (i % 2) await Question.objects.filter({ pk: 1 }).aexists();
        else await aatomic(() => Question.objects.filter({ pk: 1 }).aupdate({ pubDate: T0 }));
      });
    }
    // A block that throws closes its connection too.
    await assert.rejects(newConnection(async () => {
      await Question.objects.acount();
      throw new Error('boom');
    }), /boom/);
    assert.equal(openConnectionCount().blocks, 0);
    assert.equal(openDescriptorsTo(db.file), before, 'file descriptors to the database are back where they were');
  });

  it('nested blocks shadow the outer connection and restore it; Promise.all children share the block', async () => {
    const seen: string[] = [];
    const stop = onQuery((e) => seen.push(e.sql));
    await newConnection(async () => {
      await aatomic(async () => {
        await Question.objects.filter({ pk: 1 }).aupdate({ questionText: 'outer uncommitted' });
        // A nested block has its own connection: it cannot see the outer uncommitted write.
        const innerView = await newConnection(async () => (await Question.objects.aget({ pk: 1 })).questionText);
        assert.equal(innerView, 'What is new?');
        // Back on the outer connection: the write is visible again.
        assert.equal((await Question.objects.aget({ pk: 1 })).questionText, 'outer uncommitted');
        const views = await Promise.all([1, 2, 3].map(async () => (await Question.objects.aget({ pk: 1 })).questionText));
        assert.deepEqual(views, ['outer uncommitted', 'outer uncommitted', 'outer uncommitted'], 'children share the block connection');
      });
    });
    stop();
    assert.ok(seen.length > 0);
  });

  if (engine.name === 'sqlite') it('bad configuration names the key', () => {
    assert.throws(() => configure({ databases: { default: { engine: 'mysql', name: 'x' } } } as never), (e: unknown) => e instanceof ImproperlyConfigured && /databases\.default\.engine must be one of 'sqlite'/.test((e as Error).message));
    assert.throws(() => configure({ databases: { default: { engine: 'sqlite' } } } as never), /databases\.default\.name must be a non-empty file path/);
    assert.throws(() => configure({ databases: { default: { engine: 'sqlite', name: 'x', timout: 5 } } } as never), /databases\.default\.timout is not a setting of the sqlite engine \(valid: engine, name, timeout\)/);
    // better-sqlite3 (and setTimeout) take at most 2^31 − 1 ms: a longer timeout failed at the first query, naming no key.
    assert.throws(() => configure({ databases: { default: { engine: 'sqlite', name: 'x', timeout: 1e10 } } }), /databases\.default\.timeout must be a number of milliseconds from 0 to 2147483647/);
    assert.throws(() => configure({ databases: { default: { engine: 'sqlite', name: 'x', timeout: -1 } } }), /databases\.default\.timeout must be a number of milliseconds from 0 to 2147483647/);
    assert.throws(() => Question.objects.using('replica'), /The database alias 'replica' is not configured \(configured: default\)/);
  });

  it('onDelete protect and setNull', () => {
    const Author = defineModel('ProtectAuthor', { table: 'protect_author', fields: { id: fields.autoId(), name: fields.string({ maxLength: 20 }) } });
    const Book = defineModel('ProtectBook', { table: 'protect_book', fields: { id: fields.autoId(), author: fields.foreignKey(() => Author, { onDelete: 'protect' }) } });
    try {
      migrate();
      const author = Author.objects.create({ name: 'a' });
      Book.objects.create({ author });
      assert.throws(() => author.delete(), (e: unknown) => e instanceof ProtectedError && /protected foreign key 'author'/.test((e as Error).message));
      assert.equal(Author.objects.count(), 1, 'nothing deleted');
      const q = Question.objects.get({ pk: 1 });
      const sample = Sample.objects.create({ label: 'linked', question: q });
      q.delete();
      assert.equal(Sample.objects.get({ pk: sample.id }).questionId, null);
    } finally {
      // The suite runs once per engine: define the models afresh each time.
      [Book, Author].forEach((model) => unregisterModel(model));
    }
  });
});
