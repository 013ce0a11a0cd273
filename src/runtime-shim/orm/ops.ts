/**
 * The ORM's operations, written once as generators that yield statements ("sans-IO").
 * A sync runner and an async runner drive the same generator, so every a-method returns exactly
 * what its sync twin returns.
 */
import type { Row, RunResult, SqlValue, Statement } from '../backends/types.js';
import { DatabaseError, FieldError, IntegrityError, ProtectedError } from '../errors.js';
import type { SqlCompiler, QueryState, WhereGroup } from './compiler.js';
import { keyValue, metaOf, parseFilters } from './compiler.js';
import { ForeignKeyField, resolveCallables } from './fields.js';
import type { ModelMeta } from './meta.js';
import { isModelInstance } from './marker.js';

export type Instruction = { kind: 'query'; statement: Statement } | { kind: 'atomic'; op: Op<unknown> } | { kind: 'mark-rollback'; error: unknown };
export type Op<T> = Generator<Instruction, T, unknown>;

/** A model instance as the operations see it (fields live as own properties). */
export interface InstanceLike {
  pk: unknown;
  [attribute: string]: unknown;
}

/** Hooks the model module provides (it owns instance construction). */
export interface ModelHooks {
  hydrate(meta: ModelMeta, row: Row, alias: string): InstanceLike;
  build(meta: ModelMeta, values: Record<string, unknown>, alias: string): InstanceLike;
  referencing(meta: ModelMeta): ReadonlyArray<{ meta: ModelMeta; field: string; fk: ForeignKeyField }>;
}
let hooks: ModelHooks;
export function installModelHooks(modelHooks: ModelHooks): void {
  hooks = modelHooks;
}

// --- statements -------------------------------------------------------------------------------

function* execute<R>(statement: Statement): Op<R> {
  return (yield { kind: 'query', statement }) as R;
}
const allRows = (statement: Statement) => execute<Row[]>(statement);
const oneRow = (statement: Statement) => execute<Row | undefined>(statement);
const runStatement = (statement: Statement) => execute<RunResult>(statement);

/** Runs `op` in a transaction (a savepoint when one is open). */
function* atomically<T>(op: Op<T>): Op<T> {
  return (yield { kind: 'atomic', op }) as T;
}

/**
 * Django's mark_for_rollback_on_error, around a write (save, create, update, delete, bulk writes):
 * any error it raises inside an atomic block — a value that does not convert, as well as a failed
 * statement — marks the block for rollback, so code that catches the error cannot commit a
 * half-done unit of work.
 */
export function* markingRollbackOnError<T>(op: Op<T>): Op<T> {
  try {
    return yield* op;
  } catch (error) {
    yield { kind: 'mark-rollback', error };
    throw error;
  }
}

const IN_LIST_CHUNK = 500;
const MAX_GET_RESULTS = 21;
/** Parameters per bulk statement: well under SQLite's 32,766 and PostgreSQL's 65,535. */
const BULK_PARAMS = 900;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

// --- reading ----------------------------------------------------------------------------------

function rowToValues(state: QueryState, row: Row): Record<string, unknown> {
  const meta = state.meta;
  const out: Record<string, unknown> = {};
  const names = state.values ?? [...meta.fields.keys()];
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    out[state.valueKeys?.[i] ?? meta.attname(name)] = meta.fieldOf(name).fromDb(row[meta.columns.get(name)!]);
  }
  return out;
}

export function materialize(state: QueryState, row: Row): unknown {
  return state.values ? rowToValues(state, row) : hooks.hydrate(state.meta, row, state.alias);
}

export function* fetch(compiler: SqlCompiler, state: QueryState, options: { limit?: number | null; reverse?: boolean } = {}): Op<unknown[]> {
  const rows = yield* allRows(compiler.select(state, options));
  return rows.map((row) => materialize(state, row));
}

