import assert from 'node:assert/strict';
import { Count, Max, Min, Sum, Avg, ModelBase, closeAllConnections, configure, migrate, newConnection } from 'orm-migrate/runtime';
import { describeEachEngine } from './support/engines.js';
import type { TestEngine } from './support/engines.js';
import { Choice, Question, Sample } from './support/polls.js';

const T0 = new Date('2024-03-01T10:00:00.000Z');
const day = (n: number) => new Date(T0.getTime() + n * 86_400_000);

/** The same rows for every run: ids 1..3 for questions, 1..4 for choices. */
function seed(): void {
  Question.objects.bulkCreate([
    { questionText: 'What is new?', pubDate: day(0) },
    { questionText: 'What is up?', pubDate: day(2) },
    { questionText: 'Who are you?', pubDate: day(1) },
  ]);
  Choice.objects.bulkCreate([
    { questionId: 1, choiceText: 'Not much', votes: 3 },
    { questionId: 1, choiceText: 'The sky', votes: 5 },
    { questionId: 2, choiceText: 'Nothing', votes: 0 },
    { questionId: 3, choiceText: 'Me', votes: 1 },
  ]);
  Sample.objects.create({ label: 'all types', body: null, ratio: 0.25, seenAt: day(5), payload: { tags: ['a', 'b'] }, questionId: 2 });
}

/** Results as plain data: instances by class and fields, Maps as entries, Dates as ISO strings. */
function normalize(value: unknown): unknown {
  if (value instanceof ModelBase) return { model: value.constructor.name, ...(normalize(value.toJSON()) as object) };
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Map) return [...value].map(([k, v]) => [k, normalize(v)]);
  if (Array.isArray(value)) return value.map(normalize);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]));
  return value;
}

function databaseState(): unknown {
  return normalize({
    questions: [...Question.objects.orderBy('id').values()],
    choices: [...Choice.objects.orderBy('id').values()],
    samples: [...Sample.objects.orderBy('id').values()],
  });
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: string };

interface ParityCase {
  name: string;
  sync: () => unknown;
  async: () => Promise<unknown>;
}

const q1 = () => Question.objects.get({ pk: 1 });
const aq1 = () => Question.objects.aget({ pk: 1 });

