/**
 * Field values on both engines: what each field accepts, converts and refuses (Django's
 * to_python/get_prep_value, safer where Django would store something else than what was meant),
 * callable defaults, names that would clash with an instance's own members, and the engine
 * differences the README lists.
 */
import assert from 'node:assert/strict';
import { FieldError, Sum, ValidationError, defineModel, fields, migrate, newConnection, onQuery } from 'orm-migrate/runtime';
import type { FieldMap } from 'orm-migrate/runtime';
import { unregisterModel } from '../../dist/runtime-shim/orm/model.js';
import Database from 'better-sqlite3';
import { admin, describeEachEngine, useFreshDatabase } from './support/engines.js';
import type { TestEngine } from './support/engines.js';

let tokens = 0;
const nextToken = () => `t${++tokens}`;

const Item = defineModel('FieldsItem', {
  table: 'fields_item',
  fields: {
    id: fields.autoId(),
    label: fields.string({ maxLength: 10 }),
    note: fields.text({ nullable: true }),
    count: fields.integer({ default: 0 }),
    ratio: fields.float({ default: 0 }),
    active: fields.boolean({ default: false }),
    seenAt: fields.datetime({ nullable: true }),
    payload: fields.json({ nullable: true }),
    token: fields.string({ maxLength: 20, default: nextToken }),
  },
});

type ItemField = 'label' | 'note' | 'count' | 'ratio' | 'active' | 'seenAt' | 'payload';

const cyclic: Record<string, unknown> = {};
cyclic.self = cyclic;

/** Values each field refuses, with Django's error code and how the message names what came in. */
const refused: Array<{ field: ItemField; value: unknown; code: string; got: string | RegExp }> = [
  { field: 'label', value: { a: 1 }, code: 'invalid', got: 'got an Object' },
  { field: 'label', value: new Date('2024-03-01T10:00:00Z'), code: 'invalid', got: 'got a Date' },
  { field: 'label', value: ['a'], code: 'invalid', got: 'got an Array' },
  { field: 'label', value: true, code: 'invalid', got: 'got boolean true' },
  { field: 'label', value: () => 'x', code: 'invalid', got: 'got a function' },
  { field: 'label', value: 'x'.repeat(11), code: 'max_length', got: 'got a string of 11 characters' },
  { field: 'label', value: 'é'.repeat(11), code: 'max_length', got: 'got a string of 11 characters' },
  { field: 'label', value: 'a\0b', code: 'null_characters_not_allowed', got: 'containing \\0' },
  { field: 'note', value: 'half \ud800 a pair', code: 'invalid', got: 'lone surrogate' },
  { field: 'note', value: { toString: () => 'x' }, code: 'invalid', got: 'got an Object' },
  { field: 'active', value: 'no', code: 'invalid', got: 'got string "no"' },
  { field: 'active', value: 2, code: 'invalid', got: 'got number 2' },
  { field: 'active', value: {}, code: 'invalid', got: 'got an Object' },
  { field: 'count', value: 1.5, code: 'invalid', got: 'got number 1.5' },
  { field: 'count', value: Number.NaN, code: 'invalid', got: 'got number NaN' },
  { field: 'count', value: Number.POSITIVE_INFINITY, code: 'invalid', got: 'got number Infinity' },
  { field: 'count', value: '1.5', code: 'invalid', got: 'got string "1.5"' },
  { field: 'count', value: 'abc', code: 'invalid', got: 'got string "abc"' },
  { field: 'count', value: 2 ** 53, code: 'invalid', got: 'got number 9007199254740992' },
  { field: 'count', value: 2n ** 63n, code: 'invalid', got: 'got bigint 9223372036854775808n' },
  { field: 'count', value: true, code: 'invalid', got: 'got boolean true' },
  { field: 'ratio', value: Number.NaN, code: 'invalid', got: 'got number NaN' },
  { field: 'ratio', value: Number.NEGATIVE_INFINITY, code: 'invalid', got: 'got number -Infinity' },
  { field: 'ratio', value: '1,5', code: 'invalid', got: 'got string "1,5"' },
  { field: 'seenAt', value: 'not a date', code: 'invalid', got: 'got string "not a date"' },
  { field: 'seenAt', value: new Date('nope'), code: 'invalid', got: 'got an invalid Date' },
  { field: 'seenAt', value: '2024-02-30', code: 'invalid', got: 'got string "2024-02-30"' },
  { field: 'seenAt', value: '2024-02-20T24:00:00Z', code: 'invalid', got: 'got string "2024-02-20T24:00:00Z"' },
  { field: 'seenAt', value: 1_700_000_000_000, code: 'invalid', got: 'got number 1700000000000' },
  { field: 'seenAt', value: new Date('+010000-01-01T00:00:00Z'), code: 'invalid', got: 'got the year 10000' },
  { field: 'payload', value: { n: 1n }, code: 'invalid', got: 'got bigint 1n inside the value' },
  { field: 'payload', value: new Map([['a', 1]]), code: 'invalid', got: 'got a Map' },
  { field: 'payload', value: { tags: new Set(['a']) }, code: 'invalid', got: 'got a Set inside the value' },
  { field: 'payload', value: { f: () => 1 }, code: 'invalid', got: 'got a function inside the value' },
  { field: 'payload', value: [1, undefined], code: 'invalid', got: 'undefined in an array' },
  { field: 'payload', value: { x: Number.NaN }, code: 'invalid', got: 'got number NaN' },
  { field: 'payload', value: cyclic, code: 'invalid', got: /JSON cannot encode/ },
];

