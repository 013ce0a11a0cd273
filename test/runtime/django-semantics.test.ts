/**
 * Django's semantics behind the names we share (issue 10: options, NULL, lookups, holes), on both
 * engines. Each case cites the Django behaviour it mirrors (tests/null_queries, tests/queries,
 * tests/lookup, tests/get_or_create, tests/bulk_create, tests/aggregation, tests/basic).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  Count,
  DatabaseError,
  FieldError,
  IntegrityError,
  Max,
  Min,
  Sum,
  UnknownOptionError,
  aatomic,
  atomic,
  defineModel,
  fields,
  migrate,
  newConnection,
  onQuery,
} from 'orm-migrate/runtime';
import type { QueryEvent } from 'orm-migrate/runtime';
import { unregisterModel } from '../../dist/runtime-shim/orm/model.js';
import { describeEachEngine, useFreshDatabase } from './support/engines.js';
import type { TestEngine } from './support/engines.js';
import { Choice, Question } from './support/polls.js';

const T0 = new Date('2024-03-01T10:00:00.000Z');

/** A related model whose field names look like lookups (Django resolves fields before lookups). */
function defineRel() {
  return defineModel('SemRel', {
    table: 'sem_rel',
    fields: {
      id: fields.autoId(),
      gt: fields.integer({ nullable: true }),
      in: fields.string({ maxLength: 10 }),
      exact: fields.string({ maxLength: 10 }),
      note: fields.text({ nullable: true }),
      slug: fields.string({ maxLength: 10, unique: true }),
    },
  });
}
type RelModel = ReturnType<typeof defineRel>;
function defineItem(rel: RelModel) {
  return defineModel('SemItem', {
    table: 'sem_item',
    fields: {
      id: fields.autoId(),
      rel: fields.foreignKey(() => rel, { nullable: true, onDelete: 'setNull' }),
      name: fields.string({ maxLength: 10 }),
      size: fields.integer({ nullable: true }),
    },
  });
}
type ItemModel = ReturnType<typeof defineItem>;

/** The statements `fn` runs (sync), as SQL text. */
function statementsOf(fn: () => unknown): string[] {
  const seen: QueryEvent[] = [];
  const stop = onQuery((event) => seen.push(event));
  try {
    fn();
  } finally {
    stop();
  }
  return seen.map((event) => event.sql);
}

/** Runs one INSERT from a child process, synchronously: a writer this process does not control. */
function insertFromAnotherProcess(engine: TestEngine, sql: string): void {
  const settings = engine.settings() as { name?: string; url?: string; schema?: string };
  const script =
    engine.name === 'sqlite'
      ? `import Database from 'better-sqlite3'; new Database(${JSON.stringify(settings.name)}).exec(${JSON.stringify(sql)});`
      : `import pg from 'pg'; const c = new pg.Client(${JSON.stringify(settings.url)}); await c.connect();
         await c.query(${JSON.stringify(`SET search_path TO "${settings.schema}"`)}); await c.query(${JSON.stringify(sql)}); await c.end();`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  if (child.status !== 0) throw new Error(`the other writer failed: ${child.stderr}`);
}

