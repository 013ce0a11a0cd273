import type { SqlValue, Statement } from '../backends/types.js';
import { FieldError } from '../errors.js';
import { ForeignKeyField } from './fields.js';
import type { Field } from './fields.js';
import type { Dialect } from './dialect.js';
import { Params } from './dialect.js';
import { isModelInstance } from './marker.js';
import type { ModelMeta } from './meta.js';
import type { Lookup } from './model-types.js';

export const LOOKUPS: readonly Lookup[] = [
  'exact', 'iexact', 'lt', 'lte', 'gt', 'gte', 'in', 'contains', 'icontains', 'startswith', 'endswith', 'isnull', 'range',
];

/** One `key: value` of a filter, resolved against the model. */
export interface ParsedFilter {
  field: Field;
  column: string;
  lookup: Lookup;
  value: unknown;
  /** Set when the key follows a foreign key: the condition applies to the related table. */
  through?: { fkColumn: string; fkNullable: boolean; target: ModelMeta };
}

/** The filters of one filter()/exclude() call: ANDed, and negated for exclude(). */
export interface WhereGroup {
  negated: boolean;
  filters: ParsedFilter[];
  /** The filters as the user wrote them, for error messages. */
  source: Readonly<Record<string, unknown>>;
}

export interface OrderTerm {
  column: string;
  descending: boolean;
}

/** An immutable description of a query; QuerySet methods make new states. */
export interface QueryState {
  readonly meta: ModelMeta;
  readonly alias: string;
  readonly where: readonly WhereGroup[];
  readonly order: readonly OrderTerm[];
  readonly limit: number | null;
  readonly offset: number;
  /** Field names for values(), or null for instances. */
  readonly values: readonly string[] | null;
  /** The keys of values() rows, as the fields were named (Django: values('question') → { question }); else attnames. */
  readonly valueKeys?: readonly string[] | undefined;
  /** SELECT … FOR UPDATE where the engine has row locks (PostgreSQL); SQLite's BEGIN IMMEDIATE already locks. */
  readonly forUpdate?: boolean;
}

/** Whether `name` is a field of `meta` (or `pk`, or `<fk>Id`): Django resolves fields before lookups. */
function isFieldName(meta: ModelMeta, name: string): boolean {
  return name === 'pk' || meta.fields.has(name) || (name.endsWith('Id') && meta.foreignKeys.has(name.slice(0, -2)));
}

/** The ModelMeta of a model instance (undefined for anything else). */
export function metaOf(value: unknown): ModelMeta | undefined {
  return isModelInstance(value) ? (value.constructor as { meta?: ModelMeta }).meta : undefined;
}

/**
 * A model instance given for a foreign key or a primary key (`field` of `owner`) stands for its
 * key; it must be saved and of the right model (Django: "Model instances passed to related
 * filters must be saved"; "update() prohibited to prevent data loss due to unsaved related object").
 */
export function keyValue(meta: ModelMeta, key: string, field: Field, owner: ModelMeta, value: unknown): unknown {
  if (!isModelInstance(value)) return value;
  const given = metaOf(value)?.name ?? 'model';
  const expected = field instanceof ForeignKeyField ? field.target().meta : field.isPrimaryKey ? owner : undefined;
  if (expected === undefined) throw new FieldError(`${meta.name}: '${key}' is a ${field.kind} field and cannot take a ${given} instance`);
  if (metaOf(value) !== expected) throw new FieldError(`${meta.name}: '${key}' must be a ${expected.name} instance or key, not a ${given} instance`);
  if (value.pk === null || value.pk === undefined) {
    throw new FieldError(`${meta.name}: '${key}' was given an unsaved ${expected.name}; save it first (it has no primary key yet)`);
  }
  return value.pk;
}

function describeValue(value: unknown): string {
  return value === null ? 'null' : typeof value === 'string' ? `'${value}'` : typeof value === 'object' ? (value.constructor?.name ?? 'object') : String(value);
}