/** Values a field converts, as Django's to_python does, and what reads back. */
const converted: Array<{ field: ItemField; value: unknown; stored: unknown }> = [
  { field: 'count', value: '42', stored: 42 },
  { field: 'count', value: ' -7 ', stored: -7 },
  { field: 'count', value: 5n, stored: 5 },
  { field: 'ratio', value: '1.25', stored: 1.25 },
  { field: 'ratio', value: 3n, stored: 3 },
  { field: 'active', value: 't', stored: true },
  { field: 'active', value: 'True', stored: true },
  { field: 'active', value: 1, stored: true },
  { field: 'active', value: 'False', stored: false },
  { field: 'active', value: 'f', stored: false },
  { field: 'active', value: '0', stored: false },
  { field: 'label', value: 42, stored: '42' },
  { field: 'label', value: '😀'.repeat(10), stored: '😀'.repeat(10) },
  { field: 'seenAt', value: '2024-03-01T10:00:00.123Z', stored: new Date('2024-03-01T10:00:00.123Z') },
  { field: 'seenAt', value: '2024-03-01T12:00:00+02:00', stored: new Date('2024-03-01T10:00:00Z') },
  { field: 'seenAt', value: '2024-02-29', stored: new Date('2024-02-29T00:00:00Z') },
  { field: 'payload', value: { at: new Date('2024-03-01T10:00:00Z'), gone: undefined }, stored: { at: '2024-03-01T10:00:00.000Z' } },
  { field: 'payload', value: 'just text', stored: 'just text' },
];

/** The stored rows in id order, as arrays of the named fields. */
function table(...names: ItemField[] | Array<'token'>): unknown[][] {
  return [...Item.objects.orderBy('id').values(...names)].map((row) => names.map((name) => row[name]));
}

function assertRefused(error: unknown, field: string, code: string, got: string | RegExp): true {
  assert.ok(error instanceof ValidationError, `expected a ValidationError, got ${String(error)}`);
  assert.equal(error.model, 'FieldsItem');
  assert.equal(error.field, field);
  assert.equal(error.code, code);
  assert.match(error.message, new RegExp(`^FieldsItem\\.${field} expects `));
  if (typeof got === 'string') assert.ok(error.message.includes(got), `message ${JSON.stringify(error.message)} lacks ${JSON.stringify(got)}`);
  else assert.match(error.message, got);
  return true;
}

