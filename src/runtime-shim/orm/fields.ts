import type { SqlValue } from '../backends/types.js';
import { FieldError } from '../errors.js';
import type { AnyModelClass } from './model-types.js';
import { prepareBoolean, prepareDatetime, prepareFloat, prepareInteger, prepareJson, prepareString } from './values.js';
import type { FieldIdentity } from './values.js';

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

const COMMON_OPTIONS = ['nullable', 'default', 'column', 'unique'] as const;

/** Unknown or mistyped options of `fields.<kind>()` are errors, not silently ignored. */
function checkOptions(kind: string, options: object, extra: readonly string[]): void {
  if (typeof options !== 'object' || options === null) throw new FieldError(`fields.${kind}(): options must be an object`);
  const valid: readonly string[] = [...COMMON_OPTIONS, ...extra];
  for (const key of Object.keys(options)) {
    if (!valid.includes(key)) throw new FieldError(`fields.${kind}(): unknown option '${key}'. Valid options: ${valid.join(', ')}`);
  }
  const { nullable, unique, column } = options as FieldOptions<unknown>;
  for (const [key, value] of [['nullable', nullable], ['unique', unique]] as const) {
    if (value !== undefined && typeof value !== 'boolean') throw new FieldError(`fields.${kind}(): '${key}' must be true or false`);
  }
  if (column !== undefined && (typeof column !== 'string' || column === '')) throw new FieldError(`fields.${kind}(): 'column' must be a non-empty string`);
}

/**
 * A field definition. `T` is the value type in JS, `N` whether null is allowed; both are phantom
 * types that give model instances their property types.
 */
export class Field<T = unknown, N extends boolean = boolean> implements FieldIdentity {
  declare readonly __value: T;
  declare readonly __nullable: N;
  readonly nullable: boolean;
  readonly unique: boolean;
  readonly column: string | undefined;
  private readonly defaultValue: T | (() => T) | undefined;
  readonly hasDefault: boolean;
  /** The model and the field name, for messages; set when defineModel() takes the field. */
  modelName = '(unbound)';
  name = '(unbound)';

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

  /** This field as `model.name`: itself the first time, a copy when another model already took it. */
  bindTo(modelName: string, name: string): this {
    const field = this.modelName === '(unbound)' ? this : (Object.assign(Object.create(Object.getPrototypeOf(this) as object), this) as this);
    field.modelName = modelName;
    field.name = name;
    return field;
  }

  get isPrimaryKey(): boolean {
    return this.kind === 'autoId';
  }

  /**
   * The value a new instance gets when none is given: the default (called when it is a function,
   * once per instance), else null when nullable, else '' for string and text fields as in Django
   * (Field.get_default), else undefined (the insert then says the field is required).
   */
  defaultFor(): T | null | undefined {
    if (this.hasDefault) {
      return typeof this.defaultValue === 'function' ? (this.defaultValue as () => T)() : (this.defaultValue as T);
    }
    if (this.nullable) return null;
    return this.kind === 'string' || this.kind === 'text' ? ('' as T) : undefined;
  }

  /** JS value → the value bound as a statement parameter on a write (also checks maxLength). */
  toDb(value: unknown): SqlValue {
    if (value === null || value === undefined) return null;
    return this.kind === 'string' ? prepareString(this, value, this.maxLength) : this.prepare(value);
  }

  /**
   * Django's get_prep_value: the same parameter on every engine, or a ValidationError naming the
   * model, the field, what it expects and what it got. Lookups use it too (without maxLength).
   */
  prepare(value: unknown): SqlValue {
    if (value === null || value === undefined) return null;
    switch (this.kind) {
      case 'integer':
      case 'autoId':
      case 'foreignKey':
        return prepareInteger(this, value);
      case 'float':
        return prepareFloat(this, value);
      case 'boolean':
        return prepareBoolean(this, value);
      case 'string':
      case 'text':
        return prepareString(this, value, undefined);
      case 'datetime':
        return prepareDatetime(this, value);
      case 'json':
        return prepareJson(this, value);
    }
  }