/** Checks a lookup's value and normalizes it (`exact: null` → `isnull: true`, nulls out of `in`). */
function lookupValue(meta: ModelMeta, key: string, lookup: Lookup, field: Field, owner: ModelMeta, value: unknown): [Lookup, unknown] {
  if (value === undefined) throw new FieldError(`${meta.name}: the value for '${key}' is undefined`);
  switch (lookup) {
    case 'isnull':
      if (typeof value !== 'boolean') {
        throw new FieldError(`${meta.name}: the value for an isnull lookup must be true or false ('${key}' got ${describeValue(value)})`);
      }
      return [lookup, value];
    case 'in': {
      const items = value instanceof Set ? [...value] : value;
      if (!Array.isArray(items)) throw new FieldError(`${meta.name}: '${key}' needs an array`);
      // NULL is never equal to anything, and `x NOT IN (…, NULL)` is never true: Django drops None from In.
      const kept: unknown[] = [];
      for (const item of items) if (item !== null && item !== undefined) kept.push(keyValue(meta, key, field, owner, item));
      return [lookup, kept];
    }
    case 'range':
      if (!(Array.isArray(value) && value.length === 2)) throw new FieldError(`${meta.name}: '${key}' needs a [low, high] pair`);
      if (value[0] === null || value[0] === undefined || value[1] === null || value[1] === undefined) {
        throw new FieldError(`${meta.name}: '${key}' cannot compare with null or undefined`);
      }
      return [lookup, [keyValue(meta, key, field, owner, value[0]), keyValue(meta, key, field, owner, value[1])]];
    case 'exact':
    case 'iexact':
      if (value === null) return ['isnull', true]; // Django: __exact=None is IS NULL
      return [lookup, keyValue(meta, key, field, owner, value)];
    default:
      if (value === null) throw new FieldError(`${meta.name}: '${key}' cannot compare with null; use '__isnull: true'`);
      return [lookup, keyValue(meta, key, field, owner, value)];
  }
}

const LOOKUP_SET: ReadonlySet<string> = new Set(LOOKUPS);

/** Parses `{ questionText__startswith: 'What', question__pubDate__gt: d }` against a model. */
export function parseFilters(meta: ModelMeta, filters: Record<string, unknown>): ParsedFilter[] {
  if (typeof filters !== 'object' || filters === null || Array.isArray(filters)) {
    throw new FieldError(`${meta.name}: filters must be an object such as { pk: 1 }`);
  }
  const parsed: ParsedFilter[] = [];
  for (const [key, rawValue] of Object.entries(filters)) {
    const parts = key.split('__');
    const fieldName = meta.resolveFieldName(parts[0]!, `'${key}'`);
    const field = meta.fieldOf(fieldName);
    let rest = parts.slice(1);
    let through: ParsedFilter['through'];
    let target = meta;
    let targetField = field;
    let column = meta.columns.get(fieldName)!;
    // fk__name: a field of the related model when it has one, else a lookup on the key (<fk>Id__x is always a lookup).
    if (field instanceof ForeignKeyField && parts[0] === fieldName && rest.length > 0) {
      const related = field.target().meta;
      if (isFieldName(related, rest[0]!) || !LOOKUP_SET.has(rest[0]!)) {
        const relatedName = related.resolveFieldName(rest[0]!, `'${key}'`);
        rest = rest.slice(1);
        if (relatedName === related.pkName) {
          target = related; // question__pk is the local question_id column, compared with Question keys.
        } else {
          target = related;
          through = { fkColumn: column, fkNullable: field.nullable, target: related };
          targetField = related.fieldOf(relatedName);
          column = related.columns.get(relatedName)!;
        }
      }
    }
    if (rest.length > 1) {
      throw new FieldError(`${meta.name}: '${key}' follows more than one relation or lookup; only one foreign key can be followed`);
    }
    const named = rest[0] ?? 'exact';
    if (!LOOKUP_SET.has(named)) {
      throw new FieldError(
        `${target.name}: unsupported lookup '${named}' for field '${parts[through ? 1 : 0]}' in '${key}'. Choices are: ${LOOKUPS.join(', ')}`,
      );
    }
    // question__pk compares Question keys with the local column: check instances against Question.
    const keyField = target !== meta && !through ? target.fieldOf(target.pkName) : targetField;
    const [lookup, value] = lookupValue(meta, key, named as Lookup, keyField, target, rawValue);
    parsed.push({ field: targetField, column, lookup, value, ...(through ? { through } : {}) });
  }
  return parsed;
}