const cases: ParityCase[] = [
  { name: 'get', sync: () => Question.objects.get({ questionText__startswith: 'Who' }), async: () => Question.objects.aget({ questionText__startswith: 'Who' }) },
  { name: 'get DoesNotExist', sync: () => Question.objects.get({ pk: 99 }), async: () => Question.objects.aget({ pk: 99 }) },
  { name: 'get MultipleObjectsReturned', sync: () => Question.objects.get({ questionText__startswith: 'What' }), async: () => Question.objects.aget({ questionText__startswith: 'What' }) },
  { name: 'create', sync: () => Question.objects.create({ questionText: 'New', pubDate: day(9) }), async: () => Question.objects.acreate({ questionText: 'New', pubDate: day(9) }) },
  { name: 'create with an instance for the foreign key', sync: () => Choice.objects.create({ question: q1(), choiceText: 'x' }), async: () => Choice.objects.acreate({ questionId: 1, choiceText: 'x' }) },
  { name: 'getOrCreate (found)', sync: () => Question.objects.getOrCreate({ questionText: 'Who are you?' }), async: () => Question.objects.agetOrCreate({ questionText: 'Who are you?' }) },
  { name: 'getOrCreate (created)', sync: () => Question.objects.getOrCreate({ questionText: 'Why?' }, { pubDate: day(7) }), async: () => Question.objects.agetOrCreate({ questionText: 'Why?' }, { pubDate: day(7) }) },
  { name: 'updateOrCreate (updated)', sync: () => Question.objects.updateOrCreate({ pk: 2 }, { questionText: 'Changed' }), async: () => Question.objects.aupdateOrCreate({ pk: 2 }, { questionText: 'Changed' }) },
  { name: 'updateOrCreate (created)', sync: () => Question.objects.updateOrCreate({ questionText: 'Brand new' }, { pubDate: day(3) }), async: () => Question.objects.aupdateOrCreate({ questionText: 'Brand new' }, { pubDate: day(3) }) },
  {
    name: 'bulkCreate in batches',
    sync: () => Choice.objects.bulkCreate([1, 2, 3, 4, 5].map((n) => ({ questionId: 3, choiceText: `c${n}`, votes: n })), { batchSize: 2 }),
    async: () => Choice.objects.abulkCreate([1, 2, 3, 4, 5].map((n) => ({ questionId: 3, choiceText: `c${n}`, votes: n })), { batchSize: 2 }),
  },
  {
    name: 'bulkUpdate',
    sync: () => Choice.objects.bulkUpdate([...Choice.objects.all()].map((c) => Object.assign(c, { votes: c.votes + 10 })), ['votes']),
    async: async () => Choice.objects.abulkUpdate((await collect(Choice.objects.all())).map((c) => Object.assign(c, { votes: c.votes + 10 })), ['votes']),
  },
  { name: 'count', sync: () => Choice.objects.filter({ votes__gte: 1 }).count(), async: () => Choice.objects.filter({ votes__gte: 1 }).acount() },
  { name: 'count of a slice', sync: () => Question.objects.orderBy('id').offset(1).limit(5).count(), async: () => Question.objects.orderBy('id').offset(1).limit(5).acount() },
  { name: 'inBulk', sync: () => Question.objects.inBulk([1, 3, 42]), async: () => Question.objects.ainBulk([1, 3, 42]) },
  { name: 'inBulk by field', sync: () => Question.objects.inBulk(undefined, { fieldName: 'questionText' }), async: () => Question.objects.ainBulk(undefined, { fieldName: 'questionText' }) },
  { name: 'iterator', sync: () => [...Question.objects.orderBy('-pubDate').iterator()], async: () => collect(Question.objects.orderBy('-pubDate')) },
  { name: 'aiterator over values()', sync: () => [...Choice.objects.values('choiceText', 'question').orderBy('id')], async: () => collect(Choice.objects.values('choiceText', 'question').orderBy('id')) },
  { name: 'latest', sync: () => Question.objects.latest(), async: () => Question.objects.alatest() },
  { name: 'earliest by field', sync: () => Choice.objects.earliest('votes'), async: () => Choice.objects.aearliest('votes') },
  { name: 'first', sync: () => Question.objects.orderBy('-pubDate').first(), async: () => Question.objects.orderBy('-pubDate').afirst() },
  { name: 'last', sync: () => Question.objects.last(), async: () => Question.objects.alast() },
  { name: 'first of nothing', sync: () => Question.objects.filter({ pk: 0 }).first(), async: () => Question.objects.filter({ pk: 0 }).afirst() },
  {
    name: 'aggregate',
    sync: () => Choice.objects.aggregate({ n: Count(), total: Sum('votes'), mean: Avg('votes'), low: Min('votes') }, Max('votes')),
    async: () => Choice.objects.aaggregate({ n: Count(), total: Sum('votes'), mean: Avg('votes'), low: Min('votes') }, Max('votes')),
  },
  { name: 'aggregate of a datetime', sync: () => Question.objects.aggregate({ newest: Max('pubDate') }), async: () => Question.objects.aaggregate({ newest: Max('pubDate') }) },
  { name: 'exists', sync: () => Question.objects.filter({ questionText__icontains: 'WHO' }).exists(), async: () => Question.objects.filter({ questionText__icontains: 'WHO' }).aexists() },
  { name: 'contains', sync: () => Question.objects.filter({ pubDate__gt: day(0) }).contains(q1()), async: async () => Question.objects.filter({ pubDate__gt: day(0) }).acontains(await aq1()) },
  { name: 'update', sync: () => Choice.objects.filter({ question__questionText__startswith: 'What' }).update({ votes: 7 }), async: () => Choice.objects.filter({ question__questionText__startswith: 'What' }).aupdate({ votes: 7 }) },
  { name: 'delete with cascade', sync: () => Question.objects.filter({ pk__in: [1, 2] }).delete(), async: () => Question.objects.filter({ pk__in: [1, 2] }).adelete() },
  { name: 'explain', sync: () => typeof Question.objects.filter({ pk: 1 }).explain(), async: async () => typeof (await Question.objects.filter({ pk: 1 }).aexplain()) },
  {
    name: 'instance save (update and insert)',
    sync: () => {
      const q = q1();
      q.questionText = 'edited';
      q.save();
      const fresh = new Question({ questionText: 'saved', pubDate: day(4) });
      fresh.save();
      return [q, fresh];
    },
    async: async () => {
      const q = await aq1();
      q.questionText = 'edited';
      await q.asave();
      const fresh = new Question({ questionText: 'saved', pubDate: day(4) });
      await fresh.asave();
      return [q, fresh];
    },
  },
  { name: 'instance delete', sync: () => q1().delete(), async: async () => (await aq1()).adelete() },
  {
    name: 'instance refreshFromDb',
    sync: () => {
      const q = q1();
      Question.objects.filter({ pk: 1 }).update({ questionText: 'changed elsewhere' });
      q.refreshFromDb();
      return q;
    },
    async: async () => {
      const q = await aq1();
      await Question.objects.filter({ pk: 1 }).aupdate({ questionText: 'changed elsewhere' });
      await q.arefreshFromDb();
      return q;
    },
  },
  { name: 'every field type round-trips', sync: () => Sample.objects.get({ label: 'all types' }), async: () => Sample.objects.aget({ label: 'all types' }) },
  { name: 'exclude with a nullable field keeps NULL rows', sync: () => Sample.objects.exclude({ ratio: 0.5 }).count(), async: () => Sample.objects.exclude({ ratio: 0.5 }).acount() },
];

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** Runs `action` on a fresh, seeded database; returns its outcome and the database state after. */
async function onFreshDatabase(engine: TestEngine, action: () => unknown): Promise<{ outcome: Outcome; state: unknown }> {
  await engine.reset();
  seed();
  let outcome: Outcome;
  try {
    outcome = { ok: true, value: normalize(await action()) };
  } catch (error) {
    outcome = { ok: false, error: `${(error as Error).name}: ${(error as Error).message}` };
  }
  return { outcome, state: databaseState() };
}