export function describeLookup(where: readonly WhereGroup[]): string {
  if (where.length === 0) return 'all()';
  return where
    .map((group) => `${group.negated ? 'exclude' : 'filter'}(${JSON.stringify(group.source, (_key, value: unknown) => (isModelInstance(value) ? value.pk : value))})`)
    .join('.');
}

export function* get(compiler: SqlCompiler, state: QueryState): Op<unknown> {
  const found = yield* fetch(compiler, state, { limit: state.limit === null ? MAX_GET_RESULTS : Math.min(state.limit, MAX_GET_RESULTS) });
  const model = state.meta.model;
  if (found.length === 1) return found[0];
  if (found.length === 0) {
    throw new model.DoesNotExist(`${state.meta.name} matching query does not exist: ${describeLookup(state.where)}`);
  }
  const count = found.length >= MAX_GET_RESULTS ? `more than ${MAX_GET_RESULTS - 1}` : String(found.length);
  throw new model.MultipleObjectsReturned(`get() returned more than one ${state.meta.name} -- it returned ${count}: ${describeLookup(state.where)}`);
}

export function* count(compiler: SqlCompiler, state: QueryState): Op<number> {
  const row = yield* oneRow(compiler.count(state));
  return Number(row?.count ?? 0);
}

export function* exists(compiler: SqlCompiler, state: QueryState): Op<boolean> {
  return (yield* oneRow(compiler.exists(state))) !== undefined;
}

export function* contains(compiler: SqlCompiler, state: QueryState, instance: unknown): Op<boolean> {
  if (!isModelInstance(instance) || metaOf(instance) !== state.meta) {
    throw new TypeError(`contains() expects a ${state.meta.name} instance`);
  }
  if (instance.pk === null || instance.pk === undefined) throw new TypeError('contains() cannot be used on an unsaved instance');
  if (state.values) throw new TypeError(`${state.meta.name}: Cannot call contains() after values()`);
  assertNotSlicedFor(state, 'contains', 'filter'); // Django: contains() is filter(pk=…).exists()
  const narrowed = withFilters(state, { pk: instance.pk });
  return yield* exists(compiler, narrowed);
}

function withFilters(state: QueryState, filters: Record<string, unknown>): QueryState {
  return { ...state, where: [...state.where, { negated: false, filters: parseFilters(state.meta, filters), source: filters }] };
}

function isSliced(state: QueryState): boolean {
  return state.limit !== null || state.offset !== 0;
}

/**
 * Django's messages for filtering or reordering a sliced query: a filter or an order after
 * limit()/offset() would silently change which rows the slice holds, so it is refused.
 */
export function assertNotSlicedFor(state: QueryState, method: string, action: 'filter' | 'reorder' | 'reverse' | 'change'): void {
  if (isSliced(state)) throw new TypeError(`${state.meta.name}: ${method}(): Cannot ${action} a query once a slice has been taken.`);
}

/** The query as first()/last() see it: its own order, or the primary key's (Django: order_by('pk')). */
function orderedOrByPk(state: QueryState, method: string): QueryState {
  if (state.order.length > 0) return state;
  assertNotSlicedFor(state, method, 'reorder');
  return { ...state, order: [{ column: state.meta.pkColumn, descending: false }] };
}

export function* first(compiler: SqlCompiler, state: QueryState): Op<unknown> {
  // limit(0).first() is null: the slice holds no row.
  const found = yield* fetch(compiler, orderedOrByPk(state, 'first'), { limit: state.limit === null ? 1 : Math.min(state.limit, 1) });
  return found[0] ?? null;
}

export function* last(compiler: SqlCompiler, state: QueryState): Op<unknown> {
  assertNotSlicedFor(state, 'last', 'reverse');
  const found = yield* fetch(compiler, orderedOrByPk(state, 'last'), { limit: 1, reverse: true });
  return found[0] ?? null;
}

