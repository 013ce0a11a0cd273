import { FieldError, MultipleObjectsReturned, ObjectDoesNotExist } from '../errors.js';
import { runAsync, runSync } from '../shim.js';
import { ForeignKeyField } from './fields.js';
import { INSTANCE_ALIAS, MODEL_INSTANCE, isModelInstance } from './marker.js';
import { ModelMeta } from './meta.js';
import type { FieldMap, ModelClass, ModelInstance } from './model-types.js';
import * as ops from './ops.js';
import type { DeleteResult, InstanceLike } from './ops.js';
import { Manager, compilerFor, refreshPlan } from './queryset.js';
import type { RefreshOptions } from './queryset.js';
import { OPTIONS, checkOptions } from '../options.js';
import type { Row } from '../backends/types.js';

const RELATED_CACHE: unique symbol = Symbol('related');

/** The class's ModelMeta. A function, not a member, so `meta` stays free for a field. */
function metaOfInstance(instance: ModelBase): ModelMeta {
  return (instance.constructor as unknown as { meta: ModelMeta }).meta;
}

/** The alias the instance came from (Django's `_state.db`); new instances use 'default'. */
function aliasOf(instance: ModelBase): string {
  return instance[INSTANCE_ALIAS] ?? 'default';
}

function callTarget(instance: ModelBase, method: string) {
  return { alias: aliasOf(instance), model: metaOfInstance(instance).name, method };
}

/**
 * What every model instance has besides its fields: only its public API (pk, save, delete,
 * refreshFromDb, toJSON and their a-twins). Internals are module functions and symbols, so a field
 * may be called `meta`, `alias` or `target`.
 */
export class ModelBase {
  declare readonly [MODEL_INSTANCE]: true;
  declare [RELATED_CACHE]?: Map<string, unknown>;
  declare [INSTANCE_ALIAS]?: string;

  get pk(): unknown {
    return (this as unknown as Record<string, unknown>)[metaOfInstance(this).pkName];
  }
  set pk(value: unknown) {
    (this as unknown as Record<string, unknown>)[metaOfInstance(this).pkName] = value;
  }

