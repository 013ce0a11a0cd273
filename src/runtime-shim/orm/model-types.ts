/** Type-level description of models: what instances, filters and create() accept. */
import type { Field, ForeignKeyField } from './fields.js';
import type { ModelMeta } from './meta.js';
import type { ModelBase } from './model.js';
import type { Manager } from './queryset.js';
import type { MultipleObjectsReturned, ObjectDoesNotExist } from '../errors.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type FieldMap = Record<string, Field<any, boolean>>;

type ValueOf<F> = F extends Field<infer T, infer N> ? (N extends true ? T | null : T) : never;
type KeyOf<F> = F extends Field<unknown, infer N> ? (N extends true ? number | null : number) : never;

export type ForeignKeyNames<FM> = {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [K in keyof FM]: FM[K] extends ForeignKeyField<any, boolean> ? K : never;
}[keyof FM] &
  string;
export type PlainFieldNames<FM> = Exclude<keyof FM & string, ForeignKeyNames<FM>>;

/** The properties of an instance: every field, plus `<fk>Id` holding each foreign key's value. */
export type InstanceData<FM> = { [K in keyof FM & string]: ValueOf<FM[K]> } & {
  [K in ForeignKeyNames<FM> as `${K}Id`]: KeyOf<FM[K]>;
};

export type ModelInstance<FM extends FieldMap> = ModelBase & InstanceData<FM>;

/** What create(), new Model() and updates accept: any subset of fields and `<fk>Id` keys. */
export type ModelValues<FM> = Partial<
  { [K in keyof FM & string]: ValueOf<FM[K]> } & { [K in ForeignKeyNames<FM> as `${K}Id`]: KeyOf<FM[K]> }
>;

/** The defaults of getOrCreate()/updateOrCreate(): values, or functions called when the row is written. */
export type DefaultValues<FM> = Partial<{ [K in keyof ModelValues<FM>]: ModelValues<FM>[K] | (() => ModelValues<FM>[K]) }>;

export type Lookup =
  | 'exact'
  | 'iexact'
  | 'lt'
  | 'lte'
  | 'gt'
  | 'gte'
  | 'in'
  | 'contains'
  | 'icontains'
  | 'startswith'
  | 'endswith'
  | 'isnull'
  | 'range';

type Own<FM> = 'pk' | (keyof FM & string) | `${ForeignKeyNames<FM>}Id`;
/** Keys filter()/exclude()/get() accept: `field`, `field__lookup`, `pk`, `fk__field[__lookup]`. */
export type FilterKey<FM> = Own<FM> | `${Own<FM>}__${Lookup}` | `${ForeignKeyNames<FM>}__${string}`;
export type Filters<FM> = { [K in FilterKey<FM>]?: unknown };

/** `field` ascending, `-field` descending. */
export type OrderKey<FM> = Own<FM> | `-${Own<FM>}`;

export interface ModelClass<FM extends FieldMap = FieldMap> {
  new (values?: ModelValues<FM>): ModelInstance<FM>;
  readonly objects: Manager<FM>;
  readonly DoesNotExist: new (message?: string) => ObjectDoesNotExist;
  readonly MultipleObjectsReturned: new (message?: string) => MultipleObjectsReturned;
  readonly meta: ModelMeta;
  readonly modelName: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyModelClass = ModelClass<any>;