export function* latest(compiler: SqlCompiler, state: QueryState, fieldKeys: readonly string[], reverse: boolean): Op<unknown> {
  assertNotSlicedFor(state, reverse ? 'earliest' : 'latest', 'change');
  const keys = fieldKeys.length > 0 ? fieldKeys : state.meta.getLatestBy ? [state.meta.getLatestBy] : [];
  if (keys.length === 0) {
    throw new FieldError(`${state.meta.name}: ${reverse ? 'earliest' : 'latest'}() needs a field name, or getLatestBy in defineModel()`);
  }
  const order = keys.map((key) => {
    const descending = key.startsWith('-');
    const name = state.meta.resolveFieldName(descending ? key.slice(1) : key, `${reverse ? 'earliest' : 'latest'}('${key}')`);
    return { column: state.meta.columns.get(name)!, descending: descending === reverse };
  });
  const found = yield* fetch(compiler, { ...state, order }, { limit: 1 });
  if (found.length === 0) {
    throw new state.meta.model.DoesNotExist(`${state.meta.name} matching query does not exist: ${describeLookup(state.where)}`);
  }
  return found[0];
}

export function* inBulk(compiler: SqlCompiler, state: QueryState, ids: readonly unknown[] | undefined, fieldName: string): Op<Map<unknown, unknown>> {
  const meta = state.meta;
  const name = meta.resolveFieldName(fieldName, `inBulk(…, { fieldName: '${fieldName}' })`);
  // A Map keeps one row per key: a non-unique field would drop rows silently.
  if (name !== meta.pkName && !meta.fieldOf(name).unique) {
    throw new FieldError(`${meta.name}: inBulk()'s fieldName must be a unique field but '${fieldName}' isn't`);
  }
  if (isSliced(state)) throw new TypeError(`${meta.name}: Cannot use 'limit' or 'offset' with inBulk()`);
  if (ids !== undefined && !Array.isArray(ids)) throw new TypeError(`${meta.name}: inBulk() takes an array of values (or nothing for every row)`);
  const position = state.values ? state.values.indexOf(name) : -1;
  if (state.values && position < 0) throw new TypeError(`${meta.name}: inBulk() after values() needs '${fieldName}' among the values`);
  const result = new Map<unknown, unknown>();
  const attname = (position >= 0 ? state.valueKeys?.[position] : undefined) ?? meta.attname(name);
  if (ids === undefined) {
    for (const instance of (yield* fetch(compiler, state)) as InstanceLike[]) result.set(instance[attname], instance);
    return result;
  }
  for (const chunk of chunks(ids, IN_LIST_CHUNK)) {
    const narrowed = withFilters(state, { [`${name}__in`]: chunk });
    for (const instance of (yield* fetch(compiler, narrowed)) as InstanceLike[]) result.set(instance[attname], instance);
  }
  return result;
}

export type AggregateFunction = 'COUNT' | 'SUM' | 'AVG' | 'MIN' | 'MAX';
export interface AggregateSpec {
  fn: AggregateFunction;
  field: string;
  distinct: boolean;
  /** The result for no rows instead of null (Django's default=). */
  default?: unknown;
}

export function* aggregate(compiler: SqlCompiler, state: QueryState, specs: Readonly<Record<string, AggregateSpec>>): Op<Record<string, unknown>> {
  const meta = state.meta;
  const entries = Object.entries(specs);
  if (entries.length === 0) return {}; // Django: aggregate() with no arguments is {}, without a query
  const resolved = entries.map(([alias, spec]) => {
    const name = spec.field === '*' ? null : meta.resolveFieldName(spec.field, `aggregate(${spec.fn}('${spec.field}'))`);
    return { alias, fn: spec.fn, column: name === null ? null : meta.columns.get(name)!, distinct: spec.distinct, field: name === null ? null : meta.fieldOf(name), fallback: spec.default };
  });
  const row = (yield* oneRow(compiler.aggregate(state, resolved))) ?? {};
  const out: Record<string, unknown> = {};
  for (const { alias, fn, field, fallback } of resolved) {
    const value = row[alias] ?? null;
    if (value === null) out[alias] = fn === 'COUNT' ? 0 : (fallback ?? null);
    else if (fn === 'COUNT' || fn === 'SUM' || fn === 'AVG') out[alias] = Number(value);
    else out[alias] = field ? field.fromDb(value) : value;
  }
  return out;
}