/** Parses `'-pubDate'` style order keys. */
export function parseOrder(meta: ModelMeta, keys: readonly string[]): OrderTerm[] {
  return keys.map((key) => {
    const descending = key.startsWith('-');
    const name = meta.resolveFieldName(descending ? key.slice(1) : key, `orderBy('${key}')`);
    return { column: meta.columns.get(name)!, descending };
  });
}

export class SqlCompiler {
  constructor(readonly dialect: Dialect) {}

  private q(identifier: string): string {
    return this.dialect.quote(identifier);
  }

  private condition(filter: ParsedFilter, params: Params, negated: boolean): string {
    const sql = this.dialect.lookup(filter.lookup, this.q(filter.column), filter.value, filter.field, params);
    if (!filter.through) {
      // exclude() on a nullable column must not drop the NULL rows (SQL's NOT (NULL = x) is NULL).
      return negated && filter.field.nullable && filter.lookup !== 'isnull' ? `(${sql} AND ${this.q(filter.column)} IS NOT NULL)` : sql;
    }
    const { target, fkColumn, fkNullable } = filter.through;
    const related = `${this.q(fkColumn)} IN (SELECT ${this.q(target.pkColumn)} FROM ${this.q(target.table)} WHERE ${sql})`;
    if (!fkNullable) return related;
    // Django follows a nullable key with a LEFT OUTER JOIN: a NULL key has NULL related fields,
    // so isnull=True matches it and exclude() keeps it.
    if (filter.lookup === 'isnull' && filter.value === true) return `(${this.q(fkColumn)} IS NULL OR ${related})`;
    return negated ? `(${this.q(fkColumn)} IS NOT NULL AND ${related})` : related;
  }

  where(state: QueryState, params: Params): string {
    let sql = '';
    for (const group of state.where) {
      if (group.filters.length === 0) continue; // filter({}) and exclude({}) select every row, as in Django
      const joined = group.filters.map((filter) => this.condition(filter, params, group.negated)).join(' AND ');
      sql += `${sql ? ' AND ' : ' WHERE '}${group.negated ? 'NOT ' : ''}(${joined})`;
    }
    return sql;
  }

  private orderBy(state: QueryState, reverse = false): string {
    if (state.order.length === 0) return '';
    return ` ORDER BY ${state.order.map((t) => `${this.q(t.column)}${t.descending !== reverse ? ' DESC' : ' ASC'}`).join(', ')}`;
  }

  private slice(state: QueryState, params: Params, limit = state.limit): string {
    if (limit === null && state.offset === 0) return '';
    // SQLite needs a LIMIT before OFFSET; the dialect says which value means none.
    return ` LIMIT ${params.add(limit ?? this.dialect.unlimited)}${state.offset ? ` OFFSET ${params.add(state.offset)}` : ''}`;
  }

  selectColumns(state: QueryState): string[] {
    if (state.values) return state.values.map((name) => state.meta.columns.get(name)!);
    return [...state.meta.columns.values()];
  }

