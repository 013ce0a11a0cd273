import type { SqlValue } from '../backends/types.js';
import type { Field } from './fields.js';
import type { Lookup } from './model-types.js';

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
  readonly name: 'sqlite';
  quote(identifier: string): string;
  placeholder(index: number): string;
  /** SQL for `column <lookup> value`; values go through `params` only. */
  lookup(lookup: Lookup, column: string, value: unknown, field: Field, params: Params): string;
  columnType(field: Field): string;
  readonly beginTransaction: string;
  readonly explainPrefix: string;
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}
function escapeGlob(value: string): string {
  return value.replace(/[*?[]/g, (c) => `[${c}]`);
}

function comparisonValue(field: Field, value: unknown): SqlValue {
  return field.toDb(value);
}

export const sqliteDialect: Dialect = {
  name: 'sqlite',
  quote: (identifier) => `"${identifier.replace(/"/g, '""')}"`,
  placeholder: () => '?',
  beginTransaction: 'BEGIN IMMEDIATE',
  explainPrefix: 'EXPLAIN QUERY PLAN ',
  lookup(lookup, column, value, field, params) {
    const text = (v: unknown) => params.add(String(v));
    switch (lookup) {
      case 'exact':
        return value === null ? `${column} IS NULL` : `${column} = ${params.add(comparisonValue(field, value))}`;
      case 'iexact':
        return value === null ? `${column} IS NULL` : `${column} LIKE ${text(escapeLike(String(value)))} ESCAPE '\\'`;
      case 'lt':
        return `${column} < ${params.add(comparisonValue(field, value))}`;
      case 'lte':
        return `${column} <= ${params.add(comparisonValue(field, value))}`;
      case 'gt':
        return `${column} > ${params.add(comparisonValue(field, value))}`;
      case 'gte':
        return `${column} >= ${params.add(comparisonValue(field, value))}`;
      case 'in': {
        const items = value as unknown[];
        if (items.length === 0) return '0 = 1';
        return `${column} IN (${items.map((item) => params.add(comparisonValue(field, item))).join(', ')})`;
      }
      case 'contains':
        return `${column} GLOB ${text(`*${escapeGlob(String(value))}*`)}`;
      case 'icontains':
        return `${column} LIKE ${text(`%${escapeLike(String(value))}%`)} ESCAPE '\\'`;
      case 'startswith':
        return `${column} GLOB ${text(`${escapeGlob(String(value))}*`)}`;
      case 'endswith':
        return `${column} GLOB ${text(`*${escapeGlob(String(value))}`)}`;
      case 'isnull':
        return value ? `${column} IS NULL` : `${column} IS NOT NULL`;
      case 'range': {
        const [low, high] = value as [unknown, unknown];
        return `${column} BETWEEN ${params.add(comparisonValue(field, low))} AND ${params.add(comparisonValue(field, high))}`;
      }
    }
  },
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