export function* explain(compiler: SqlCompiler, state: QueryState): Op<string> {
  const rows = yield* allRows(compiler.explain(state));
  return rows.map((row) => Object.values(row).join(' ')).join('\n');
}

// --- writing ----------------------------------------------------------------------------------

/** The columns and parameter values of an instance, for INSERT (the pk only when it is set). */
function insertRow(meta: ModelMeta, instance: InstanceLike): { columns: string[]; values: SqlValue[] } {
  const columns: string[] = [];
  const values: SqlValue[] = [];
  for (const [name, field] of meta.fields) {
    const value = instance[meta.attname(name)];
    if (field.isPrimaryKey && (value === null || value === undefined)) continue;
    if (value === undefined) {
      throw new IntegrityError(`${meta.name}.${name} is required (NOT NULL) but no value was given`, 'REQUIRED_FIELD');
    }
    columns.push(meta.columns.get(name)!);
    values.push(field.toDb(value));
  }
  return { columns, values };
}

/** Rows of one INSERT: the instances that set the same columns (a row with its pk set has one more). */
interface InsertGroup {
  columns: string[];
  rows: SqlValue[][];
  instances: InstanceLike[];
}

/** Prepares every row before any SQL runs, grouped by columns so each group is one statement. */
function insertGroups(meta: ModelMeta, instances: readonly InstanceLike[]): InsertGroup[] {
  const groups = new Map<string, InsertGroup>();
  const single: InsertGroup[] = [];
  for (const instance of instances) {
    const { columns, values } = insertRow(meta, instance);
    // INSERT … DEFAULT VALUES makes one row: a row with no columns is a statement of its own.
    if (columns.length === 0) {
      single.push({ columns, rows: [values], instances: [instance] });
      continue;
    }
    const key = columns.join('\0');
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { columns, rows: [], instances: [] }));
    group.rows.push(values);
    group.instances.push(instance);
  }
  return [...groups.values(), ...single];
}

function* insertGroup(compiler: SqlCompiler, meta: ModelMeta, group: InsertGroup): Op<void> {
  const returned = yield* allRows(compiler.insert(meta, group.columns, group.rows));
  // Auto ids of one INSERT ascend in row order.
  const ids = returned.map((row) => meta.fieldOf(meta.pkName).fromDb(row[meta.pkColumn])).sort((a, b) => Number(a) - Number(b));
  group.instances.forEach((instance, position) => {
    if (instance.pk === null || instance.pk === undefined) instance[meta.pkName] = ids[position];
  });
}

function* insertInstances(compiler: SqlCompiler, meta: ModelMeta, instances: readonly InstanceLike[]): Op<void> {
  for (const group of insertGroups(meta, instances)) yield* insertGroup(compiler, meta, group);
}

export function* create(compiler: SqlCompiler, meta: ModelMeta, values: Record<string, unknown>, alias: string): Op<InstanceLike> {
  const instance = hooks.build(meta, values, alias);
  yield* insertInstances(compiler, meta, [instance]);
  return instance;
}

function exactLookups(meta: ModelMeta, lookup: Record<string, unknown>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(lookup)) {
    if (key.includes('__')) continue; // Django ignores non-exact lookups when creating.
    values[key === 'pk' ? meta.pkName : key] = value;
  }
  return values;
}

