/**
 * The ORM's operations, written once as generators that yield statements ("sans-IO").
 * A sync runner and an async runner drive the same generator, so every a-method returns exactly
 * what its sync twin returns.
 */
import type { Row, RunResult, SqlValue, Statement } from '../backends/types.js';
import { FieldError, IntegrityError, ProtectedError } from '../errors.js';
import type { SqlCompiler, QueryState, WhereGroup } from './compiler.js';
import { parseFilters } from './compiler.js';
import { ForeignKeyField, resolveCallables } from './fields.js';
import type { ModelMeta } from './meta.js';
import { isModelInstance } from './marker.js';

export type Instruction = { kind: 'query'; statement: Statement } | { kind: 'atomic'; op: Op<unknown> };
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

const IN_LIST_CHUNK = 500;
const MAX_GET_RESULTS = 21;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

// --- reading ----------------------------------------------------------------------------------

function rowToValues(state: QueryState, row: Row): Record<string, unknown> {
  const meta = state.meta;
  const out: Record<string, unknown> = {};
  for (const name of state.values ?? meta.fields.keys()) {
    out[meta.attname(name)] = meta.fieldOf(name).fromDb(row[meta.columns.get(name)!]);
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
  if (!isModelInstance(instance) || (instance.constructor as { meta?: ModelMeta }).meta !== state.meta) {
    throw new TypeError(`contains() expects a ${state.meta.name} instance`);
  }
  if (instance.pk === null || instance.pk === undefined) throw new TypeError('contains() cannot be used on an unsaved instance');
  const narrowed = withFilters(state, { pk: instance.pk });
  return yield* exists(compiler, narrowed);
}

function withFilters(state: QueryState, filters: Record<string, unknown>): QueryState {
  return { ...state, where: [...state.where, { negated: false, filters: parseFilters(state.meta, filters), source: filters }] };
}

function orderedOrByPk(state: QueryState): QueryState {
  return state.order.length > 0 ? state : { ...state, order: [{ column: state.meta.pkColumn, descending: false }] };
}

export function* first(compiler: SqlCompiler, state: QueryState): Op<unknown> {
  const found = yield* fetch(compiler, orderedOrByPk(state), { limit: 1 });
  return found[0] ?? null;
}

export function* last(compiler: SqlCompiler, state: QueryState): Op<unknown> {
  const found = yield* fetch(compiler, orderedOrByPk(state), { limit: 1, reverse: true });
  return found[0] ?? null;
}

export function* latest(compiler: SqlCompiler, state: QueryState, fieldKeys: readonly string[], reverse: boolean): Op<unknown> {
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
  const name = state.meta.resolveFieldName(fieldName, `inBulk(…, { fieldName: '${fieldName}' })`);
  const result = new Map<unknown, unknown>();
  const attname = state.meta.attname(name);
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
}

export function* aggregate(compiler: SqlCompiler, state: QueryState, specs: Readonly<Record<string, AggregateSpec>>): Op<Record<string, unknown>> {
  const meta = state.meta;
  const entries = Object.entries(specs);
  if (entries.length === 0) throw new TypeError(`${meta.name}: aggregate() needs at least one aggregate, e.g. { n: Count('id') }`);
  const resolved = entries.map(([alias, spec]) => {
    const name = spec.field === '*' ? null : meta.resolveFieldName(spec.field, `aggregate(${spec.fn}('${spec.field}'))`);
    return { alias, fn: spec.fn, column: name === null ? null : meta.columns.get(name)!, distinct: spec.distinct, field: name === null ? null : meta.fieldOf(name) };
  });
  const row = (yield* oneRow(compiler.aggregate(state, resolved))) ?? {};
  const out: Record<string, unknown> = {};
  for (const { alias, fn, field } of resolved) {
    const value = row[alias] ?? null;
    if (value === null) out[alias] = fn === 'COUNT' ? 0 : null;
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

function* insertInstances(compiler: SqlCompiler, meta: ModelMeta, instances: readonly InstanceLike[]): Op<void> {
  if (instances.length === 0) return;
  const prepared = instances.map((instance) => insertRow(meta, instance));
  const columns = prepared[0]!.columns;
  const sameShape = prepared.every((row) => row.columns.length === columns.length && row.columns.every((c, i) => c === columns[i]));
  const groups = sameShape ? [prepared.map((row, index) => ({ row, index }))] : prepared.map((row, index) => [{ row, index }]);
  for (const group of groups) {
    const returned = yield* allRows(compiler.insert(meta, group[0]!.row.columns, group.map(({ row }) => row.values)));
    // Auto ids of one INSERT ascend in row order.
    const ids = returned.map((row) => meta.fieldOf(meta.pkName).fromDb(row[meta.pkColumn])).sort((a, b) => Number(a) - Number(b));
    group.forEach(({ index }, position) => {
      const instance = instances[index]!;
      if (instance.pk === null || instance.pk === undefined) instance[meta.pkName] = ids[position];
    });
  }
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

export function* getOrCreate(compiler: SqlCompiler, state: QueryState, lookup: Record<string, unknown>, defaults: Record<string, unknown>): Op<[unknown, boolean]> {
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

export function* updateOrCreate(compiler: SqlCompiler, state: QueryState, lookup: Record<string, unknown>, defaults: Record<string, unknown>): Op<[unknown, boolean]> {
  return yield* atomically(
    (function* (): Op<[unknown, boolean]> {
      const [instance, created] = (yield* getOrCreate(compiler, state, lookup, defaults)) as [InstanceLike, boolean];
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

export function* bulkCreate(compiler: SqlCompiler, meta: ModelMeta, objects: readonly unknown[], batchSize: number | undefined, alias: string): Op<InstanceLike[]> {
  const instances = objects.map((object) => (isModelInstance(object) ? (object as unknown as InstanceLike) : hooks.build(meta, object as Record<string, unknown>, alias)));
  const size = batchSize ?? Math.max(1, Math.floor(900 / Math.max(1, meta.fields.size)));
  const batches = chunks(instances, size);
  const insertAll = function* (): Op<void> {
    for (const batch of batches) yield* insertInstances(compiler, meta, batch);
  };
  if (batches.length > 1) yield* atomically(insertAll());
  else yield* insertAll();
  return instances;
}

export function* bulkUpdate(compiler: SqlCompiler, meta: ModelMeta, objects: readonly unknown[], fieldNames: readonly string[], batchSize: number | undefined): Op<number> {
  if (fieldNames.length === 0) throw new FieldError(`${meta.name}: bulkUpdate() needs the names of the fields to update`);
  const names = fieldNames.map((key) => meta.resolveFieldName(key, `bulkUpdate(…, ['${key}'])`));
  if (names.includes(meta.pkName)) throw new FieldError(`${meta.name}: bulkUpdate() cannot update the primary key`);
  const instances = objects as InstanceLike[];
  for (const instance of instances) {
    if (!isModelInstance(instance) || instance.pk === null || instance.pk === undefined) {
      throw new TypeError(`${meta.name}: bulkUpdate() needs saved ${meta.name} instances`);
    }
  }
  const columns = names.map((name) => meta.columns.get(name)!);
  const pkField = meta.fieldOf(meta.pkName);
  const size = batchSize ?? Math.max(1, Math.floor(900 / (names.length * 2 + 1)));
  const batches = chunks(instances, size);
  const updateAll = function* (): Op<number> {
    let updated = 0;
    for (const batch of batches) {
      const rows = batch.map((instance) => ({
        pk: pkField.toDb(instance.pk),
        values: names.map((name) => meta.fieldOf(name).toDb(instance[meta.attname(name)])),
      }));
      updated += (yield* runStatement(compiler.bulkUpdate(meta, columns, rows))).changes;
    }
    return updated;
  };
  return batches.length > 1 ? yield* atomically(updateAll()) : yield* updateAll();
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
    return [meta.columns.get(name)!, meta.fieldOf(name).toDb(isModelInstance(value) ? value.pk : value)] as const;
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
  if (instance.pk === null || instance.pk === undefined) {
    yield* insertInstances(compiler, meta, [instance]);
    return;
  }
  const names = (updateFields ?? [...meta.fields.keys()])
    .map((key) => meta.resolveFieldName(key, `save({ updateFields: ['${key}'] })`))
    .filter((name) => name !== meta.pkName);
  const state = pkState(meta, instance.pk);
  if (names.length > 0) {
    const assignments = names.map((name) => [meta.columns.get(name)!, meta.fieldOf(name).toDb(instance[meta.attname(name)])] as const);
    const { changes } = yield* runStatement(compiler.update(state, assignments));
    if (changes > 0 || updateFields) return;
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

export function* refreshFromDb(compiler: SqlCompiler, meta: ModelMeta, instance: InstanceLike): Op<void> {
  const state = pkState(meta, instance.pk);
  const fresh = (yield* get(compiler, state)) as InstanceLike;
  for (const name of meta.fields.keys()) {
    const attname = meta.attname(name);
    instance[attname] = fresh[attname];
  }
}

export function* rawStatements(statements: readonly Statement[]): Op<void> {
  for (const statement of statements) yield* runStatement(statement);
}