  /** The rows of the query. `limit` overrides the query's own (get() fetches at most 21). */
  select(state: QueryState, options: { limit?: number | null; reverse?: boolean } = {}): Statement {
    const params = new Params(this.dialect);
    const columns = this.selectColumns(state).map((c) => this.q(c)).join(', ');
    const where = this.where(state, params);
    const order = this.orderBy(state, options.reverse);
    const slice = this.slice(state, params, options.limit === undefined ? state.limit : options.limit);
    const lock = state.forUpdate && this.dialect.name === 'postgres' ? ' FOR UPDATE' : '';
    return { sql: `SELECT ${columns} FROM ${this.q(state.meta.table)}${where}${order}${slice}${lock}`, params: params.values, mode: 'all', writes: false };
  }

  private sliced(state: QueryState): boolean {
    return state.limit !== null || state.offset !== 0;
  }

  count(state: QueryState): Statement {
    const params = new Params(this.dialect);
    const table = this.q(state.meta.table);
    if (this.sliced(state)) {
      const where = this.where(state, params);
      const slice = this.slice(state, params);
      return { sql: `SELECT COUNT(*) AS "count" FROM (SELECT 1 FROM ${table}${where}${this.orderBy(state)}${slice}) AS "subquery"`, params: params.values, mode: 'get', writes: false };
    }
    return { sql: `SELECT COUNT(*) AS "count" FROM ${table}${this.where(state, params)}`, params: params.values, mode: 'get', writes: false };
  }

  exists(state: QueryState): Statement {
    const params = new Params(this.dialect);
    const table = this.q(state.meta.table);
    const where = this.where(state, params);
    if (this.sliced(state)) {
      const slice = this.slice(state, params);
      return { sql: `SELECT 1 AS "a" FROM (SELECT 1 FROM ${table}${where}${this.orderBy(state)}${slice}) AS "subquery" LIMIT 1`, params: params.values, mode: 'get', writes: false };
    }
    return { sql: `SELECT 1 AS "a" FROM ${table}${where} LIMIT 1`, params: params.values, mode: 'get', writes: false };
  }

  aggregate(state: QueryState, aggregates: ReadonlyArray<{ alias: string; fn: string; column: string | null; distinct: boolean }>): Statement {
    const params = new Params(this.dialect);
    const parts = aggregates.map(({ alias, fn, column, distinct }) => {
      const argument = column === null ? '*' : `${distinct ? 'DISTINCT ' : ''}${this.q(column)}`;
      return `${fn}(${argument}) AS ${this.q(alias)}`;
    });
    const table = this.q(state.meta.table);
    const where = this.where(state, params);
    if (this.sliced(state)) {
      const columns = [...state.meta.columns.values()].map((c) => this.q(c)).join(', ');
      const slice = this.slice(state, params);
      return { sql: `SELECT ${parts.join(', ')} FROM (SELECT ${columns} FROM ${table}${where}${this.orderBy(state)}${slice}) AS "subquery"`, params: params.values, mode: 'get', writes: false };
    }
    return { sql: `SELECT ${parts.join(', ')} FROM ${table}${where}`, params: params.values, mode: 'get', writes: false };
  }

  /** INSERT of one or more rows with the same columns, returning the primary keys. */
  insert(meta: ModelMeta, columns: readonly string[], rows: ReadonlyArray<readonly SqlValue[]>): Statement {
    const params = new Params(this.dialect);
    const table = this.q(meta.table);
    const pk = this.q(meta.pkColumn);
    if (columns.length === 0) {
      return { sql: `INSERT INTO ${table} DEFAULT VALUES RETURNING ${pk}`, params: [], mode: 'all', writes: true };
    }
    const values = rows.map((row) => `(${row.map((value) => params.add(value)).join(', ')})`).join(', ');
    return {
      sql: `INSERT INTO ${table} (${columns.map((c) => this.q(c)).join(', ')}) VALUES ${values} RETURNING ${pk}`,
      params: params.values,
      mode: 'all',
      writes: true,
    };
  }