/** Django's `get_or_create(name='x', defaults={…})` written as one object: say where defaults go. */
function checkLookupKeys(meta: ModelMeta, lookup: Record<string, unknown>, usage: string): void {
  if (typeof lookup !== 'object' || lookup === null) throw new FieldError(`${meta.name}: ${usage} needs a lookup object such as { pk: 1 }`);
  for (const key of ['defaults', 'createDefaults']) {
    if (Object.hasOwn(lookup, key) && !meta.fields.has(key)) {
      throw new FieldError(`${meta.name} has no field '${key}': pass it as an argument, ${usage}`);
    }
  }
}

export function* getOrCreate(compiler: SqlCompiler, state: QueryState, lookup: Record<string, unknown>, defaults: Record<string, unknown>): Op<[unknown, boolean]> {
  checkLookupKeys(state.meta, lookup, 'getOrCreate(lookup, defaults)');
  if (Object.keys(lookup).length > 0) assertNotSlicedFor(state, 'getOrCreate', 'filter');
  return yield* getOrCreateWith(compiler, state, lookup, defaults);
}

function* getOrCreateWith(compiler: SqlCompiler, state: QueryState, lookup: Record<string, unknown>, defaults: Record<string, unknown>): Op<[unknown, boolean]> {
  const narrowed = withFilters(state, lookup);
  try {
    return [yield* get(compiler, narrowed), false];
  } catch (error) {
    if (!(error instanceof state.meta.model.DoesNotExist)) throw error;
  }
  try {
    const created = yield* atomically(create(compiler, state.meta, { ...exactLookups(state.meta, lookup), ...resolveCallables(defaults) }, state.alias));
    return [created, true];
  } catch (error) {
    // Another writer created it between our get and our insert.
    if (!(error instanceof IntegrityError)) throw error;
    try {
      return [yield* get(compiler, narrowed), false];
    } catch {
      throw error;
    }
  }
}

/** Updates the row with `defaults`, or creates it with `createDefaults ?? defaults` (Django 5.0). */
export function* updateOrCreate(
  compiler: SqlCompiler,
  state: QueryState,
  lookup: Record<string, unknown>,
  defaults: Record<string, unknown>,
  createDefaults?: Record<string, unknown>,
): Op<[unknown, boolean]> {
  checkLookupKeys(state.meta, lookup, 'updateOrCreate(lookup, defaults, { createDefaults })');
  if (Object.keys(lookup).length > 0) assertNotSlicedFor(state, 'updateOrCreate', 'filter');
  return yield* atomically(
    (function* (): Op<[unknown, boolean]> {
      // Lock the row so a concurrent update waits until this one has saved (Django: select_for_update()).
      const locked: QueryState = { ...state, forUpdate: true };
      const [instance, created] = (yield* getOrCreateWith(compiler, locked, lookup, createDefaults ?? defaults)) as [InstanceLike, boolean];
      if (created) return [instance, true];
      for (const [key, value] of Object.entries(resolveCallables(defaults))) assignValue(state.meta, instance, key, value);
      yield* save(compiler, state.meta, instance, Object.keys(defaults));
      return [instance, false];
    })(),
  );
}

/** Sets `key` (a field, `<fk>Id` or pk) on an instance, with the checks of the model module. */
function assignValue(meta: ModelMeta, instance: InstanceLike, key: string, value: unknown): void {
  const name = meta.resolveFieldName(key, `the values of ${meta.name}`);
  instance[key === `${name}Id` ? key : name] = value;
}

/** Django: "Batch size must be a positive integer." (0 or a fraction would never finish). */
function checkBatchSize(method: string, batchSize: unknown): void {
  if (batchSize === undefined) return;
  if (typeof batchSize !== 'number' || !Number.isInteger(batchSize) || batchSize <= 0) {
    throw new RangeError(`${method}(): Batch size must be a positive integer (got ${typeof batchSize === 'string' ? `'${batchSize}'` : String(batchSize)})`);
  }
}

function modelName(object: unknown): string {
  return metaOf(object)?.name ?? typeof object;
}