  /**
   * The parameter of a comparison lookup. An integer column compared with 1.5 is compared with the
   * whole number that gives the same rows (Django's IntegerFieldFloatRounding, also right for
   * negative numbers): `gte`/`lt` round up, `gt`/`lte` round down.
   */
  lookupValue(lookup: 'exact' | 'lt' | 'lte' | 'gt' | 'gte' | 'in', value: unknown): SqlValue {
    if (typeof value === 'number' && !Number.isInteger(value) && Number.isFinite(value) && INTEGER_KINDS.has(this.kind)) {
      if (lookup === 'gte' || lookup === 'lt') return prepareInteger(this, Math.ceil(value));
      if (lookup === 'gt' || lookup === 'lte') return prepareInteger(this, Math.floor(value));
    }
    return this.prepare(value);
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

const INTEGER_KINDS: ReadonlySet<FieldKind> = new Set(['integer', 'autoId', 'foreignKey']);

/**
 * Django's resolve_callables: a copy of `values` with every function called (the defaults of
 * getOrCreate/updateOrCreate, called only when they are used).
 */
export function resolveCallables(values: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(values)) {
    const value = values[key];
    out[key] = typeof value === 'function' ? (value as () => unknown)() : value;
  }
  return out;
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

const ON_DELETE: readonly OnDelete[] = ['cascade', 'protect', 'setNull', 'doNothing'];

/** The options of `fields.<kind>(options)`, checked. */
function checked<O extends object>(kind: string, options: O | undefined, extra: readonly string[] = []): O {
  const given = options ?? ({} as O);
  checkOptions(kind, given, extra);
  return given;
}

function stringOptions<O extends { maxLength: number }>(options: O): O {
  const given = checked('string', options, ['maxLength']);
  const { maxLength } = given;
  if (!Number.isSafeInteger(maxLength) || maxLength <= 0) {
    throw new FieldError(`fields.string(): 'maxLength' must be a positive integer (got ${String(maxLength)}); use fields.text() for unbounded text`);
  }
  return given;
}

function jsonOptions<O extends object>(options: O | undefined): O {
  const given = checked('json', options);
  const value = (given as FieldOptions<unknown>).default;
  // One object shared by every new row would carry one row's mutations into the next (Django's fields.E010).
  if (typeof value === 'object' && value !== null) {
    throw new FieldError(`fields.json(): 'default' must be a function returning a fresh value (e.g. default: () => (${Array.isArray(value) ? '[]' : '{}'})), not a shared object`);
  }
  return given;
}

function foreignKeyOptions<O extends { onDelete?: OnDelete }>(target: unknown, options: O | undefined): O {
  if (typeof target !== 'function') throw new FieldError('fields.foreignKey(): the target must be a function returning the model, e.g. () => Question');
  const given = checked('foreignKey', options, ['onDelete']);
  if (given.onDelete !== undefined && !ON_DELETE.includes(given.onDelete)) {
    throw new FieldError(`fields.foreignKey(): 'onDelete' must be one of ${ON_DELETE.join(', ')} (got ${String(given.onDelete)})`);
  }
  return given;
}

export const fields = {
  autoId: () => new Field<number, false>('autoId'),
  integer: <O extends FieldOptions<number>>(options?: O) => new Field<number, Nullable<O>>('integer', checked('integer', options)),
  float: <O extends FieldOptions<number>>(options?: O) => new Field<number, Nullable<O>>('float', checked('float', options)),
  boolean: <O extends FieldOptions<boolean>>(options?: O) => new Field<boolean, Nullable<O>>('boolean', checked('boolean', options)),
  string: <O extends FieldOptions<string> & { maxLength: number }>(options: O) =>
    new Field<string, Nullable<O>>('string', stringOptions(options), options.maxLength),
  text: <O extends FieldOptions<string>>(options?: O) => new Field<string, Nullable<O>>('text', checked('text', options)),
  datetime: <O extends FieldOptions<Date>>(options?: O) => new Field<Date, Nullable<O>>('datetime', checked('datetime', options)),
  json: <T = unknown, O extends FieldOptions<T> = FieldOptions<T>>(options?: O) => new Field<T, Nullable<O>>('json', jsonOptions(options)),
  foreignKey: <M extends AnyModelClass, O extends FieldOptions<never> & { onDelete?: OnDelete } = {}>(target: () => M, options?: O) =>
    new ForeignKeyField<M, Nullable<O>>(target, foreignKeyOptions(target, options)),
};
