import { databaseSettings } from '../config.js';
import { FieldError } from '../errors.js';
import { OPTIONS, checkOptions } from '../options.js';
import { runAsync, runSync } from '../shim.js';
import type { CallTarget } from '../shim.js';
import { SqlCompiler, parseFilters, parseOrder } from './compiler.js';
import type { QueryState } from './compiler.js';
import { postgresDialect, sqliteDialect } from './dialect.js';
import type { DefaultValues, FieldMap, Filters, ForeignKeyNames, ModelInstance, ModelValues, OrderKey } from './model-types.js';
import * as ops from './ops.js';
import type { AggregateFunction, AggregateSpec, DeleteResult, InstanceLike, Op } from './ops.js';
import type { ModelMeta } from './meta.js';

const compilers = { sqlite: new SqlCompiler(sqliteDialect), postgres: new SqlCompiler(postgresDialect) } as const;

export function compilerFor(alias: string): SqlCompiler {
  return compilers[databaseSettings(alias).engine];
}

export interface AggregateOptions {
  /** Aggregate distinct values (Count, Sum, Avg; Django's distinct=True). */
  distinct?: boolean;
  /** The result when there are no rows instead of null (Sum, Avg, Min, Max; Django 4.0's default=). */
  default?: unknown;
}

function aggregateFactory(fn: AggregateFunction, name: string) {
  return (field = '*', options?: AggregateOptions): AggregateSpec => {
    checkOptions(options, OPTIONS.aggregate, name);
    const distinct = options?.distinct ?? false;
    if (typeof distinct !== 'boolean') throw new TypeError(`${name}(): distinct must be true or false`);
    // As Django's Aggregate.allow_distinct and Count's "does not allow default".
    if (distinct && (fn === 'MIN' || fn === 'MAX')) throw new TypeError(`${name} does not allow distinct.`);
    if (options?.default !== undefined && fn === 'COUNT') throw new TypeError(`${name} does not allow default.`);
    return options?.default === undefined ? { fn, field, distinct } : { fn, field, distinct, default: options.default };
  };
}
/** Aggregates for aggregate(): `qs.aggregate({ total: Sum('votes') })` or `qs.aggregate(Sum('votes'))` → `{ votes__sum }`. */
export const Count = aggregateFactory('COUNT', 'Count');
export const Sum = aggregateFactory('SUM', 'Sum');
export const Avg = aggregateFactory('AVG', 'Avg');
export const Min = aggregateFactory('MIN', 'Min');
export const Max = aggregateFactory('MAX', 'Max');

function isAggregateSpec(value: unknown): value is AggregateSpec {
  return typeof value === 'object' && value !== null && 'fn' in value && 'field' in value;
}

/**
 * A lazy, immutable query. Chain filter()/exclude()/orderBy()/limit()/offset()/values(); run it
 * with a terminal method: sync (`count()`) outside newConnection() blocks, async (`acount()`) inside.
 */
export class QuerySet<FM extends FieldMap, R = ModelInstance<FM>> implements Iterable<R>, AsyncIterable<R> {
  constructor(readonly state: QueryState) {}

  protected derive<R2 = R>(changes: Partial<QueryState>): QuerySet<FM, R2> {
    return new QuerySet<FM, R2>({ ...this.state, ...changes });
  }

  /** `Question.objects`, for messages. */
  private get owner(): string {
    return `${this.state.meta.name}.objects`;
  }

  private target(method: string): CallTarget {
    return { alias: this.state.alias, model: this.state.meta.name, method };
  }

  private sync<T>(method: string, build: (compiler: SqlCompiler) => Op<T>): T {
    return runSync(this.target(method), build(compilerFor(this.state.alias)));
  }

  private async_<T>(method: string, build: (compiler: SqlCompiler) => Op<T>): Promise<T> {
    let op: Op<T>;
    try {
      op = build(compilerFor(this.state.alias));
    } catch (error) {
      return Promise.reject(error);
    }
    return runAsync(this.target(method), op);
  }