/** Checks the call eagerly (so an a-method rejects before it warns or runs); then builds and inserts. */
export function bulkCreate(compiler: SqlCompiler, meta: ModelMeta, objects: readonly unknown[], batchSize: number | undefined, alias: string): Op<InstanceLike[]> {
  checkBatchSize('bulkCreate', batchSize);
  if (!Array.isArray(objects)) throw new TypeError(`${meta.name}: bulkCreate() takes an array of instances or value objects`);
  for (const object of objects) {
    if (isModelInstance(object) && metaOf(object) !== meta) {
      throw new TypeError(`${meta.name}: bulkCreate() expects ${meta.name} instances or value objects, got a ${modelName(object)}`);
    }
  }
  return bulkInsert(compiler, meta, objects, batchSize, alias);
}

function* bulkInsert(compiler: SqlCompiler, meta: ModelMeta, objects: readonly unknown[], batchSize: number | undefined, alias: string): Op<InstanceLike[]> {
  const instances = objects.map((object) => (isModelInstance(object) ? (object as unknown as InstanceLike) : hooks.build(meta, object as Record<string, unknown>, alias)));
  // Django caps a given batch size at what the engine takes, as we do.
  const most = Math.max(1, Math.floor(BULK_PARAMS / Math.max(1, meta.fields.size)));
  // Every row is prepared before any SQL runs, so a bad value fails the call as a whole.
  const groups = chunks(instances, Math.min(batchSize ?? most, most)).flatMap((batch) => insertGroups(meta, batch));
  const insertAll = function* (): Op<void> {
    for (const group of groups) yield* insertGroup(compiler, meta, group);
  };
  // All or nothing, as Django's bulk_create (one statement is atomic by itself).
  if (groups.length > 1) yield* atomically(insertAll());
  else yield* insertAll();
  return instances;
}

/** Checks everything before any SQL runs; updates only rows the queryset selects (Django filters pk__in on it). */
export function bulkUpdate(compiler: SqlCompiler, state: QueryState, objects: readonly unknown[], fieldNames: readonly string[], batchSize: number | undefined): Op<number> {
  const meta = state.meta;
  checkBatchSize('bulkUpdate', batchSize);
  if (!Array.isArray(fieldNames) || fieldNames.length === 0) throw new FieldError(`${meta.name}: Field names must be given to bulkUpdate()`);
  const names = fieldNames.map((key) => meta.resolveFieldName(key, `bulkUpdate(…, ['${key}'])`));
  if (names.includes(meta.pkName)) throw new FieldError(`${meta.name}: bulkUpdate() cannot be used with primary key fields`);
  if (!Array.isArray(objects)) throw new TypeError(`${meta.name}: bulkUpdate() takes an array of ${meta.name} instances`);
  assertNotSliced(state, 'bulkUpdate');
  const instances = objects as InstanceLike[];
  for (const instance of instances) {
    if (metaOf(instance) !== meta) {
      throw new TypeError(`${meta.name}: bulkUpdate() needs saved ${meta.name} instances, got a ${modelName(instance)}`);
    }
    if (instance.pk === null || instance.pk === undefined) throw new TypeError(`${meta.name}: All bulkUpdate() objects must have a primary key set`);
  }
  const columns = names.map((name) => meta.columns.get(name)!);
  const pkField = meta.fieldOf(meta.pkName);
  const most = Math.max(1, Math.floor(BULK_PARAMS / (names.length * 2 + 1)));
  const batches = chunks(instances, Math.min(batchSize ?? most, most));
  const updateAll = function* (): Op<number> {
    let updated = 0;
    for (const batch of batches) {
      const rows = batch.map((instance) => ({
        pk: pkField.toDb(instance.pk),
        values: names.map((name) => meta.fieldOf(name).toDb(instance[meta.attname(name)])),
      }));
      updated += (yield* runStatement(compiler.bulkUpdate(state, columns, rows))).changes;
    }
    return updated;
  };
  return batches.length > 1 ? atomically(updateAll()) : updateAll();
}