  /** UPDATE of the rows the query selects. */
  update(state: QueryState, assignments: ReadonlyArray<readonly [column: string, value: SqlValue]>): Statement {
    const params = new Params(this.dialect);
    const sets = assignments.map(([column, value]) => `${this.q(column)} = ${params.add(value)}`).join(', ');
    return { sql: `UPDATE ${this.q(state.meta.table)} SET ${sets}${this.where(state, params)}`, params: params.values, mode: 'run', writes: true };
  }

  /** One UPDATE setting each field per primary key (CASE pk WHEN … THEN …), of the rows the query selects. */
  bulkUpdate(state: QueryState, columns: readonly string[], rows: ReadonlyArray<{ pk: SqlValue; values: readonly SqlValue[] }>): Statement {
    const params = new Params(this.dialect);
    const pk = this.q(state.meta.pkColumn);
    const sets = columns.map((column, index) => {
      const cases = rows.map((row) => `WHEN ${params.add(row.pk)} THEN ${params.add(row.values[index]!)}`).join(' ');
      return `${this.q(column)} = CASE ${pk} ${cases} ELSE ${this.q(column)} END`;
    });
    const where = this.where(state, params);
    const ids = rows.map((row) => params.add(row.pk)).join(', ');
    return {
      sql: `UPDATE ${this.q(state.meta.table)} SET ${sets.join(', ')}${where}${where ? ' AND' : ' WHERE'} ${pk} IN (${ids})`,
      params: params.values,
      mode: 'run',
      writes: true,
    };
  }

  deleteWhere(meta: ModelMeta, column: string, values: readonly SqlValue[]): Statement {
    const params = new Params(this.dialect);
    const list = values.map((v) => params.add(v)).join(', ');
    return { sql: `DELETE FROM ${this.q(meta.table)} WHERE ${this.q(column)} IN (${list})`, params: params.values, mode: 'run', writes: true };
  }

  setNullWhere(meta: ModelMeta, column: string, values: readonly SqlValue[]): Statement {
    const params = new Params(this.dialect);
    const list = values.map((v) => params.add(v)).join(', ');
    return { sql: `UPDATE ${this.q(meta.table)} SET ${this.q(column)} = NULL WHERE ${this.q(column)} IN (${list})`, params: params.values, mode: 'run', writes: true };
  }

  selectWhereIn(meta: ModelMeta, resultColumn: string, column: string, values: readonly SqlValue[]): Statement {
    const params = new Params(this.dialect);
    const list = values.map((v) => params.add(v)).join(', ');
    return { sql: `SELECT ${this.q(resultColumn)} AS "v" FROM ${this.q(meta.table)} WHERE ${this.q(column)} IN (${list})`, params: params.values, mode: 'all', writes: false };
  }

  explain(state: QueryState): Statement {
    const select = this.select(state);
    return { ...select, sql: `${this.dialect.explainPrefix}${select.sql}` };
  }

  createTable(meta: ModelMeta): string[] {
    const table = this.q(meta.table);
    const columns = [...meta.fields].map(([name, field]) => {
      const column = this.q(meta.columns.get(name)!);
      const type = this.dialect.columnType(field);
      if (field.isPrimaryKey) return `${column} ${type}`;
      let definition = `${column} ${type}${field.nullable ? ' NULL' : ' NOT NULL'}${field.unique ? ' UNIQUE' : ''}`;
      if (field instanceof ForeignKeyField) {
        const target = field.target().meta;
        definition += ` REFERENCES ${this.q(target.table)} (${this.q(target.pkColumn)}) DEFERRABLE INITIALLY DEFERRED`;
      }
      return definition;
    });
    const statements = [`CREATE TABLE IF NOT EXISTS ${table} (${columns.join(', ')})`];
    for (const [name] of meta.foreignKeys) {
      const column = meta.columns.get(name)!;
      statements.push(`CREATE INDEX IF NOT EXISTS ${this.q(`${meta.table}_${column}_idx`)} ON ${table} (${this.q(column)})`);
    }
    return statements;
  }
}