describeEachEngine('field values are prepared the same way on every engine', (engine) => {
  useFreshDatabase(engine);

  for (const { field, value, code, got } of refused) {
    it(`${field} refuses ${show(value)} (${code}), sync and async, before any SQL`, async () => {
      const statements: string[] = [];
      const stop = onQuery((event) => statements.push(event.sql));
      try {
        assert.throws(() => Item.objects.create({ label: 'ok', [field]: value }), (error) => assertRefused(error, field, code, got));
        await newConnection(async () => {
          await assert.rejects(Item.objects.acreate({ label: 'ok', [field]: value }), (error) => assertRefused(error, field, code, got));
        });
      } finally {
        stop();
      }
      assert.deepEqual(statements, [], 'nothing reached the database');
      assert.equal(Item.objects.count(), 0);
    });
  }

  // Django reads a datetime string without an offset in TIME_ZONE, with or without a time
  // (observed with Django 3.2, USE_TZ, TIME_ZONE='UTC': filter(pub_date='2024-02-20T08:00:00') and
  // '2024-02-20 08:00' find the row at 08:00Z; create(pub_date='2024-05-01T12:30:00') reads back
  // 12:30Z). The runtime has no TIME_ZONE: UTC. Date() alone would read '2024-02-20' as UTC but
  // '2024-02-20T08:00' in the process's time zone.
  it('a datetime string without an offset is UTC whatever the process time zone, as a date alone is', () => {
    const saved = process.env.TZ;
    process.env.TZ = 'Asia/Tokyo';
    try {
      assert.equal(new Date(2024, 1, 20).getTimezoneOffset(), -540, 'the process time zone is Tokyo for this test');
      const item = Item.objects.create({ label: 'ok', seenAt: '2024-05-01T12:30:00' as unknown as Date });
      assert.deepEqual(Item.objects.get({ pk: item.pk }).seenAt, new Date('2024-05-01T12:30:00Z'));
      Item.objects.create({ label: 'eight', seenAt: new Date('2024-02-20T08:00:00Z') });
      assert.deepEqual(table('label').flat(), ['ok', 'eight']);
      assert.deepEqual([...Item.objects.filter({ seenAt: '2024-02-20T08:00:00' })].map((i) => i.label), ['eight']);
      assert.deepEqual([...Item.objects.filter({ seenAt: '2024-02-20 08:00' })].map((i) => i.label), ['eight']);
      assert.deepEqual([...Item.objects.filter({ seenAt__range: ['2024-02-20', '2024-02-20T08:00'] })].map((i) => i.label), ['eight']);
      assert.deepEqual([...Item.objects.filter({ seenAt__lt: '2024-02-20T08:00' })].map((i) => i.label), []);
      // An offset is still honoured, also one Date() alone refuses ('+09' for '+09:00').
      assert.deepEqual([...Item.objects.filter({ seenAt: '2024-02-20T17:00:00+09' })].map((i) => i.label), ['eight']);
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  for (const { field, value, stored } of converted) {
    it(`${field} takes ${show(value)} and reads back ${show(stored)}`, () => {
      const item = Item.objects.create({ label: 'ok', [field]: value });
      assert.deepEqual(Item.objects.get({ pk: item.pk })[field], stored);
    });
  }

  it('every write path refuses a bad value and leaves the row as it was: save, update, bulkCreate, bulkUpdate, getOrCreate, updateOrCreate', async () => {
    const item = Item.objects.create({ label: 'kept', count: 1 });
    const check = (error: unknown) => assertRefused(error, 'count', 'invalid', 'got number 1.5');
    item.count = 1.5;
    assert.throws(() => item.save(), check);
    await newConnection(async () => {
      await assert.rejects(item.asave(), check);
      await assert.rejects(Item.objects.filter({ pk: item.pk }).aupdate({ count: 1.5 }), check);
    });
    assert.throws(() => Item.objects.filter({ pk: item.pk }).update({ count: 1.5 }), check);
    assert.throws(() => Item.objects.bulkCreate([{ label: 'a' }, { label: 'b', count: 1.5 }]), check);
    assert.throws(() => Item.objects.bulkUpdate([item], ['count']), check);
    assert.throws(() => Item.objects.getOrCreate({ label: 'new' }, { count: 1.5 }), check);
    assert.throws(() => Item.objects.updateOrCreate({ label: 'kept' }, { count: 1.5 }), check);
    assert.throws(() => Item.objects.updateOrCreate({ label: 'x'.repeat(11) }, { count: 2 }), (error) => assertRefused(error, 'label', 'max_length', '11 characters'));
    assert.deepEqual(table('label', 'count'), [['kept', 1]]);
  });

  it('the worker fallback (an a-method with no block) raises the same ValidationError', async () => {
    await assert.rejects(Item.objects.acreate({ label: {} as never }), (error) => assertRefused(error, 'label', 'invalid', 'got an Object'));
  });

  it('lookups prepare their values as writes do, without the maxLength check', () => {
    Item.objects.bulkCreate([1, 2, 3].map((count) => ({ label: `n${count}`, count, active: count === 2 })));
    const labels = (filters: Record<string, unknown>) => [...Item.objects.filter(filters).orderBy('count')].map((item) => item.label);
    assert.deepEqual(labels({ count: '2' }), ['n2']);
    assert.deepEqual(labels({ count__in: ['1', 3n] }), ['n1', 'n3']);
    assert.deepEqual(labels({ active: 't' }), ['n2']);
    assert.deepEqual(labels({ label: 'x'.repeat(50) }), []);
    assert.deepEqual(labels({ label: 2 }), []);
    assert.throws(() => labels({ active: 'no' }), (error) => assertRefused(error, 'active', 'invalid', 'got string "no"'));
    assert.throws(() => labels({ count: 1.5 }), (error) => assertRefused(error, 'count', 'invalid', 'got number 1.5'));
    assert.throws(() => labels({ label: { a: 1 } }), (error) => assertRefused(error, 'label', 'invalid', 'got an Object'));
    assert.throws(() => labels({ label__contains: { a: 1 } }), (error) => assertRefused(error, 'label', 'invalid', 'got an Object'));
    assert.throws(() => labels({ seenAt__gt: 'yesterday' }), (error) => assertRefused(error, 'seenAt', 'invalid', 'got string "yesterday"'));
  });

  // Django's payload__contains={'tags': ['x']} is JSON containment (PostgreSQL: payload @> …;
  // observed with Django 3.2: row found on PostgreSQL, NotSupportedError on SQLite). The runtime
  // matches pattern lookups against a non-text column's text (README, "Known differences"), where an
  // object would have become '[object Object]' and silently matched nothing: it is refused.
  it('a pattern lookup on a json or datetime field takes text, not an object, array or Date', async () => {
    Item.objects.create({ label: 'j', payload: { tags: ['x'] }, seenAt: new Date('2024-03-01T10:00:00Z') });
    const containment = /a pattern lookup on a json field matches its text; Django's JSON containment, contains: \{ … \}, is not supported/;
    for (const [filters, field, got] of [
      [{ payload__contains: { tags: ['x'] } }, 'payload', 'got an Object'],
      [{ payload__icontains: ['x'] }, 'payload', 'got an Array'],
      [{ payload__startswith: { tags: [] } }, 'payload', 'got an Object'],
      [{ seenAt__contains: new Date('2024-03-01T10:00:00Z') }, 'seenAt', 'got a Date'],
    ] as const) {
      assert.throws(() => Item.objects.filter(filters).count(), (error) => assertRefused(error, field, 'invalid', got));
      await newConnection(async () => {
        await assert.rejects(Item.objects.filter(filters).acount(), (error) => assertRefused(error, field, 'invalid', got));
      });
    }
    assert.throws(() => Item.objects.filter({ payload__contains: { tags: ['x'] } }).count(), (error) => containment.test((error as Error).message));
    // Text still matches the JSON text, as before.
    assert.equal(Item.objects.filter({ payload__icontains: 'TAGS' }).count(), 1);
  });

  it('an integer compared with a fraction is compared with the whole number that selects the same rows', () => {
    Item.objects.bulkCreate([-2, -1, 0, 1, 2].map((count) => ({ label: `n${count}`, count })));
    const counts = (filters: Record<string, unknown>) => [...Item.objects.filter(filters).orderBy('count')].map((item) => item.count);
    assert.deepEqual(counts({ count__gte: 0.5 }), [1, 2]);
    assert.deepEqual(counts({ count__gt: 0.5 }), [1, 2]);
    assert.deepEqual(counts({ count__lt: -0.5 }), [-2, -1]);
    assert.deepEqual(counts({ count__lte: -0.5 }), [-2, -1]);
    assert.deepEqual(counts({ count__gt: -1.5 }), [-1, 0, 1, 2]);
    assert.deepEqual(counts({ count__range: [-1.5, 1.5] }), [-1, 0, 1]);
  });
});

describeEachEngine('defaults', (engine) => {
  useFreshDatabase(engine);

  it('a callable field default is called once per new row (create, new + save, bulkCreate)', () => {
    const before = tokens;
    const a = Item.objects.create({ label: 'a' });
    const b = new Item({ label: 'b' });
    b.save();
    const [c, d] = Item.objects.bulkCreate([{ label: 'c' }, { label: 'd' }]);
    const given = Item.objects.create({ label: 'e', token: 'mine' });
    assert.equal(tokens - before, 4);
    const stored = table('token').map(([token]) => token);
    assert.deepEqual(stored, [a, b, c, d, given].map((item) => item!.token));
    assert.equal(new Set(stored).size, 5);
    assert.ok(stored.every((token) => /^t\d+$|^mine$/.test(String(token))), `tokens are values, not source text: ${stored.join(', ')}`);
  });

  it('callable defaults of getOrCreate/updateOrCreate are called when used, and only then (Django resolve_callables)', async () => {
    let calls = 0;
    const note = () => `note ${++calls}`;
    const [created, wasCreated] = Item.objects.getOrCreate({ label: 'a' }, { note });
    assert.equal(wasCreated, true);
    assert.equal(created.note, 'note 1');
    const [found, wasFound] = Item.objects.getOrCreate({ label: 'a' }, { note });
    assert.equal(wasFound, false);
    assert.equal(calls, 1, 'not called when the row exists');
    assert.equal(found.note, 'note 1');
    const [updated] = Item.objects.updateOrCreate({ label: 'a' }, { note, count: () => 7 });
    assert.equal(updated.note, 'note 2');
    const [asyncCreated] = await newConnection(() => Item.objects.aupdateOrCreate({ label: 'b' }, { note }));
    assert.equal(asyncCreated.note, 'note 3');
    assert.deepEqual(table('label', 'note', 'count'), [['a', 'note 2', 7], ['b', 'note 3', 0]]);
  });

  it("string and text fields with no default and not nullable start as '' (Django's Field.get_default)", () => {
    const Blank = defineModel('FieldsBlank', { table: 'fields_blank', fields: { id: fields.autoId(), title: fields.string({ maxLength: 9 }), body: fields.text(), extra: fields.text({ nullable: true }) } });
    try {
      migrate();
      const blank = Blank.objects.create({});
      assert.deepEqual([blank.title, blank.body, blank.extra], ['', '', null]);
      const stored = Blank.objects.get({ pk: blank.pk });
      assert.deepEqual([stored.title, stored.body, stored.extra], ['', '', null]);
    } finally {
      unregisterModel(Blank);
    }
  });

  it('migrate writes no DEFAULT: a callable default never becomes DDL text', async () => {
    const Later = defineModel('FieldsLater', { table: 'fields_later', fields: { id: fields.autoId(), name: fields.string({ maxLength: 9, default: () => 'x' }) } });
    try {
      migrate();
      assert.equal(Later.objects.create({}).name, 'x');
    } finally {
      unregisterModel(Later);
    }
    assert.deepEqual(await columnDefaults(engine, 'fields_later'), { id: null, name: null });
  });
});

/**
 * What still differs between the engines after preparation (the README's "Known differences"),
 * and what is the same although the column types differ. Each row states both engines' result.
 */
const engineDifferences: Array<{ name: string; seed: Array<Record<string, unknown>>; run: () => unknown; sqlite: unknown; postgres: unknown }> = [
  {
    name: 'NULLs sort first in ascending order on SQLite, last on PostgreSQL',
    seed: [{ label: 'b', seenAt: new Date('2024-01-02T00:00:00Z') }, { label: 'null', seenAt: null }, { label: 'a', seenAt: new Date('2024-01-01T00:00:00Z') }],
    run: () => [...Item.objects.orderBy('seenAt')].map((item) => item.label),
    sqlite: ['null', 'a', 'b'],
    postgres: ['a', 'b', 'null'],
  },
  {
    name: 'iexact/icontains fold ASCII case only on SQLite, all of Unicode on PostgreSQL',
    seed: [{ label: 'Äpfel' }, { label: 'Apfel' }],
    run: () => [Item.objects.filter({ label__iexact: 'äpfel' }).count(), Item.objects.filter({ label__icontains: 'PF' }).count()],
    sqlite: [0, 2],
    postgres: [1, 2],
  },
  {
    name: "json objects keep their key order on SQLite; PostgreSQL's jsonb reorders keys (shorter first, then bytewise)",
    seed: [{ label: 'j', payload: { zeta: 1, b: 2, alpha: 3 } }],
    run: () => Object.keys(Item.objects.get({ label: 'j' }).payload as object),
    sqlite: ['zeta', 'b', 'alpha'],
    postgres: ['b', 'zeta', 'alpha'],
  },
  {
    name: "pattern lookups on non-text fields match each engine's text form of the value",
    seed: [{ label: 'p', active: true, seenAt: new Date('2024-03-01T10:00:00Z'), payload: { a: 1 } }],
    run: () => [
      Item.objects.filter({ seenAt__contains: 'T10:00' }).count(),
      Item.objects.filter({ payload__contains: '"a":1' }).count(),
      Item.objects.filter({ active__contains: 'true' }).count(),
    ],
    sqlite: [1, 1, 0],
    postgres: [0, 0, 1],
  },
  {
    name: 'Sum/Avg of a boolean field count the true rows on SQLite; PostgreSQL has no sum(boolean)',
    seed: [{ label: 'a', active: true }, { label: 'b', active: true }, { label: 'c', active: false }],
    run: () => {
      try {
        return Item.objects.aggregate({ n: Sum('active') });
      } catch (error) {
        return (error as Error).name;
      }
    },
    sqlite: { n: 2 },
    postgres: 'DatabaseError',
  },
  {
    name: 'the same on both: maxLength counts characters (code points), not UTF-16 units or bytes',
    seed: [{ label: '😀é'.repeat(5) }],
    run: () => Item.objects.get({ label__startswith: '😀' }).label,
    sqlite: '😀é'.repeat(5),
    postgres: '😀é'.repeat(5),
  },
  {
    name: 'the same on both: datetimes keep milliseconds (a JS Date has no microseconds) and come back in UTC',
    seed: [{ label: 'd', seenAt: '2024-03-01T12:00:00.123456+02:00' }],
    run: () => Item.objects.get({ label: 'd' }).seenAt!.toISOString(),
    sqlite: '2024-03-01T10:00:00.123Z',
    postgres: '2024-03-01T10:00:00.123Z',
  },
  {
    name: 'the same on both: floats are IEEE doubles, to the last bit (and -0 reads back as 0)',
    seed: [0.1 + 0.2, 5e-324, 1.7976931348623157e308, -0].map((ratio, index) => ({ label: `f${index}`, ratio })),
    run: () => [...Item.objects.orderBy('id')].map((item) => Object.is(item.ratio, -0) ? '-0' : item.ratio),
    sqlite: [0.1 + 0.2, 5e-324, 1.7976931348623157e308, 0],
    postgres: [0.1 + 0.2, 5e-324, 1.7976931348623157e308, 0],
  },
];

describeEachEngine('known engine differences (the README lists these)', (engine) => {
  useFreshDatabase(engine);
  for (const difference of engineDifferences) {
    it(difference.name, () => {
      Item.objects.bulkCreate(difference.seed);
      assert.deepEqual(difference.run(), difference[engine.name]);
    });
  }
});

/** The DDL default of each column of `table`, read from the database's catalog (the identity of PostgreSQL's key aside). */
async function columnDefaults(engine: TestEngine, table: string): Promise<Record<string, string | null>> {
  if (engine.name === 'postgres') {
    const { rows } = await admin().query<{ column_name: string; column_default: string | null; is_identity: string }>(
      'SELECT column_name, column_default, is_identity FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2',
      [(engine as TestEngine & { schema: string }).schema, table],
    );
    return Object.fromEntries(rows.map((row) => [row.column_name, row.column_default]));
  }
  const database = new Database((engine as TestEngine & { file: string }).file, { readonly: true });
  try {
    const rows = database.prepare(`PRAGMA table_info("${table}")`).all() as Array<{ name: string; dflt_value: string | null }>;
    return Object.fromEntries(rows.map((row) => [row.name, row.dflt_value]));
  } finally {
    database.close();
  }
}

/** A definition that must be refused; a model that was defined anyway is forgotten again. */
function assertDefinitionRefused(name: string, fieldMap: () => FieldMap, message: RegExp): void {
  assert.throws(() => {
    const model = defineModel(name, { table: name.toLowerCase(), fields: fieldMap() });
    unregisterModel(model);
  }, (error: unknown) => {
    assert.ok(error instanceof FieldError, `expected a FieldError, got ${String(error)}`);
    assert.match(error.message, message);
    return true;
  });
}

describe('model definitions that cannot work are refused up front', () => {
  const id = fields.autoId;
  for (const member of ['save', 'delete', 'asave', 'refreshFromDb', 'toJSON', 'constructor', 'toString', 'hasOwnProperty']) {
    it(`a field named '${member}' (an instance member)`, () => {
      assertDefinitionRefused('Clash', () => ({ id: id(), [member]: fields.string({ maxLength: 5 }) }), new RegExp(`defineModel\\('Clash'\\): the field '${member}' would clash with the (method|property)`));
    });
  }

  it("the runtime's internals take no names: fields called 'meta', 'alias' and 'target' work", () => {
    const Plain = defineModel('InternalNames', { table: 'internal_names', fields: { id: id(), meta: fields.json(), alias: fields.string({ maxLength: 20 }), target: fields.integer() } });
    try {
      const instance = new Plain({ meta: { a: 1 }, alias: 'x', target: 3 });
      assert.deepEqual(instance.toJSON(), { id: null, meta: { a: 1 }, alias: 'x', target: 3 });
      assert.equal(String(instance), 'InternalNames object (null)');
    } finally {
      unregisterModel(Plain);
    }
  });

  it("a foreign key whose key attribute '<name>Id' is a member or another field", () => {
    const Target = defineModel('ClashTarget', { table: 'clash_target', fields: { id: id() } });
    try {
      assertDefinitionRefused('ClashFk', () => ({ id: id(), target: fields.foreignKey(() => Target), targetId: fields.integer() }), /field 'targetId' clashes with the key attribute of the foreign key 'target'/);
    } finally {
      unregisterModel(Target);
    }
  });

  it("reserved and unusable names: 'pk', '__', a trailing '_', not an identifier", () => {
    assertDefinitionRefused('BadName', () => ({ id: id(), pk: fields.integer() }), /'pk' is not a valid field name: 'pk' is reserved/);
    assertDefinitionRefused('BadName', () => ({ id: id(), a__b: fields.integer() }), /'a__b' is not a valid field name/);
    assertDefinitionRefused('BadName', () => ({ id: id(), name_: fields.integer() }), /'name_' is not a valid field name: a name ending in '_'/);
    assertDefinitionRefused('BadName', () => ({ id: id(), 'first-name': fields.integer() }), /'first-name' is not a valid field name/);
  });

  it('unknown definition options and a getLatestBy that names no field', () => {
    assert.throws(() => defineModel('BadOption', { table: 'bad_option', fields: { id: id() }, ordering: ['id'] } as never), /defineModel\('BadOption'\): unknown option 'ordering'\. Valid options: table, fields, getLatestBy/);
    assert.throws(() => defineModel('BadLatest', { table: 'bad_latest', fields: { id: id() }, getLatestBy: '-pubDate' }), /BadLatest has no field 'pubDate' \(in getLatestBy: '-pubDate'\)\. Choices are: pk, id/);
  });

  it('two fields on one column', () => {
    assertDefinitionRefused('TwoColumns', () => ({ id: id(), firstName: fields.integer(), other: fields.integer({ column: 'first_name' }) }), /fields 'firstName' and 'other' both use the column 'first_name'/);
  });

  it('bad field options: maxLength that is not a positive integer, unknown keys, wrong types, a shared json default', () => {
    for (const maxLength of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => fields.string({ maxLength }), /fields\.string\(\): 'maxLength' must be a positive integer/);
    }
    assert.throws(() => fields.string(undefined as never), /'maxLength' must be a positive integer \(got undefined\)/);
    assert.throws(() => fields.integer({ nullabel: true } as never), /fields\.integer\(\): unknown option 'nullabel'\. Valid options: nullable, default, column, unique/);
    assert.throws(() => fields.string({ maxLength: 5, max_length: 5 } as never), /unknown option 'max_length'/);
    assert.throws(() => fields.boolean({ nullable: 'yes' } as never), /'nullable' must be true or false/);
    assert.throws(() => fields.text({ column: '' }), /'column' must be a non-empty string/);
    assert.throws(() => fields.foreignKey(() => Item, { onDelete: 'restrict' as never }), /'onDelete' must be one of cascade, protect, setNull, doNothing/);
    assert.throws(() => fields.json({ default: {} }), /'default' must be a function returning a fresh value/);
  });

  it('one field object used by two models reports each model by name', () => {
    const shared = fields.integer();
    const A = defineModel('SharedA', { table: 'shared_a', fields: { id: id(), n: shared } });
    const B = defineModel('SharedB', { table: 'shared_b', fields: { id: id(), m: shared } });
    try {
      assert.equal(A.meta.fieldOf('n').name, 'n');
      assert.equal(A.meta.fieldOf('n').modelName, 'SharedA');
      assert.equal(B.meta.fieldOf('m').modelName, 'SharedB');
      assert.throws(() => B.meta.fieldOf('m').toDb(1.5), /^ValidationError: SharedB\.m expects an integer/);
    } finally {
      unregisterModel(A);
      unregisterModel(B);
    }
  });
});

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 20 ? `${value.slice(0, 20)}…` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid Date' : `Date ${value.toISOString()}`;
  if (value instanceof Map || value instanceof Set) return value.constructor.name;
  if (typeof value === 'object' && value !== null) {
    try {
      return JSON.stringify(value, (_key, inner: unknown) => (typeof inner === 'bigint' ? `${inner}n` : inner === undefined ? 'undefined' : inner));
    } catch {
      return 'a cyclic object';
    }
  }
  return String(value);
}