function assertNotSliced(state: QueryState, method: string): void {
  if (state.limit !== null || state.offset !== 0) {
    throw new TypeError(`${state.meta.name}: cannot ${method}() a query once a slice (limit/offset) has been taken`);
  }
}

export function* update(compiler: SqlCompiler, state: QueryState, values: Record<string, unknown>): Op<number> {
  assertNotSliced(state, 'update');
  const meta = state.meta;
  const assignments = Object.entries(values).map(([key, value]) => {
    const name = meta.resolveFieldName(key, `update({ ${key}: … })`);
    if (value === undefined) throw new FieldError(`${meta.name}: the value for '${key}' in update() is undefined`);
    return [meta.columns.get(name)!, meta.fieldOf(name).toDb(keyValue(meta, key, meta.fieldOf(name), meta, value))] as const;
  });
  if (assignments.length === 0) return 0;
  return (yield* runStatement(compiler.update(state, assignments))).changes;
}

/** Deletes rows by primary key, after cascading to the rows that reference them. */
function* deleteCascading(compiler: SqlCompiler, meta: ModelMeta, pks: readonly SqlValue[], counts: Map<string, number>): Op<void> {
  if (pks.length === 0) return;
  for (const relation of hooks.referencing(meta)) {
    const column = relation.meta.columns.get(relation.field)!;
    for (const chunk of chunks(pks, IN_LIST_CHUNK)) {
      switch (relation.fk.onDelete) {
        case 'protect': {
          const referencing = yield* allRows(compiler.selectWhereIn(relation.meta, relation.meta.pkColumn, column, chunk));
          if (referencing.length > 0) {
            throw new ProtectedError(
              `Cannot delete ${meta.name} rows: ${referencing.length} ${relation.meta.name} row(s) reference them through the protected foreign key '${relation.field}'`,
            );
          }
          break;
        }
        case 'cascade': {
          const children = yield* allRows(compiler.selectWhereIn(relation.meta, relation.meta.pkColumn, column, chunk));
          yield* deleteCascading(compiler, relation.meta, children.map((row) => row.v as SqlValue), counts);
          break;
        }
        case 'setNull':
          yield* runStatement(compiler.setNullWhere(relation.meta, column, chunk));
          break;
        case 'doNothing':
          break;
      }
    }
  }
  let deleted = 0;
  for (const chunk of chunks(pks, IN_LIST_CHUNK)) {
    deleted += (yield* runStatement(compiler.deleteWhere(meta, meta.pkColumn, chunk))).changes;
  }
  counts.set(meta.name, (counts.get(meta.name) ?? 0) + deleted);
}

export type DeleteResult = [total: number, perModel: Record<string, number>];

export function* deleteQuery(compiler: SqlCompiler, state: QueryState): Op<DeleteResult> {
  assertNotSliced(state, 'delete');
  if (state.values) throw new TypeError(`${state.meta.name}: Cannot call delete() after values()`);
  return yield* atomically(
    (function* (): Op<DeleteResult> {
      const pkState: QueryState = { ...state, values: [state.meta.pkName], order: [] };
      const rows = yield* allRows(compiler.select(pkState));
      const counts = new Map<string, number>();
      yield* deleteCascading(compiler, state.meta, rows.map((row) => row[state.meta.pkColumn] as SqlValue), counts);
      const perModel = Object.fromEntries([...counts].filter(([, n]) => n > 0));
      return [Object.values(perModel).reduce((a, b) => a + b, 0), perModel];
    })(),
  );
}

// --- instances --------------------------------------------------------------------------------

