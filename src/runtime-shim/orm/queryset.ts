import { databaseSettings } from '../config.js';
import { FieldError } from '../errors.js';
import { runAsync, runSync } from '../shim.js';
import type { CallTarget } from '../shim.js';
import { SqlCompiler, parseFilters, parseOrder } from './compiler.js';
import type { QueryState } from './compiler.js';
import { postgresDialect, sqliteDialect } from './dialect.js';
import type { DefaultValues, FieldMap, Filters, ModelInstance, ModelValues, OrderKey } from './model-types.js';
import * as ops from './ops.js';
import type { AggregateFunction, AggregateSpec, DeleteResult, Op } from './ops.js';

const compilers = { sqlite: new SqlCompiler(sqliteDialect), postgres: new SqlCompiler(postgresDialect) } as const;

export function compilerFor(alias: string): SqlCompiler {
  return compilers[databaseSettings(alias).engine];
}

function aggregateFactory(fn: AggregateFunction) {
  return (field = '*', options: { distinct?: boolean } = {}): AggregateSpec => ({ fn, field, distinct: options.distinct ?? false });
}
/** Aggregates for aggregate(): `qs.aggregate({ total: Sum('votes') })` or `qs.aggregate(Sum('votes'))` → `{ votes__sum }`. */
export const Count = aggregateFactory('COUNT');
export const Sum = aggregateFactory('SUM');
export const Avg = aggregateFactory('AVG');
export const Min = aggregateFactory('MIN');
export const Max = aggregateFactory('MAX');

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
    return this.derive({ where: [...this.state.where, { negated: false, filters: parseFilters(this.state.meta, filters), source: filters }] });
  }

  exclude(filters: Filters<FM>): QuerySet<FM, R> {
    return this.derive({ where: [...this.state.where, { negated: true, filters: parseFilters(this.state.meta, filters), source: filters }] });
  }

  orderBy(...keys: OrderKey<FM>[]): QuerySet<FM, R> {
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
  values(...fieldNames: Array<keyof FM & string | 'pk'>): QuerySet<FM, Record<string, unknown>> {
    const meta = this.state.meta;
    const names = fieldNames.length === 0 ? [...meta.fields.keys()] : fieldNames.map((name) => meta.resolveFieldName(name, `values('${name}')`));
    return this.derive({ values: names });
  }

  /** The same query on another database alias. */
  using(alias: string): QuerySet<FM, R> {
    databaseSettings(alias);
    return this.derive({ alias });
  }

  // --- terminal methods: sync, then the async twin --------------------------------------------

  get(filters?: Filters<FM>): R {
    const qs = filters ? this.filter(filters) : this;
    return this.sync('get', (c) => ops.get(c, qs.state)) as R;
  }
  aget(filters?: Filters<FM>): Promise<R> {
    try {
      const qs = filters ? this.filter(filters) : this;
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

  updateOrCreate(lookup: Filters<FM>, defaults: DefaultValues<FM> = {}): [ModelInstance<FM>, boolean] {
    return this.sync('updateOrCreate', (c) => ops.updateOrCreate(c, this.state, lookup, defaults)) as [ModelInstance<FM>, boolean];
  }
  aupdateOrCreate(lookup: Filters<FM>, defaults: DefaultValues<FM> = {}): Promise<[ModelInstance<FM>, boolean]> {
    return this.async_('aupdateOrCreate', (c) => ops.updateOrCreate(c, this.state, lookup, defaults)) as Promise<[ModelInstance<FM>, boolean]>;
  }

  bulkCreate(objects: ReadonlyArray<ModelInstance<FM> | ModelValues<FM>>, options: { batchSize?: number } = {}): ModelInstance<FM>[] {
    return this.sync('bulkCreate', (c) => ops.bulkCreate(c, this.state.meta, objects, options.batchSize, this.state.alias)) as ModelInstance<FM>[];
  }
  abulkCreate(objects: ReadonlyArray<ModelInstance<FM> | ModelValues<FM>>, options: { batchSize?: number } = {}): Promise<ModelInstance<FM>[]> {
    return this.async_('abulkCreate', (c) => ops.bulkCreate(c, this.state.meta, objects, options.batchSize, this.state.alias)) as Promise<ModelInstance<FM>[]>;
  }

  bulkUpdate(objects: ReadonlyArray<ModelInstance<FM>>, fieldNames: ReadonlyArray<keyof FM & string>, options: { batchSize?: number } = {}): number {
    return this.sync('bulkUpdate', (c) => ops.bulkUpdate(c, this.state.meta, objects, fieldNames, options.batchSize));
  }
  abulkUpdate(objects: ReadonlyArray<ModelInstance<FM>>, fieldNames: ReadonlyArray<keyof FM & string>, options: { batchSize?: number } = {}): Promise<number> {
    return this.async_('abulkUpdate', (c) => ops.bulkUpdate(c, this.state.meta, objects, fieldNames, options.batchSize));
  }

  count(): number {
    return this.sync('count', (c) => ops.count(c, this.state));
  }
  acount(): Promise<number> {
    return this.async_('acount', (c) => ops.count(c, this.state));
  }

  /** A Map from each value of `fieldName` (default pk) to its object; only `ids` when given. */
  inBulk(ids?: readonly unknown[], options: { fieldName?: string } = {}): Map<unknown, R> {
    return this.sync('inBulk', (c) => ops.inBulk(c, this.state, ids, options.fieldName ?? 'pk')) as Map<unknown, R>;
  }
  ainBulk(ids?: readonly unknown[], options: { fieldName?: string } = {}): Promise<Map<unknown, R>> {
    return this.async_('ainBulk', (c) => ops.inBulk(c, this.state, ids, options.fieldName ?? 'pk')) as Promise<Map<unknown, R>>;
  }

  /** Every result. The rows are read in one statement, so other queries may run while you loop. */
  iterator(): IterableIterator<R> {
    const rows = this.sync('iterator', (c) => ops.fetch(c, this.state)) as R[];
    return rows[Symbol.iterator]();
  }
  aiterator(): AsyncIterableIterator<R> {
    const rows = this.async_('aiterator', (c) => ops.fetch(c, this.state)) as Promise<R[]>;
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

  explain(): string {
    return this.sync('explain', (c) => ops.explain(c, this.state));
  }
  aexplain(): Promise<string> {
    return this.async_('aexplain', (c) => ops.explain(c, this.state));
  }
}

function namedAggregates(specs: ReadonlyArray<AggregateSpec | Record<string, AggregateSpec>>): Record<string, AggregateSpec> {
  const named: Record<string, AggregateSpec> = {};
  for (const spec of specs) {
    if (isAggregateSpec(spec)) named[`${spec.field === '*' ? 'all' : spec.field}__${spec.fn.toLowerCase()}`] = spec;
    else Object.assign(named, spec);
  }
  return named;
}

/** `Model.objects`: the QuerySet of every row, on the default alias. */
export class Manager<FM extends FieldMap> extends QuerySet<FM> {}