  // --- building -------------------------------------------------------------------------------

  all(): QuerySet<FM, R> {
    return this.derive({});
  }

  filter(filters: Filters<FM>): QuerySet<FM, R> {
    return this.narrow(filters, false, 'filter');
  }

  exclude(filters: Filters<FM>): QuerySet<FM, R> {
    return this.narrow(filters, true, 'exclude');
  }

  /** Django refuses to filter a slice ("Cannot filter a query once a slice has been taken."); filter({}) is fine. */
  private narrow(filters: Filters<FM>, negated: boolean, method: string): QuerySet<FM, R> {
    const parsed = parseFilters(this.state.meta, filters);
    if (parsed.length > 0) ops.assertNotSlicedFor(this.state, method, 'filter');
    return this.derive({ where: [...this.state.where, { negated, filters: parsed, source: filters }] });
  }

  /** Replaces the order (none: unordered). Django refuses to reorder a slice, even with no keys. */
  orderBy(...keys: OrderKey<FM>[]): QuerySet<FM, R> {
    ops.assertNotSlicedFor(this.state, 'orderBy', 'reorder');
    return this.derive({ order: parseOrder(this.state.meta, keys) });
  }

  limit(count: number): QuerySet<FM, R> {
    if (!Number.isInteger(count) || count < 0) throw new FieldError(`${this.state.meta.name}: limit() needs an integer >= 0 (got ${count})`);
    return this.derive({ limit: count });
  }

  offset(count: number): QuerySet<FM, R> {
    if (!Number.isInteger(count) || count < 0) throw new FieldError(`${this.state.meta.name}: offset() needs an integer >= 0 (got ${count})`);
    return this.derive({ offset: count });
  }

  /** Rows as plain objects with these fields (all fields when none are named). */
  values(...fieldNames: Array<(keyof FM & string) | 'pk' | `${ForeignKeyNames<FM>}Id`>): QuerySet<FM, Record<string, unknown>> {
    const meta = this.state.meta;
    if (fieldNames.length === 0) return this.derive({ values: [...meta.fields.keys()], valueKeys: undefined });
    const names = fieldNames.map((name) => meta.resolveFieldName(name, `values('${name}')`));
    return this.derive({ values: names, valueKeys: fieldNames });
  }

  /** The same query on another database alias. */
  using(alias: string): QuerySet<FM, R> {
    databaseSettings(alias);
    return this.derive({ alias });
  }

  // --- terminal methods: sync, then the async twin --------------------------------------------

