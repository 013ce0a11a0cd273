import type { SqlValue } from '../backends/types.js';
import type { AnyModelClass } from './model-types.js';

export type FieldKind = 'autoId' | 'integer' | 'float' | 'boolean' | 'string' | 'text' | 'datetime' | 'json' | 'foreignKey';
export type OnDelete = 'cascade' | 'protect' | 'setNull' | 'doNothing';

export interface FieldOptions<T> {
  /** NULL allowed (default false). */
  nullable?: boolean;
  /** A value, or a function called for each new row. */
  default?: T | (() => T);
  /** Column name; defaults to the field name in snake_case (and `<name>_id` for foreign keys). */
  column?: string;
  unique?: boolean;
}

/**
 * A field definition. `T` is the value type in JS, `N` whether null is allowed; both are phantom
 * types that give model instances their property types.
 */
export class Field<T = unknown, N extends boolean = boolean> {
  declare readonly __value: T;
  declare readonly __nullable: N;
  readonly nullable: boolean;
  readonly unique: boolean;
  readonly column: string | undefined;
  private readonly defaultValue: T | (() => T) | undefined;
  readonly hasDefault: boolean;

  constructor(
    readonly kind: FieldKind,
    options: FieldOptions<T> = {},
    readonly maxLength?: number,
  ) {
    this.nullable = options.nullable ?? false;
    this.unique = options.unique ?? false;
    this.column = options.column;
    this.hasDefault = 'default' in options;
    this.defaultValue = options.default;
  }

  get isPrimaryKey(): boolean {
    return this.kind === 'autoId';
  }

  /** The value a new instance gets when none is given. */
  defaultFor(): T | null | undefined {
    if (this.hasDefault) {
      return typeof this.defaultValue === 'function' ? (this.defaultValue as () => T)() : (this.defaultValue as T);
    }
    return this.nullable ? null : undefined;
  }

  /** JS value → the value bound as a statement parameter. */
  toDb(value: unknown): SqlValue {
    if (value === null || value === undefined) return null;
    switch (this.kind) {
      case 'boolean':
        return value ? 1 : 0;
      case 'datetime': {
        const date = value instanceof Date ? value : new Date(value as string | number);
        if (Number.isNaN(date.getTime())) throw new TypeError(`invalid date: ${String(value)}`);
        return date.toISOString();
      }
      case 'json':
        return JSON.stringify(value);
      case 'integer':
      case 'autoId':
      case 'foreignKey':
      case 'float':
        if (typeof value === 'bigint') return value;
        if (typeof value !== 'number') {
          const number = Number(value);
          if (Number.isNaN(number)) throw new TypeError(`expected a number, got ${JSON.stringify(value)}`);
          return number;
        }
        return value;
      default:
        return typeof value === 'string' ? value : String(value);
    }
  }

  /** A column value read from the database → the JS value. */
  fromDb(value: unknown): unknown {
    if (value === null || value === undefined) return null;
    switch (this.kind) {
      case 'boolean':
        return value === true || value === 1 || value === 1n || value === '1' || value === 't';
      case 'datetime':
        return value instanceof Date ? value : new Date(value as string);
      case 'json':
        return typeof value === 'string' ? JSON.parse(value) : value;
      case 'integer':
      case 'autoId':
      case 'foreignKey':
        return typeof value === 'bigint' || typeof value === 'string' ? Number(value) : value;
      case 'float':
        return typeof value === 'string' ? Number(value) : value;
      default:
        return value;
    }
  }
}

export class ForeignKeyField<M extends AnyModelClass = AnyModelClass, N extends boolean = boolean> extends Field<InstanceType<M>, N> {
  readonly onDelete: OnDelete;
  constructor(
    readonly target: () => M,
    options: FieldOptions<never> & { onDelete?: OnDelete } = {},
  ) {
    super('foreignKey', options);
    this.onDelete = options.onDelete ?? 'cascade';
  }
}

type Nullable<O> = O extends { nullable: true } ? true : false;

export const fields = {
  autoId: () => new Field<number, false>('autoId'),
  integer: <O extends FieldOptions<number>>(options?: O) => new Field<number, Nullable<O>>('integer', options),
  float: <O extends FieldOptions<number>>(options?: O) => new Field<number, Nullable<O>>('float', options),
  boolean: <O extends FieldOptions<boolean>>(options?: O) => new Field<boolean, Nullable<O>>('boolean', options),
  string: <O extends FieldOptions<string> & { maxLength: number }>(options: O) =>
    new Field<string, Nullable<O>>('string', options, options.maxLength),
  text: <O extends FieldOptions<string>>(options?: O) => new Field<string, Nullable<O>>('text', options),
  datetime: <O extends FieldOptions<Date>>(options?: O) => new Field<Date, Nullable<O>>('datetime', options),
  json: <T = unknown, O extends FieldOptions<T> = FieldOptions<T>>(options?: O) => new Field<T, Nullable<O>>('json', options),
  foreignKey: <M extends AnyModelClass, O extends FieldOptions<never> & { onDelete?: OnDelete } = {}>(target: () => M, options?: O) =>
    new ForeignKeyField<M, Nullable<O>>(target, options),
};