  /** INSERT when the instance has no primary key yet, UPDATE otherwise. */
  save(options: { updateFields?: string[] } = {}): void {
    checkOptions(options, OPTIONS.save, 'save', metaOfInstance(this).name);
    runSync(callTarget(this, 'save'), ops.save(compilerFor(aliasOf(this)), metaOfInstance(this), this as unknown as InstanceLike, options.updateFields));
  }
  asave(options: { updateFields?: string[] } = {}): Promise<void> {
    try {
      checkOptions(options, OPTIONS.save, 'asave', metaOfInstance(this).name);
      return runAsync(callTarget(this, 'asave'), ops.save(compilerFor(aliasOf(this)), metaOfInstance(this), this as unknown as InstanceLike, options.updateFields));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  delete(): DeleteResult {
    return runSync(callTarget(this, 'delete'), ops.deleteInstance(compilerFor(aliasOf(this)), metaOfInstance(this), this as unknown as InstanceLike));
  }
  adelete(): Promise<DeleteResult> {
    try {
      return runAsync(callTarget(this, 'adelete'), ops.deleteInstance(compilerFor(aliasOf(this)), metaOfInstance(this), this as unknown as InstanceLike));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Reloads the fields from the database: `{ fields }` only those, `{ fromQueryset }` through that queryset. */
  refreshFromDb(options?: RefreshOptions): void {
    const { target, op } = refreshPlan(metaOfInstance(this), this as unknown as InstanceLike, aliasOf(this), options, 'refreshFromDb');
    runSync(target, op);
    this[RELATED_CACHE]?.clear();
  }
  async arefreshFromDb(options?: RefreshOptions): Promise<void> {
    const { target, op } = refreshPlan(metaOfInstance(this), this as unknown as InstanceLike, aliasOf(this), options, 'arefreshFromDb');
    await runAsync(target, op);
    this[RELATED_CACHE]?.clear();
  }

  /** Field values by attribute name (`questionId` for a foreign key). */
  toJSON(): Record<string, unknown> {
    const meta = metaOfInstance(this);
    const out: Record<string, unknown> = {};
    for (const name of meta.fields.keys()) {
      const attname = meta.attname(name);
      out[attname] = (this as unknown as Record<string, unknown>)[attname];
    }
    return out;
  }

  toString(): string {
    return `${metaOfInstance(this).name} object (${String(this.pk)})`;
  }
}
Object.defineProperty(ModelBase.prototype, MODEL_INSTANCE, { value: true });

const models = new Map<string, ModelMeta>();

/** What an instance already has before its fields: ModelBase's members and Object's, by name. */
function instanceMembers(): Map<string, string> {
  const members = new Map<string, string>();
  for (let prototype: object | null = ModelBase.prototype; prototype !== null; prototype = Object.getPrototypeOf(prototype) as object | null) {
    const owner = prototype === Object.prototype ? 'every JS object' : 'every model instance';
    for (const key of Object.getOwnPropertyNames(prototype)) {
      if (members.has(key)) continue;
      const descriptor = Object.getOwnPropertyDescriptor(prototype, key)!;
      members.set(key, typeof descriptor.value === 'function' && key !== 'constructor' ? `the method ${key}() of ${owner}` : `the property '${key}' of ${owner}`);
    }
  }
  return members;
}
let reservedMembers: Map<string, string> | undefined;

/**
 * Fields live as instance properties, so a field named like a member of ModelBase (save, delete,
 * pk, toJSON…) or of Object (constructor, toString…) would shadow or break it: refused up
 * front, as Django refuses clashing names in its model checks.
 */
function checkInstanceNamespace(modelName: string, fieldMap: FieldMap): void {
  reservedMembers ??= instanceMembers();
  for (const [fieldName, field] of Object.entries(fieldMap)) {
    const attributes = field instanceof ForeignKeyField ? [fieldName, `${fieldName}Id`] : [fieldName];
    for (const attribute of attributes) {
      const member = reservedMembers.get(attribute);
      if (member === undefined) continue;
      const what = attribute === fieldName ? `field '${fieldName}'` : `key attribute '${attribute}' of the foreign key '${fieldName}'`;
      const hint = attribute === fieldName ? ` (its 'column' option can keep the column name '${fieldName}')` : '';
      throw new FieldError(`defineModel('${modelName}'): the ${what} would clash with ${member}; rename the field${hint}`);
    }
  }
}

/** Sets `key` of `values` on a new instance, accepting field names, `<fk>Id` and `pk`. */
function assign(meta: ModelMeta, instance: Record<string, unknown>, key: string, value: unknown): void {
  if (!meta.fieldChoices().includes(key)) {
    throw new FieldError(`${meta.name} has no field '${key}'. Choices are: ${meta.fieldChoices().join(', ')}`);
  }
  if (key === 'pk') instance[meta.pkName] = value;
  else instance[key] = value;
}

function initialize(meta: ModelMeta, instance: Record<string, unknown>, values: Record<string, unknown>): InstanceLike {
  if (typeof values !== 'object' || values === null) throw new FieldError(`${meta.name}: values must be an object`);
  for (const [name, field] of meta.fields) {
    const attname = meta.attname(name);
    // As in Django's Model.__init__, a default (maybe a function with effects) is only computed for a field not given.
    instance[attname] = field.isPrimaryKey ? null : isGiven(meta, values, name, attname) ? undefined : field.defaultFor();
  }
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined) assign(meta, instance, key, value);
  }
  return instance as InstanceLike;
}

function isGiven(meta: ModelMeta, values: Record<string, unknown>, name: string, attname: string): boolean {
  return values[name] !== undefined || (attname !== name && values[attname] !== undefined) || (name === meta.pkName && values.pk !== undefined);
}

function remember(instance: InstanceLike, alias: string): InstanceLike {
  if (alias !== 'default') Object.defineProperty(instance, INSTANCE_ALIAS, { value: alias, writable: true });
  return instance;
}

function build(meta: ModelMeta, values: Record<string, unknown>, alias: string): InstanceLike {
  return remember(initialize(meta, Object.create(meta.model.prototype as object) as Record<string, unknown>, values), alias);
}

function hydrate(meta: ModelMeta, row: Row, alias: string): InstanceLike {
  const instance = Object.create(meta.model.prototype as object) as Record<string, unknown>;
  for (const [name, field] of meta.fields) {
    instance[meta.attname(name)] = field.fromDb(row[meta.columns.get(name)!]);
  }
  return remember(instance as InstanceLike, alias);
}

function referencing(target: ModelMeta): Array<{ meta: ModelMeta; field: string; fk: ForeignKeyField }> {
  const out: Array<{ meta: ModelMeta; field: string; fk: ForeignKeyField }> = [];
  for (const meta of models.values()) {
    for (const [field, fk] of meta.foreignKeys) {
      if (fk.target().meta === target) out.push({ meta, field, fk });
    }
  }
  return out;
}

ops.installModelHooks({ build, hydrate, referencing });

/** Every model defined so far, in definition order. */
export function registeredModels(): ModelMeta[] {
  return [...models.values()];
}

/** The accessor of a foreign key: `choice.question` loads (and caches) the related object. */
function defineForeignKeyAccessor(prototype: object, meta: ModelMeta, name: string, fk: ForeignKeyField): void {
  const attname = `${name}Id`;
  Object.defineProperty(prototype, name, {
    configurable: true,
    enumerable: false,
    get(this: ModelBase & Record<string, unknown>) {
      const key = this[attname];
      if (key === null || key === undefined) return null;
      const cache = (this[RELATED_CACHE] ??= new Map());
      const cached = cache.get(name) as { pk: unknown } | undefined;
      if (cached && cached.pk === key) return cached;
      // Lazy loading is a sync query: inside a newConnection() block it raises SynchronousOnlyOperation.
      const related = fk.target().objects.using(this[INSTANCE_ALIAS] ?? 'default').get({ pk: key });
      cache.set(name, related);
      return related;
    },
    set(this: ModelBase & Record<string, unknown>, value: unknown) {
      const cache = (this[RELATED_CACHE] ??= new Map());
      if (value === null || value === undefined) {
        this[attname] = null;
        cache.delete(name);
        return;
      }
      if (!isModelInstance(value) || (value.constructor as { meta?: ModelMeta }).meta !== fk.target().meta) {
        throw new TypeError(`${meta.name}.${name} must be a ${fk.target().meta.name} instance (or set ${attname} to its key)`);
      }
      if (value.pk === null || value.pk === undefined) {
        throw new TypeError(`${meta.name}.${name}: save the ${fk.target().meta.name} before assigning it (it has no primary key yet)`);
      }
      this[attname] = value.pk;
      cache.set(name, value);
    },
  });
}

export interface ModelDefinition<FM extends FieldMap> {
  /** Table name. */
  table: string;
  fields: FM;
  /** Default field for latest()/earliest(). */
  getLatestBy?: string;
}

const DEFINITION_KEYS = ['table', 'fields', 'getLatestBy'] as const satisfies ReadonlyArray<keyof ModelDefinition<FieldMap>>;

/**
 * Defines a model: `const Question = defineModel('Question', { table, fields })`.
 * The result is a class: `new Question({...})`, `Question.objects`, `Question.DoesNotExist`.
 */
export function defineModel<FM extends FieldMap>(name: string, definition: ModelDefinition<FM>): ModelClass<FM> {
  if (typeof name !== 'string' || !/^[A-Za-z_$][\w$]*$/.test(name)) throw new FieldError(`defineModel(): '${name}' is not a valid model name`);
  if (!definition || typeof definition.table !== 'string' || definition.table === '') {
    throw new FieldError(`defineModel('${name}'): 'table' must be a non-empty string`);
  }
  for (const key of Object.keys(definition)) {
    if (!(DEFINITION_KEYS as readonly string[]).includes(key)) {
      throw new FieldError(`defineModel('${name}'): unknown option '${key}'. Valid options: ${DEFINITION_KEYS.join(', ')}`);
    }
  }
  if (models.has(name)) throw new FieldError(`defineModel('${name}'): a model named '${name}' is already defined`);
  const meta = new ModelMeta(name, definition.table, definition.fields, definition.getLatestBy);
  checkInstanceNamespace(name, definition.fields);
  const DoesNotExist = class extends ObjectDoesNotExist {
    override name = `${name}.DoesNotExist`;
  };
  const Multiple = class extends MultipleObjectsReturned {
    override name = `${name}.MultipleObjectsReturned`;
  };
  const model = class extends ModelBase {
    static readonly meta = meta;
    static readonly modelName = name;
    static readonly DoesNotExist = DoesNotExist;
    static readonly MultipleObjectsReturned = Multiple;
    static readonly objects: Manager<FM> = new Manager<FM>({ meta, alias: 'default', where: [], order: [], limit: null, offset: 0, values: null });
    constructor(values: Record<string, unknown> = {}) {
      super();
      initialize(meta, this as unknown as Record<string, unknown>, values);
    }
  };
  Object.defineProperty(model, 'name', { value: name });
  meta.model = model as unknown as ModelClass<FM>;
  for (const [fieldName, fk] of meta.foreignKeys) defineForeignKeyAccessor(model.prototype, meta, fieldName, fk);
  models.set(name, meta);
  return model as unknown as ModelClass<FM>;
}

/** Forgets a model definition (tests that define throwaway models). */
export function unregisterModel(model: ModelClass<FieldMap> | ModelInstance<FieldMap>): void {
  const meta = (model as { meta?: ModelMeta }).meta;
  if (meta) models.delete(meta.name);
}