  get(filters?: Filters<FM>): R {
    const qs = filters ? this.narrow(filters, false, 'get') : this;
    return this.sync('get', (c) => ops.get(c, qs.state)) as R;
  }
  aget(filters?: Filters<FM>): Promise<R> {
    try {
      const qs = filters ? this.narrow(filters, false, 'aget') : this;
      return this.async_('aget', (c) => ops.get(c, qs.state)) as Promise<R>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  create(values: ModelValues<FM>): ModelInstance<FM> {
    return this.sync('create', (c) => ops.create(c, this.state.meta, values, this.state.alias)) as ModelInstance<FM>;
  }
  acreate(values: ModelValues<FM>): Promise<ModelInstance<FM>> {
    return this.async_('acreate', (c) => ops.create(c, this.state.meta, values, this.state.alias)) as Promise<ModelInstance<FM>>;
  }

  getOrCreate(lookup: Filters<FM>, defaults: DefaultValues<FM> = {}): [ModelInstance<FM>, boolean] {
    return this.sync('getOrCreate', (c) => ops.getOrCreate(c, this.state, lookup, defaults)) as [ModelInstance<FM>, boolean];
  }
  agetOrCreate(lookup: Filters<FM>, defaults: DefaultValues<FM> = {}): Promise<[ModelInstance<FM>, boolean]> {
    return this.async_('agetOrCreate', (c) => ops.getOrCreate(c, this.state, lookup, defaults)) as Promise<[ModelInstance<FM>, boolean]>;
  }

  /** Updates the row `lookup` finds with `defaults`, or creates it with `createDefaults` (default: `defaults`). */
  updateOrCreate(lookup: Filters<FM>, defaults: DefaultValues<FM> = {}, options?: UpdateOrCreateOptions<FM>): [ModelInstance<FM>, boolean] {
    return this.sync('updateOrCreate', (c) => {
      checkOptions(options, OPTIONS.updateOrCreate, 'updateOrCreate', this.owner);
      return ops.updateOrCreate(c, this.state, lookup, defaults, options?.createDefaults);
    }) as [ModelInstance<FM>, boolean];
  }
  aupdateOrCreate(lookup: Filters<FM>, defaults: DefaultValues<FM> = {}, options?: UpdateOrCreateOptions<FM>): Promise<[ModelInstance<FM>, boolean]> {
    return this.async_('aupdateOrCreate', (c) => {
      checkOptions(options, OPTIONS.updateOrCreate, 'aupdateOrCreate', this.owner);
      return ops.updateOrCreate(c, this.state, lookup, defaults, options?.createDefaults);
    }) as Promise<[ModelInstance<FM>, boolean]>;
  }

  bulkCreate(objects: ReadonlyArray<ModelInstance<FM> | ModelValues<FM>>, options?: BatchOptions): ModelInstance<FM>[] {
    return this.sync('bulkCreate', (c) => {
      checkOptions(options, OPTIONS.bulkCreate, 'bulkCreate', this.owner);
      return ops.bulkCreate(c, this.state.meta, objects, options?.batchSize, this.state.alias);
    }) as ModelInstance<FM>[];
  }
  abulkCreate(objects: ReadonlyArray<ModelInstance<FM> | ModelValues<FM>>, options?: BatchOptions): Promise<ModelInstance<FM>[]> {
    return this.async_('abulkCreate', (c) => {
      checkOptions(options, OPTIONS.bulkCreate, 'abulkCreate', this.owner);
      return ops.bulkCreate(c, this.state.meta, objects, options?.batchSize, this.state.alias);
    }) as Promise<ModelInstance<FM>[]>;
  }

  /** Sets `fieldNames` of each instance, in as few UPDATEs as the batch size allows; returns how many rows matched. */
  bulkUpdate(objects: ReadonlyArray<ModelInstance<FM>>, fieldNames: ReadonlyArray<keyof FM & string>, options?: BatchOptions): number {
    return this.sync('bulkUpdate', (c) => {
      checkOptions(options, OPTIONS.bulkUpdate, 'bulkUpdate', this.owner);
      return ops.bulkUpdate(c, this.state, objects, fieldNames, options?.batchSize);
    });
  }
  abulkUpdate(objects: ReadonlyArray<ModelInstance<FM>>, fieldNames: ReadonlyArray<keyof FM & string>, options?: BatchOptions): Promise<number> {
    return this.async_('abulkUpdate', (c) => {
      checkOptions(options, OPTIONS.bulkUpdate, 'abulkUpdate', this.owner);
      return ops.bulkUpdate(c, this.state, objects, fieldNames, options?.batchSize);
    });
  }

  count(): number {
    return this.sync('count', (c) => ops.count(c, this.state));
  }
  acount(): Promise<number> {
    return this.async_('acount', (c) => ops.count(c, this.state));
  }

  /** A Map from each value of `fieldName` (default pk; else a unique field) to its object; only `ids` when given. */
  inBulk(ids?: readonly unknown[], options?: InBulkOptions<FM>): Map<unknown, R> {
    return this.sync('inBulk', (c) => {
      checkOptions(options, OPTIONS.inBulk, 'inBulk', this.owner);
      return ops.inBulk(c, this.state, ids, options?.fieldName ?? 'pk');
    }) as Map<unknown, R>;
  }
  ainBulk(ids?: readonly unknown[], options?: InBulkOptions<FM>): Promise<Map<unknown, R>> {
    return this.async_('ainBulk', (c) => {
      checkOptions(options, OPTIONS.inBulk, 'ainBulk', this.owner);
      return ops.inBulk(c, this.state, ids, options?.fieldName ?? 'pk');
    }) as Promise<Map<unknown, R>>;
  }

  /** Every result. The rows are read in one statement, so other queries may run while you loop. */
  iterator(options?: Record<string, never>): IterableIterator<R> {
    const rows = this.sync('iterator', (c) => {
      checkOptions(options, OPTIONS.iterator, 'iterator', this.owner);
      return ops.fetch(c, this.state);
    }) as R[];
    return rows[Symbol.iterator]();
  }
  aiterator(options?: Record<string, never>): AsyncIterableIterator<R> {
    const rows = this.async_('aiterator', (c) => {
      checkOptions(options, OPTIONS.iterator, 'aiterator', this.owner);
      return ops.fetch(c, this.state);
    }) as Promise<R[]>;
    rows.catch(() => undefined); // surfaced by the first next()
    return (async function* () {
      yield* await rows;
    })();
  }
  [Symbol.iterator](): Iterator<R> {
    return this.iterator();
  }
  [Symbol.asyncIterator](): AsyncIterator<R> {
    return this.aiterator();
  }

  latest(...fieldKeys: OrderKey<FM>[]): R {
    return this.sync('latest', (c) => ops.latest(c, this.state, fieldKeys, false)) as R;
  }
  alatest(...fieldKeys: OrderKey<FM>[]): Promise<R> {
    return this.async_('alatest', (c) => ops.latest(c, this.state, fieldKeys, false)) as Promise<R>;
  }

  earliest(...fieldKeys: OrderKey<FM>[]): R {
    return this.sync('earliest', (c) => ops.latest(c, this.state, fieldKeys, true)) as R;
  }
  aearliest(...fieldKeys: OrderKey<FM>[]): Promise<R> {
    return this.async_('aearliest', (c) => ops.latest(c, this.state, fieldKeys, true)) as Promise<R>;
  }

  first(): R | null {
    return this.sync('first', (c) => ops.first(c, this.state)) as R | null;
  }
  afirst(): Promise<R | null> {
    return this.async_('afirst', (c) => ops.first(c, this.state)) as Promise<R | null>;
  }

  last(): R | null {
    return this.sync('last', (c) => ops.last(c, this.state)) as R | null;
  }
  alast(): Promise<R | null> {
    return this.async_('alast', (c) => ops.last(c, this.state)) as Promise<R | null>;
  }

  aggregate(...specs: Array<AggregateSpec | Record<string, AggregateSpec>>): Record<string, unknown> {
    return this.sync('aggregate', (c) => ops.aggregate(c, this.state, namedAggregates(specs)));
  }
  aaggregate(...specs: Array<AggregateSpec | Record<string, AggregateSpec>>): Promise<Record<string, unknown>> {
    return this.async_('aaggregate', (c) => ops.aggregate(c, this.state, namedAggregates(specs)));
  }

  exists(): boolean {
    return this.sync('exists', (c) => ops.exists(c, this.state));
  }
  aexists(): Promise<boolean> {
    return this.async_('aexists', (c) => ops.exists(c, this.state));
  }

  contains(instance: ModelInstance<FM>): boolean {
    return this.sync('contains', (c) => ops.contains(c, this.state, instance));
  }
  acontains(instance: ModelInstance<FM>): Promise<boolean> {
    return this.async_('acontains', (c) => ops.contains(c, this.state, instance));
  }

  /** UPDATE the selected rows; returns how many matched. */
  update(values: ModelValues<FM>): number {
    return this.sync('update', (c) => ops.update(c, this.state, values));
  }
  aupdate(values: ModelValues<FM>): Promise<number> {
    return this.async_('aupdate', (c) => ops.update(c, this.state, values));
  }

  /** DELETE the selected rows, cascading like the foreign keys say; returns [total, per model]. */
  delete(): DeleteResult {
    return this.sync('delete', (c) => ops.deleteQuery(c, this.state));
  }
  adelete(): Promise<DeleteResult> {
    return this.async_('adelete', (c) => ops.deleteQuery(c, this.state));
  }

  explain(options?: Record<string, never>): string {
    return this.sync('explain', (c) => {
      checkOptions(options, OPTIONS.explain, 'explain', this.owner);
      return ops.explain(c, this.state);
    });
  }
  aexplain(options?: Record<string, never>): Promise<string> {
    return this.async_('aexplain', (c) => {
      checkOptions(options, OPTIONS.explain, 'aexplain', this.owner);
      return ops.explain(c, this.state);
    });
  }
}

function namedAggregates(specs: ReadonlyArray<AggregateSpec | Record<string, AggregateSpec>>): Record<string, AggregateSpec> {
  const named: Record<string, AggregateSpec> = {};
  // Two aggregates under one name would silently lose one (Django: "conflicts with the default name").
  const add = (alias: string, spec: AggregateSpec) => {
    if (Object.hasOwn(named, alias)) throw new TypeError(`aggregate(): two aggregates are named '${alias}'; name them: aggregate({ a: …, b: … })`);
    named[alias] = spec;
  };
  for (const spec of specs) {
    if (isAggregateSpec(spec)) {
      add(`${spec.field === '*' ? 'all' : spec.field}__${spec.fn.toLowerCase()}`, spec);
      continue;
    }
    if (typeof spec !== 'object' || spec === null) throw new TypeError(`aggregate(): ${String(spec)} is not an aggregate; use Count/Sum/Avg/Min/Max(...)`);
    for (const [alias, value] of Object.entries(spec)) {
      if (!isAggregateSpec(value)) throw new TypeError(`aggregate(): '${alias}' is not an aggregate; use Count/Sum/Avg/Min/Max(...)`);
      add(alias, value);
    }
  }
  return named;
}

export interface BatchOptions {
  /** Rows per statement (a positive integer); the default and the cap keep each statement under the engines' parameter limits. */
  batchSize?: number;
}

export interface InBulkOptions<FM> {
  /** The pk (default) or a unique field. */
  fieldName?: (keyof FM & string) | 'pk';
}

export interface UpdateOrCreateOptions<FM> {
  /** The values to create with, instead of `defaults` (Django 5.0's create_defaults). */
  createDefaults?: DefaultValues<FM>;
}

/** `Model.objects`: the QuerySet of every row, on the default alias. */
export class Manager<FM extends FieldMap> extends QuerySet<FM> {}

export interface RefreshOptions {
  /** Reload only these fields. */
  fields?: readonly string[];
  /** Reload through this queryset of the model (Django 5.1's from_queryset), on its alias. */
  fromQueryset?: QuerySet<FieldMap, unknown>;
}

/** What refreshFromDb()/arefreshFromDb() run, and where: the instance's alias, or fromQueryset's. */
export function refreshPlan(meta: ModelMeta, instance: InstanceLike, alias: string, options: RefreshOptions | undefined, method: string): { target: CallTarget; op: Op<void> } {
  checkOptions(options, OPTIONS.refreshFromDb, method, meta.name);
  const from = options?.fromQueryset;
  if (from !== undefined && !(from instanceof QuerySet && from.state.meta === meta)) {
    throw new TypeError(`${meta.name}.${method}(): fromQueryset must be a queryset of ${meta.name}, such as ${meta.name}.objects.filter({ … })`);
  }
  const state: QueryState = from ? from.state : { meta, alias, where: [], order: [], limit: null, offset: 0, values: null };
  return { target: { alias: state.alias, model: meta.name, method }, op: ops.refreshFromDb(compilerFor(state.alias), state, instance, options?.fields) };
}
