import type { SqlValue } from '../backends/types.js';
import type { Field } from './fields.js';
import type { Lookup } from './model-types.js';
import { refuse } from './values.js';

/** Collects statement parameters and hands out their placeholders. */
export class Params {
  readonly values: SqlValue[] = [];
  constructor(private readonly dialect: Dialect) {}
  add(value: SqlValue): string {
    this.values.push(value);
    return this.dialect.placeholder(this.values.length);
  }
}

/** The SQL differences between engines, kept in one place. */
export interface Dialect {
  readonly name: 'sqlite' | 'postgres';
  quote(identifier: string): string;
  placeholder(index: number): string;
  /** SQL for `column <lookup> value`; values go through `params` only. */
  lookup(lookup: Lookup, column: string, value: unknown, field: Field, params: Params): string;
  columnType(field: Field): string;
  readonly beginTransaction: string;
  readonly explainPrefix: string;
  /** The LIMIT value that means "no limit" (an OFFSET needs a LIMIT on SQLite). */
  readonly unlimited: SqlValue;
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}
function escapeGlob(value: string): string {
  return value.replace(/[*?[]/g, (c) => `[${c}]`);
}

/**
 * The text a pattern lookup matches: a string field's value is prepared as on a write (no object's
 * toString). On other fields the pattern is matched against the column's text, so it must be text
 * already: an object, array or Date would become '[object Object]' or a local-time string and
 * silently match nothing (`payload__contains: { tags: ['x'] }` is Django's JSON containment, which
 * the runtime does not have).
 */
function patternText(field: Field, value: unknown): string {
  if (field.kind === 'string' || field.kind === 'text') return field.prepare(value) as string;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  const expects =
    field.kind === 'json'
      ? "a string to find in the JSON text (a pattern lookup on a json field matches its text; Django's JSON containment, contains: { … }, is not supported)"
      : `a string to find in the ${field.kind} column's text form`;
  throw refuse(field, value, expects);
}

/** The pattern lookups, which is where engines differ. */
interface PatternLookups {
  /** contains/startswith/endswith are case-sensitive; iexact/icontains are not. Wildcards in values are literal. */
  contains(column: string, value: string, params: Params): string;
  startswith(column: string, value: string, params: Params): string;
  endswith(column: string, value: string, params: Params): string;
  iexact(column: string, value: string, params: Params): string;
  icontains(column: string, value: string, params: Params): string;
}

function lookupWith(patterns: PatternLookups, textColumn: (column: string, field: Field) => string) {
  return (lookup: Lookup, column: string, value: unknown, field: Field, params: Params): string => {
    switch (lookup) {
      case 'exact':
        return value === null ? `${column} IS NULL` : `${column} = ${params.add(field.lookupValue('exact', value))}`;
      case 'iexact':
        return value === null ? `${column} IS NULL` : patterns.iexact(textColumn(column, field), patternText(field, value), params);
      case 'lt':
        return `${column} < ${params.add(field.lookupValue('lt', value))}`;
      case 'lte':
        return `${column} <= ${params.add(field.lookupValue('lte', value))}`;
      case 'gt':
        return `${column} > ${params.add(field.lookupValue('gt', value))}`;
      case 'gte':
        return `${column} >= ${params.add(field.lookupValue('gte', value))}`;
      case 'in': {
        const items = value as unknown[];
        if (items.length === 0) return '0 = 1';
        return `${column} IN (${items.map((item) => params.add(field.lookupValue('in', item))).join(', ')})`;
      }
      case 'contains':
        return patterns.contains(textColumn(column, field), patternText(field, value), params);
      case 'icontains':
        return patterns.icontains(textColumn(column, field), patternText(field, value), params);
      case 'startswith':
        return patterns.startswith(textColumn(column, field), patternText(field, value), params);
      case 'endswith':
        return patterns.endswith(textColumn(column, field), patternText(field, value), params);
      case 'isnull':
        return value ? `${column} IS NULL` : `${column} IS NOT NULL`;
      case 'range': {
        const [low, high] = value as [unknown, unknown];
        return `${column} BETWEEN ${params.add(field.lookupValue('gte', low))} AND ${params.add(field.lookupValue('lte', high))}`;
      }
    }
  };
}

const quoteIdentifier = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;

export const sqliteDialect: Dialect = {
  name: 'sqlite',
  quote: quoteIdentifier,
  placeholder: () => '?',
  beginTransaction: 'BEGIN IMMEDIATE',
  explainPrefix: 'EXPLAIN QUERY PLAN ',
  unlimited: -1,
  // GLOB is case-sensitive; SQLite's LIKE is not (for ASCII).
  lookup: lookupWith(
    {
      contains: (column, value, params) => `${column} GLOB ${params.add(`*${escapeGlob(value)}*`)}`,
      startswith: (column, value, params) => `${column} GLOB ${params.add(`${escapeGlob(value)}*`)}`,
      endswith: (column, value, params) => `${column} GLOB ${params.add(`*${escapeGlob(value)}`)}`,
      iexact: (column, value, params) => `${column} LIKE ${params.add(escapeLike(value))} ESCAPE '\\'`,
      icontains: (column, value, params) => `${column} LIKE ${params.add(`%${escapeLike(value)}%`)} ESCAPE '\\'`,
    },
    (column) => column,
  ),
  columnType(field) {
    switch (field.kind) {
      case 'autoId':
        return 'integer NOT NULL PRIMARY KEY AUTOINCREMENT';
      case 'integer':
      case 'foreignKey':
        return 'integer';
      case 'float':
        return 'real';
      case 'boolean':
        return 'bool';
      case 'string':
        return `varchar(${field.maxLength ?? 255})`;
      case 'text':
      case 'json':
        return 'text';
      case 'datetime':
        return 'datetime';
    }
  },
};

const TEXT_KINDS = new Set(['string', 'text']);

export const postgresDialect: Dialect = {
  name: 'postgres',
  quote: quoteIdentifier,
  placeholder: (index) => `$${index}`,
  beginTransaction: 'BEGIN',
  explainPrefix: 'EXPLAIN ',
  unlimited: null, // LIMIT NULL is no limit
  // LIKE is case-sensitive on PostgreSQL and ILIKE is not; both take the escaped value as a parameter.
  lookup: lookupWith(
    {
      contains: (column, value, params) => `${column} LIKE ${params.add(`%${escapeLike(value)}%`)} ESCAPE '\\'`,
      startswith: (column, value, params) => `${column} LIKE ${params.add(`${escapeLike(value)}%`)} ESCAPE '\\'`,
      endswith: (column, value, params) => `${column} LIKE ${params.add(`%${escapeLike(value)}`)} ESCAPE '\\'`,
      iexact: (column, value, params) => `${column} ILIKE ${params.add(escapeLike(value))} ESCAPE '\\'`,
      icontains: (column, value, params) => `${column} ILIKE ${params.add(`%${escapeLike(value)}%`)} ESCAPE '\\'`,
    },
    // Pattern matching needs text: other columns (numbers, dates, json) are matched on their text form.
    (column, field) => (TEXT_KINDS.has(field.kind) ? column : `${column}::text`),
  ),
  columnType(field) {
    switch (field.kind) {
      case 'autoId':
        return 'bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY';
      case 'integer':
      case 'foreignKey':
        return 'bigint'; // SQLite's integers are 64-bit too
      case 'float':
        return 'double precision';
      case 'boolean':
        return 'boolean';
      case 'string':
        return `varchar(${field.maxLength ?? 255})`;
      case 'text':
        return 'text';
      case 'json':
        return 'jsonb';
      case 'datetime':
        return 'timestamp with time zone';
    }
  },
};