describeEachEngine('Django semantics behind shared names', (engine) => {
  let Rel: RelModel;
  let Item: ItemModel;
  before(() => {
    Rel = defineRel();
    Item = defineItem(Rel);
  });
  after(() => {
    unregisterModel(Item);
    unregisterModel(Rel);
  });
  useFreshDatabase(engine);

  /** r1 (gt 5, note n1), r2 (gt null, note null); items a → r1 (size 1), b → r2 (size null), c → no rel (size 3). */
  beforeEach(() => {
    migrate();
    const [r1, r2] = Rel.objects.bulkCreate([
      { gt: 5, in: 'x', exact: 'e1', note: 'n1', slug: 's1' },
      { gt: null, in: 'y', exact: 'e2', note: null, slug: 's2' },
    ]);
    Item.objects.bulkCreate([
      { rel: r1!, name: 'a', size: 1 },
      { rel: r2!, name: 'b', size: null },
      { rel: null, name: 'c', size: 3 },
    ]);
  });
  const names = (qs: Iterable<{ name: string }>) => [...qs].map((item) => item.name).sort();

  describe('unknown and unsupported options are errors naming the method and the valid keys', () => {
    const unknown = (method: RegExp, valid: RegExp) => (error: unknown) => {
      assert.ok(error instanceof UnknownOptionError, `an UnknownOptionError, got ${String(error)}`);
      assert.ok(error instanceof TypeError, 'a TypeError, like an unexpected keyword argument in Python');
      assert.match((error as Error).message, method);
      assert.match((error as Error).message, valid);
      return true;
    };
    const syncCases: Array<[string, () => unknown, RegExp, RegExp]> = [
      ['bulkCreate', () => Question.objects.bulkCreate([], { batchsize: 2 } as never), /Question\.objects\.bulkCreate\(\).*'batchsize'/, /valid options: batchSize/],
      ['bulkCreate (Django option we lack)', () => Question.objects.bulkCreate([], { ignoreConflicts: true } as never), /bulkCreate\(\) does not support the option 'ignoreConflicts'/, /valid options: batchSize/],
      ['bulkUpdate', () => Question.objects.bulkUpdate([], ['questionText'], { batch: 1 } as never), /bulkUpdate\(\).*'batch'/, /valid options: batchSize/],
      ['inBulk', () => Question.objects.inBulk([1], { field: 'id' } as never), /inBulk\(\).*'field'/, /valid options: fieldName/],
      ['updateOrCreate', () => Question.objects.updateOrCreate({ pk: 1 }, {}, { create_defaults: {} } as never), /updateOrCreate\(\).*'create_defaults'/, /valid options: createDefaults/],
      ['iterator', () => Question.objects.iterator({ chunkSize: 10 } as never), /iterator\(\) does not support the option 'chunkSize'/, /valid options: \(none\)/],
      ['explain', () => Question.objects.explain({ analyze: true } as never), /explain\(\) does not support the option 'analyze'/, /valid options: \(none\)/],
      ['Count', () => Count('votes', { filter: {} } as never), /Count\(\) does not support the option 'filter'/, /valid options: distinct, default/],
      ['instance save', () => Question.objects.create({ questionText: 'q', pubDate: T0 }).save({ update_fields: [] } as never), /Question\.save\(\).*'update_fields'/, /valid options: updateFields/],
      ['instance save (Django option we lack)', () => Question.objects.create({ questionText: 'q', pubDate: T0 }).save({ forceInsert: true } as never), /save\(\) does not support the option 'forceInsert'/, /valid options: updateFields/],
      ['instance refreshFromDb', () => Question.objects.create({ questionText: 'q', pubDate: T0 }).refreshFromDb({ from_queryset: null } as never), /refreshFromDb\(\).*'from_queryset'/, /valid options: fields, fromQueryset/],
      ['atomic', () => atomic(() => 1, { durable: true } as never), /atomic\(\) does not support the option 'durable'/, /valid options: using/],
      ['migrate', () => migrate({ database: 'default' } as never), /migrate\(\).*'database'/, /valid options: using/],
    ];
    for (const [name, call, method, valid] of syncCases) {
      it(name, () => assert.throws(call, unknown(method, valid)));
    }

    it('async twins reject (never throw synchronously), inside and outside a block', async () => {
      let pending: Promise<unknown> | undefined;
      assert.doesNotThrow(() => {
        pending = Question.objects.abulkCreate([], { batchsize: 2 } as never);
      });
      await assert.rejects(pending!, unknown(/abulkCreate\(\)/, /batchSize/));
      await newConnection(async () => {
        await assert.rejects(Question.objects.ainBulk([1], { field: 'id' } as never), unknown(/ainBulk\(\)/, /fieldName/));
        await assert.rejects(Question.objects.aupdateOrCreate({ pk: 1 }, {}, { create: {} } as never), unknown(/aupdateOrCreate\(\)/, /createDefaults/));
        const q = await Question.objects.acreate({ questionText: 'q', pubDate: T0 });
        await assert.rejects(q.asave({ updatefields: [] } as never), unknown(/asave\(\)/, /updateFields/));
        await assert.rejects(q.arefreshFromDb({ field: [] } as never), unknown(/arefreshFromDb\(\)/, /fields, fromQueryset/));
        await assert.rejects(aatomic(async () => 1, { savepoint: false } as never), unknown(/aatomic\(\) does not support the option 'savepoint'/, /using/));
      });
      await assert.rejects(newConnection(async () => 1, { alias: 'default' } as never), unknown(/newConnection\(\).*'alias'/, /valid options: using/));
    });

    it('an options argument that is not an object is a TypeError naming the method', () => {
      assert.throws(() => Question.objects.bulkCreate([], null as never), (e: unknown) => e instanceof TypeError && /bulkCreate\(\) options must be an object/.test((e as Error).message));
      assert.throws(() => Question.objects.inBulk([1], 'id' as never), /inBulk\(\) options must be an object/);
    });

    it('known options still work, and a plain object with only known keys passes', () => {
      assert.equal(Question.objects.bulkCreate([{ questionText: 'q', pubDate: T0 }], { batchSize: 1 }).length, 1);
      assert.equal(Rel.objects.inBulk(['s1'], { fieldName: 'slug' }).get('s1')!.gt, 5);
      assert.deepEqual(Count('votes', { distinct: true }), { fn: 'COUNT', field: 'votes', distinct: true });
    });
  });

  describe('updateOrCreate createDefaults (Django 5.0 create_defaults)', () => {
    it('creates with createDefaults, updates with defaults', async () => {
      const [created, wasCreated] = Rel.objects.updateOrCreate({ slug: 's3' }, { in: 'upd', exact: 'upd' }, { createDefaults: { in: 'new', exact: 'new' } });
      assert.equal(wasCreated, true);
      assert.deepEqual([created.in, created.exact], ['new', 'new']);
      assert.deepEqual([Rel.objects.get({ slug: 's3' }).in], ['new']);
      const [updated, updatedCreated] = Rel.objects.updateOrCreate({ slug: 's3' }, { in: 'upd' }, { createDefaults: { in: 'new', exact: 'new' } });
      assert.equal(updatedCreated, false);
      assert.deepEqual([updated.in, updated.exact], ['upd', 'new'], 'only the defaults are written on update');
      const [acreated] = await newConnection(() => Rel.objects.aupdateOrCreate({ slug: 's4' }, { in: 'upd', exact: 'u' }, { createDefaults: { in: 'anew', exact: 'a' } }));
      assert.equal(acreated.in, 'anew');
    });

    it('without createDefaults the defaults are used for both (and updateOrCreate({}) defaults change nothing)', () => {
      const [created] = Rel.objects.updateOrCreate({ slug: 's5' }, { in: 'd', exact: 'd' });
      assert.equal(created.in, 'd');
      const sql = statementsOf(() => Rel.objects.updateOrCreate({ slug: 's5' }, {}));
      assert.equal(sql.filter((s) => /^(UPDATE|INSERT)/.test(s)).length, 0, `no write for empty defaults (Django saves with update_fields=[]): ${sql.join('; ')}`);
    });

    it('locks the row it reads on PostgreSQL (Django: select_for_update().get_or_create())', () => {
      const sql = statementsOf(() => Rel.objects.updateOrCreate({ slug: 's1' }, { in: 'z' }));
      const select = sql.find((s) => s.startsWith('SELECT'))!;
      if (engine.name === 'postgres') assert.match(select, /FOR UPDATE$/);
      else assert.doesNotMatch(select, /FOR UPDATE/, 'SQLite has no row locks: BEGIN IMMEDIATE already holds the write lock');
    });

    // A guard (it passed before this work): another process inserts the row between getOrCreate's
    // SELECT and its INSERT; the INSERT's IntegrityError makes it read that row (Django does the same).
    it('getOrCreate that loses a race to another writer returns the other row, not created', () => {
      let raced = false;
      const stop = onQuery((event) => {
        if (raced || !event.sql.startsWith('SELECT') || !event.params.includes('race')) return;
        raced = true;
        insertFromAnotherProcess(engine, `INSERT INTO sem_rel ("in", "exact", "slug") VALUES ('other', 'o', 'race')`);
      });
      try {
        const [rel, created] = Rel.objects.getOrCreate({ slug: 'race' }, { in: 'mine', exact: 'm' });
        assert.equal(raced, true);
        assert.deepEqual([created, rel.in], [false, 'other']);
      } finally {
        stop();
      }
      assert.equal(Rel.objects.filter({ slug: 'race' }).count(), 1);
    });

    // A guard (it passed before this work): Django's tests/get_or_create test_savepoint_rollback.
    it('a failed create inside getOrCreate rolls back to its savepoint: the enclosing transaction goes on', async () => {
      await newConnection(() =>
        aatomic(async () => {
          await Rel.objects.acreate({ in: 'kept', exact: 'k', slug: 'k1' });
          await assert.rejects(Rel.objects.agetOrCreate({ in: 'zz' }, { exact: 'e', slug: 's1' }), IntegrityError);
          assert.equal(await Rel.objects.filter({ in: 'kept' }).acount(), 1, 'the transaction is still usable');
        }),
      );
      assert.equal(Rel.objects.filter({ slug: 'k1' }).count(), 1, 'and it committed');
    });

    it('a Django-style defaults key inside the lookup says to pass it as the argument', () => {
      assert.throws(() => Question.objects.getOrCreate({ questionText: 'x', defaults: { pubDate: T0 } } as never), (e: unknown) => e instanceof FieldError && /getOrCreate\(lookup, defaults\)/.test((e as Error).message));
      assert.throws(() => Question.objects.updateOrCreate({ questionText: 'x', createDefaults: {} } as never, {}), /updateOrCreate\(lookup, defaults, \{ createDefaults \}\)/);
    });
  });

  describe('refreshFromDb({ fromQueryset, fields }) (Django 5.1 from_queryset)', () => {
    it('reloads through the given queryset; a queryset that excludes the row raises DoesNotExist', async () => {
      const r1 = Rel.objects.get({ slug: 's1' });
      Rel.objects.filter({ slug: 's1' }).update({ note: 'changed', gt: 6 });
      r1.refreshFromDb({ fromQueryset: Rel.objects.filter({ gt__gte: 6 }) });
      assert.deepEqual([r1.note, r1.gt], ['changed', 6]);
      assert.throws(() => r1.refreshFromDb({ fromQueryset: Rel.objects.filter({ gt: 0 }) }), Rel.DoesNotExist);
      await newConnection(async () => {
        await Rel.objects.filter({ slug: 's1' }).aupdate({ note: 'again' });
        await r1.arefreshFromDb({ fromQueryset: Rel.objects.exclude({ note: 'n1' }) });
      });
      assert.equal(r1.note, 'again');
    });

    it('fields: reloads only the named fields; [] runs no query; a relation path is refused', () => {
      const r1 = Rel.objects.get({ slug: 's1' });
      Rel.objects.filter({ slug: 's1' }).update({ note: 'changed', gt: 7 });
      r1.refreshFromDb({ fields: ['note'] });
      assert.deepEqual([r1.note, r1.gt], ['changed', 5], 'gt is left as it was');
      assert.deepEqual(statementsOf(() => r1.refreshFromDb({ fields: [] })), []);
      const item = Item.objects.get({ name: 'a' });
      assert.throws(() => item.refreshFromDb({ fields: ['rel__note'] }), /Found "__" in fields argument/);
      assert.throws(() => item.refreshFromDb({ fields: ['nope'] }), /SemItem has no field 'nope'/);
    });

    it('a queryset of another model is refused', () => {
      const r1 = Rel.objects.get({ slug: 's1' });
      assert.throws(() => r1.refreshFromDb({ fromQueryset: Item.objects.all() as never }), (e: unknown) => e instanceof TypeError && /fromQueryset must be a queryset of SemRel/.test((e as Error).message));
    });
  });

  describe('NULL semantics', () => {
    it('exclude() across a nullable foreign key keeps the rows whose key is NULL (Django: LEFT OUTER JOIN)', () => {
      assert.deepEqual(names(Item.objects.exclude({ rel__note: 'n1' })), ['b', 'c']);
      assert.deepEqual(names(Item.objects.exclude({ rel__note__startswith: 'n' })), ['b', 'c']);
      assert.deepEqual(names(Item.objects.filter({ rel__note: 'n1' })), ['a']);
    });

    it('isnull / exact None across a foreign key include the rows with no related row', () => {
      assert.deepEqual(names(Item.objects.filter({ rel__note__isnull: true })), ['b', 'c']);
      assert.deepEqual(names(Item.objects.filter({ rel__note: null })), ['b', 'c']);
      assert.deepEqual(names(Item.objects.exclude({ rel__note__isnull: true })), ['a']);
      assert.deepEqual(names(Item.objects.filter({ rel__note__isnull: false })), ['a']);
      assert.deepEqual(names(Item.objects.exclude({ rel__note__isnull: false })), ['b', 'c']);
    });

    it('null and undefined inside __in are discarded (Django: In drops None)', () => {
      assert.deepEqual(names(Item.objects.exclude({ name__in: ['a', null] })), ['b', 'c']);
      assert.deepEqual(names(Item.objects.exclude({ size__in: [1, null] })), ['b', 'c'], 'a nullable column keeps its NULL rows');
      assert.deepEqual(names(Item.objects.exclude({ size__in: [undefined, 3] })), ['a', 'b']);
      assert.deepEqual(names(Item.objects.filter({ size__in: [null] })), []);
      assert.deepEqual(names(Item.objects.exclude({ size__in: [null] })), ['a', 'b', 'c'], 'tests/queries NullInExcludeTest');
      assert.deepEqual(names(Item.objects.filter({ size__in: [1, null, 3] })), ['a', 'c']);
    });

    it('exclude() on a nullable column keeps NULL rows; exclude({}) excludes nothing', () => {
      assert.deepEqual(names(Item.objects.exclude({ size: 1 })), ['b', 'c']);
      assert.deepEqual(names(Item.objects.exclude({ size__gt: 2 })), ['a', 'b']);
      assert.deepEqual(names(Item.objects.exclude({})), ['a', 'b', 'c']);
      assert.equal(Item.objects.exclude({}).count(), 3);
    });

    it('isnull needs a boolean (Django: "The QuerySet value for an isnull lookup must be True or False.")', () => {
      for (const value of [1, 0, 'yes', 'true', null]) {
        assert.throws(() => Item.objects.filter({ size__isnull: value }), (e: unknown) => e instanceof FieldError && /value for an isnull lookup must be true or false/i.test((e as Error).message) && /size__isnull/.test((e as Error).message), String(value));
      }
    });

    it('a related filter needs a saved instance of the related model', () => {
      assert.throws(() => Item.objects.filter({ rel: new Rel({ in: 'u', exact: 'u', slug: 'u' }) }), /SemItem: 'rel' was given an unsaved SemRel/);
      const q = Question.objects.create({ questionText: 'q', pubDate: T0 });
      assert.throws(() => Item.objects.filter({ rel: q as never }), /SemItem: 'rel' must be a SemRel instance or key, not a Question/);
      assert.throws(() => Item.objects.filter({ rel__pk__in: [q] as never }), /not a Question/);
    });
  });

  describe('lookup resolution: fields before lookups', () => {
    it('a related field named like a lookup is the field', () => {
      assert.deepEqual(names(Item.objects.filter({ rel__gt: 5 })), ['a'], 'rel__gt is rel.gt = 5');
      assert.deepEqual(names(Item.objects.filter({ rel__in: 'y' })), ['b'], 'rel__in is rel.in = y');
      assert.deepEqual(names(Item.objects.filter({ rel__exact: 'e1' })), ['a']);
      assert.deepEqual(names(Item.objects.filter({ rel__gt__gte: 5 })), ['a']);
      assert.deepEqual(names(Item.objects.exclude({ rel__gt: 5 })), ['b', 'c']);
    });

    it('a name that is no field of the related model is still a lookup on the key', () => {
      assert.equal(Choice.objects.filter({ question__gt: 0 }).count(), 0);
      assert.deepEqual(names(Item.objects.filter({ rel__isnull: true })), ['c']);
      const r1 = Rel.objects.get({ slug: 's1' });
      assert.deepEqual(names(Item.objects.filter({ relId__in: [r1.id] })), ['a'], '<fk>Id__x is always a lookup on the key');
      assert.deepEqual(names(Item.objects.filter({ rel__pk__in: [r1.id] })), ['a']);
    });
  });

  describe('batch sizes, inBulk, aggregate()', () => {
    it('a batch size that is not a positive integer is refused (Django: "Batch size must be a positive integer.")', () => {
      const items = [...Item.objects.all()];
      for (const batchSize of [Number.NaN, 1.5, '2']) {
        assert.throws(() => Item.objects.bulkUpdate(items, ['name'], { batchSize } as never), (e: unknown) => e instanceof RangeError && /bulkUpdate\(\): Batch size must be a positive integer/.test((e as Error).message), String(batchSize));
        assert.throws(() => Item.objects.bulkCreate([{ name: 'x' }], { batchSize } as never), /bulkCreate\(\): Batch size must be a positive integer/, String(batchSize));
      }
      assert.equal(Item.objects.count(), 3, 'nothing inserted');
    });

    // Before the fix these looped until the heap ran out, so they only run once it is in.
    it('batch sizes 0 and -1 are refused too (they used to loop forever)', () => {
      const items = [...Item.objects.all()];
      for (const batchSize of [0, -1]) {
        assert.throws(() => Item.objects.bulkUpdate(items, ['name'], { batchSize }), /Batch size must be a positive integer/);
        assert.throws(() => Item.objects.bulkCreate([{ name: 'x' }], { batchSize }), /Batch size must be a positive integer/);
      }
    });

    it('inBulk on a non-unique field raises (Django: "in_bulk()\'s field_name must be a unique field")', () => {
      assert.throws(() => Item.objects.inBulk(undefined, { fieldName: 'name' }), (e: unknown) => e instanceof FieldError && /inBulk\(\)'s fieldName must be a unique field but 'name' isn't/.test((e as Error).message));
      assert.deepEqual([...Rel.objects.inBulk(['s2', 's1'], { fieldName: 'slug' }).keys()].sort(), ['s1', 's2']);
      assert.deepEqual([...Item.objects.inBulk().keys()].sort(), [1, 2, 3]);
      assert.throws(() => Item.objects.orderBy('id').limit(1).inBulk(), /Cannot use 'limit' or 'offset' with inBulk\(\)/);
    });

    it('aggregate() with no arguments returns {} without a query; aggregate options follow Django', () => {
      assert.deepEqual(statementsOf(() => assert.deepEqual(Item.objects.aggregate(), {})), []);
      assert.deepEqual(Item.objects.filter({ size__gt: 10 }).aggregate({ total: Sum('size', { default: 0 }), most: Max('size') }), { total: 0, most: null });
      assert.throws(() => Min('size', { distinct: true }), (e: unknown) => e instanceof TypeError && /Min does not allow distinct/.test((e as Error).message));
      assert.throws(() => Count('size', { default: 0 }), /Count does not allow default/);
      assert.throws(() => Item.objects.aggregate({ n: 'size' } as never), (e: unknown) => e instanceof TypeError && /aggregate\(\): 'n' is not an aggregate/.test((e as Error).message));
      assert.throws(() => Item.objects.aggregate(Sum('size'), { size__sum: Max('size') }), /two aggregates are named 'size__sum'/, 'one would be lost');
    });
  });

  describe('first/last/latest/get/contains on slices and values', () => {
    it('first() of an empty slice is null; last()/latest() of a slice raise (Django: cannot reverse/change a sliced query)', () => {
      assert.equal(Item.objects.orderBy('id').limit(0).first(), null);
      assert.equal(Item.objects.orderBy('id').offset(1).first()!.name, 'b');
      assert.throws(() => Item.objects.orderBy('id').offset(1).last(), (e: unknown) => e instanceof TypeError && /Cannot reverse a query once a slice has been taken/.test((e as Error).message));
      assert.throws(() => Item.objects.limit(2).first(), /Cannot reorder a query once a slice has been taken/);
      assert.throws(() => Question.objects.limit(2).latest(), /Cannot change a query once a slice has been taken/);
    });

    // Django (3.2 observed; TypeError since 4.0): qs[:2].filter(x=1), .exclude(…), .get(x=1),
    // .get_or_create(x=1), .update_or_create(x=1) raise "Cannot filter a query once a slice has been
    // taken."; qs[:2].order_by(…) and .order_by() raise "Cannot reorder a query once a slice has
    // been taken."; qs[:2].filter() with no conditions is allowed. Applying the filter or the order
    // before the LIMIT instead would silently select other rows than the slice holds.
    it('filter/exclude/get/orderBy/getOrCreate/updateOrCreate/contains after limit/offset raise; filter({}) does not', async () => {
      const sliced = () => Item.objects.orderBy('id').limit(2);
      const refused = (method: string, action: 'filter' | 'reorder') => (e: unknown) =>
        e instanceof TypeError && new RegExp(`SemItem: ${method}\\(\\): Cannot ${action} a query once a slice has been taken\\.`).test((e as Error).message);
      assert.throws(() => sliced().filter({ name: 'b' }), refused('filter', 'filter'));
      assert.throws(() => Item.objects.offset(1).exclude({ name: 'b' }), refused('exclude', 'filter'));
      assert.throws(() => sliced().get({ name: 'a' }), refused('get', 'filter'));
      await assert.rejects(sliced().aget({ name: 'a' }), refused('aget', 'filter'));
      assert.throws(() => sliced().getOrCreate({ name: 'a' }), refused('getOrCreate', 'filter'));
      assert.throws(() => sliced().updateOrCreate({ name: 'a' }, { size: 9 }), refused('updateOrCreate', 'filter'));
      assert.throws(() => sliced().contains(Item.objects.get({ name: 'a' })), refused('contains', 'filter'));
      assert.throws(() => sliced().orderBy('-id'), refused('orderBy', 'reorder'));
      assert.throws(() => sliced().orderBy(), refused('orderBy', 'reorder'));
      // Nothing was written by the refused getOrCreate/updateOrCreate.
      assert.deepEqual(names(Item.objects.all()), ['a', 'b', 'c']);
      assert.equal(Item.objects.get({ name: 'a' }).size, 1);
      // No condition, no change of the slice: allowed, as qs[:2].filter() and qs[:2].get() in Django.
      assert.deepEqual(names(sliced().filter({})), ['a', 'b']);
      assert.equal(Item.objects.orderBy('id').offset(1).limit(1).get().name, 'b');
      // Before the slice they still combine freely.
      assert.deepEqual(names(Item.objects.filter({ name__in: ['b', 'c'] }).orderBy('-id').limit(1)), ['c']);
    });

    it('contains() after values() raises (Django: "Cannot call QuerySet.contains() after .values()")', () => {
      const a = Item.objects.get({ name: 'a' });
      assert.throws(() => Item.objects.values('name').contains(a), /Cannot call contains\(\) after values\(\)/);
      assert.throws(() => Item.objects.contains(new Item({ name: 'z' })), /contains\(\) cannot be used on an unsaved instance/);
    });
  });

  describe('values(), update() and delete() as in Django', () => {
    it('values() rows are keyed by the names given (Django: values("question") → { question })', () => {
      const a = Item.objects.get({ name: 'a' });
      assert.deepEqual(Item.objects.filter({ name: 'a' }).values('rel', 'pk', 'relId', 'name').first(), { rel: a.relId, pk: a.id, relId: a.relId, name: 'a' });
      assert.deepEqual(Item.objects.filter({ name: 'a' }).values().first(), { id: a.id, relId: a.relId, name: 'a', size: 1 }, 'no names: attnames');
      assert.deepEqual([...Rel.objects.values('slug', 'gt').inBulk(['s1'], { fieldName: 'slug' })], [['s1', { slug: 's1', gt: 5 }]]);
    });

    it('update() with an instance for a foreign key: saved, and of the target model', () => {
      const q = Question.objects.create({ questionText: 'q', pubDate: T0 });
      assert.throws(() => Item.objects.update({ rel: q as never }), /SemItem: 'rel' must be a SemRel instance or key, not a Question/);
      assert.throws(() => Item.objects.update({ rel: new Rel({ in: 'u', exact: 'u', slug: 'u' }) }), /SemItem: 'rel' was given an unsaved SemRel; save it first/);
      assert.equal(Item.objects.filter({ rel__isnull: true }).count(), 1, 'no key was nulled');
      assert.throws(() => Item.objects.update({ name: q as never }), /SemItem: 'name' is a string field and cannot take a Question instance/);
    });

    it('delete() after values() raises (Django: "Cannot call delete() after .values()")', () => {
      assert.throws(() => Item.objects.values('name').delete(), /Cannot call delete\(\) after values\(\)/);
      assert.equal(Item.objects.count(), 3);
    });
  });

  describe('writes that must be all or nothing', () => {
    it('bulkCreate of rows with different columns is one transaction', () => {
      const before = Item.objects.count();
      assert.throws(() => Item.objects.bulkCreate([{ name: 'new' }, { id: 1, name: 'dup' }]), IntegrityError);
      assert.equal(Item.objects.count(), before, 'the first row was rolled back with the failing one');
      const made = Item.objects.bulkCreate([{ name: 'p' }, { id: 50, name: 'q' }, { name: 'r' }]);
      assert.deepEqual(made.map((item) => item.id).slice(1), [50, made[2]!.id]);
      assert.ok(made[0]!.id && made[2]!.id && made[0]!.id !== made[2]!.id);
    });

    it('bulkCreate of rows with no columns makes every row (Django tests/bulk_create test_empty_model)', () => {
      const Bare = defineModel('SemBare', { table: 'sem_bare', fields: { id: fields.autoId() } });
      try {
        migrate();
        const made = Bare.objects.bulkCreate([new Bare(), new Bare(), new Bare()]);
        assert.equal(Bare.objects.count(), 3);
        assert.deepEqual(made.map((bare) => bare.id).sort(), [...Bare.objects.all()].map((bare) => bare.id).sort());
      } finally {
        unregisterModel(Bare);
      }
    });

    it('bulkCreate/bulkUpdate refuse instances of another model', () => {
      const q = Question.objects.create({ questionText: 'q', pubDate: T0 });
      assert.throws(() => Item.objects.bulkCreate([q] as never), /bulkCreate\(\) expects SemItem instances or value objects, got a Question/);
      assert.throws(() => Item.objects.bulkUpdate([q] as never, ['name']), /bulkUpdate\(\) needs saved SemItem instances, got a Question/);
    });

    it('bulkUpdate updates only the rows its queryset selects (Django filters pk__in on the queryset)', () => {
      const items = [...Item.objects.all()].map((item) => Object.assign(item, { name: `${item.name}!` }));
      assert.equal(Item.objects.filter({ size__isnull: false }).bulkUpdate(items, ['name']), 2);
      assert.deepEqual(names(Item.objects.all()), ['a!', 'b', 'c!']);
      assert.throws(() => Item.objects.bulkUpdate(items, []), /Field names must be given to bulkUpdate\(\)/);
      assert.throws(() => Item.objects.bulkUpdate(items, ['id']), /bulkUpdate\(\) cannot be used with primary key fields/);
    });

    it('save({ updateFields }) of a row that is gone raises; updateFields: [] writes nothing', () => {
      const a = Item.objects.get({ name: 'a' });
      assert.deepEqual(statementsOf(() => a.save({ updateFields: [] })), []);
      Item.objects.filter({ name: 'a' }).delete();
      a.name = 'back';
      assert.throws(() => a.save({ updateFields: ['name'] }), (e: unknown) => e instanceof DatabaseError && /Save with updateFields did not affect any rows/.test((e as Error).message));
      assert.equal(Item.objects.filter({ name: 'back' }).count(), 0, 'not re-inserted');
      assert.throws(() => new Item({ name: 'new' }).save({ updateFields: ['name'] }), /Cannot save\(\{ updateFields \}\) an instance with no primary key/);
      assert.equal(Item.objects.filter({ name: 'new' }).count(), 0);
    });
  });
});