export function* save(compiler: SqlCompiler, meta: ModelMeta, instance: InstanceLike, updateFields?: readonly string[]): Op<void> {
  if (updateFields !== undefined && !Array.isArray(updateFields)) throw new TypeError(`${meta.name}: save({ updateFields }) takes an array of field names`);
  if (updateFields?.length === 0) return; // Django: update_fields=[] saves nothing
  if (instance.pk === null || instance.pk === undefined) {
    if (updateFields) throw new TypeError(`${meta.name}: Cannot save({ updateFields }) an instance with no primary key; save() it first`);
    yield* insertInstances(compiler, meta, [instance]);
    return;
  }
  const names = (updateFields ?? [...meta.fields.keys()]).map((key) => meta.resolveFieldName(key, `save({ updateFields: ['${key}'] })`));
  if (updateFields && names.includes(meta.pkName)) throw new FieldError(`${meta.name}: save({ updateFields }) cannot include the primary key`);
  const assigned = names.filter((name) => name !== meta.pkName);
  const state = pkState(meta, instance.pk);
  if (assigned.length > 0) {
    const assignments = assigned.map((name) => [meta.columns.get(name)!, meta.fieldOf(name).toDb(instance[meta.attname(name)])] as const);
    const { changes } = yield* runStatement(compiler.update(state, assignments));
    if (changes > 0) return;
    // Django: an update of named fields never becomes an INSERT.
    if (updateFields) throw new DatabaseError(`${meta.name}: Save with updateFields did not affect any rows (no row has pk ${String(instance.pk)})`);
  } else if (yield* exists(compiler, state)) {
    return;
  }
  yield* insertInstances(compiler, meta, [instance]);
}

function pkState(meta: ModelMeta, pk: unknown): QueryState {
  return {
    meta,
    alias: '',
    where: [{ negated: false, filters: parseFilters(meta, { pk }), source: { pk } }],
    order: [],
    limit: null,
    offset: 0,
    values: null,
  };
}

export function* deleteInstance(compiler: SqlCompiler, meta: ModelMeta, instance: InstanceLike): Op<DeleteResult> {
  if (instance.pk === null || instance.pk === undefined) {
    throw new TypeError(`${meta.name} object can't be deleted because its ${meta.pkName} attribute is not set`);
  }
  const result = yield* deleteQuery(compiler, pkState(meta, instance.pk));
  instance[meta.pkName] = null;
  return result;
}

/**
 * Reloads the instance's fields (or only `fieldNames`) from its row as `state` selects it
 * (Django 5.1's from_queryset): a queryset that does not select the row raises DoesNotExist.
 */
export function refreshFromDb(compiler: SqlCompiler, state: QueryState, instance: InstanceLike, fieldNames?: readonly string[]): Op<void> {
  const meta = state.meta;
  if (fieldNames !== undefined) {
    if (!Array.isArray(fieldNames)) throw new TypeError(`${meta.name}: refreshFromDb({ fields }) takes an array of field names`);
    if (fieldNames.some((name) => typeof name === 'string' && name.includes('__'))) {
      throw new FieldError(`${meta.name}: Found "__" in fields argument. Relations and transforms are not allowed in fields.`);
    }
  }
  const names = fieldNames ? fieldNames.map((key) => meta.resolveFieldName(key, `refreshFromDb({ fields: ['${key}'] })`)) : [...meta.fields.keys()];
  assertNotSliced(state, 'refreshFromDb');
  const reading: QueryState = { ...withFilters(state, { pk: instance.pk }), values: names, valueKeys: undefined, order: [] };
  return reload(compiler, reading, instance, names.length > 0);
}

function* reload(compiler: SqlCompiler, reading: QueryState, instance: InstanceLike, anything: boolean): Op<void> {
  if (!anything) return; // Django: fields=[] reloads nothing
  const fresh = (yield* get(compiler, reading)) as Record<string, unknown>;
  for (const name of reading.values!) {
    const attname = reading.meta.attname(name);
    instance[attname] = fresh[attname];
  }
}

export function* rawStatements(statements: readonly Statement[]): Op<void> {
  for (const statement of statements) yield* runStatement(statement);
}