describeEachEngine('every a-method returns what its sync twin returns (table-driven)', (engine) => {
  const savedMode = process.env.ORM_MIGRATE_WARNINGS;
  before(async () => {
    process.env.ORM_MIGRATE_WARNINGS = 'ignore';
    // SQLite: each run gets a new file (reset); PostgreSQL: one schema, emptied between runs.
    await engine.create();
    configure({ databases: { default: engine.settings() } });
    migrate();
  });
  after(async () => {
    if (savedMode === undefined) delete process.env.ORM_MIGRATE_WARNINGS;
    else process.env.ORM_MIGRATE_WARNINGS = savedMode;
    await closeAllConnections();
    if (engine.name === 'sqlite') await engine.destroy();
  });

  for (const { name, sync, async } of cases) {
    it(name, async () => {
      const expected = await onFreshDatabase(engine, sync);
      const native = await onFreshDatabase(engine, () => newConnection(async () => async()));
      const fallback = await onFreshDatabase(engine, async);
      assert.deepEqual(native, expected, 'inside newConnection (native)');
      assert.deepEqual(fallback, expected, 'with no block (worker fallback)');
    });
  }

  it('the table covers every async method of the surface', async () => {
    const { QUERYSET_ASYNC_TO_SYNC, INSTANCE_ASYNC_TO_SYNC } = await import('orm-migrate/runtime');
    const source = cases.map((c) => c.async.toString()).join('\n');
    for (const method of [...Object.keys(QUERYSET_ASYNC_TO_SYNC), ...Object.keys(INSTANCE_ASYNC_TO_SYNC)]) {
      if (method === 'aiterator') continue; // exercised through for await (collect)
      assert.ok(source.includes(`.${method}(`), `no parity case calls ${method}()`);
    }
  });
});
