import { FieldError } from '../errors.js';
import { Field, ForeignKeyField } from './fields.js';
import type { AnyModelClass, FieldMap } from './model-types.js';

function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/** Everything the SQL compiler and the runners need to know about a model. */
export class ModelMeta {
  readonly fields: ReadonlyMap<string, Field>;
  readonly pkName: string;
  /** Field name → column. */
  readonly columns: ReadonlyMap<string, string>;
  /** Column → field name, for reading rows. */
  readonly fieldByColumn: ReadonlyMap<string, string>;
  readonly foreignKeys: ReadonlyMap<string, ForeignKeyField>;
  /** The class this meta describes; set once by defineModel. */
  model!: AnyModelClass;

  constructor(
    readonly name: string,
    readonly table: string,
    fieldMap: FieldMap,
    readonly getLatestBy: string | undefined,
  ) {
    const fields = new Map<string, Field>();
    const columns = new Map<string, string>();
    const fieldByColumn = new Map<string, string>();
    const foreignKeys = new Map<string, ForeignKeyField>();
    let pkName: string | undefined;
    for (const [fieldName, field] of Object.entries(fieldMap)) {
      if (!(field instanceof Field)) {
        throw new FieldError(`defineModel('${name}'): field '${fieldName}' must be made with fields.*() (e.g. fields.string({ maxLength: 200 }))`);
      }
      if (fieldName === 'pk' || fieldName.includes('__')) {
        throw new FieldError(`defineModel('${name}'): '${fieldName}' is not a valid field name ('pk' is reserved and '__' separates lookups)`);
      }
      const column = field.column ?? (field instanceof ForeignKeyField ? `${snakeCase(fieldName)}_id` : snakeCase(fieldName));
      fields.set(fieldName, field);
      columns.set(fieldName, column);
      fieldByColumn.set(column, fieldName);
      if (field instanceof ForeignKeyField) foreignKeys.set(fieldName, field);
      if (field.isPrimaryKey) {
        if (pkName !== undefined) throw new FieldError(`defineModel('${name}'): more than one primary key ('${pkName}' and '${fieldName}')`);
        pkName = fieldName;
      }
    }
    if (pkName === undefined) {
      throw new FieldError(`defineModel('${name}'): no primary key; add id: fields.autoId()`);
    }
    this.fields = fields;
    this.columns = columns;
    this.fieldByColumn = fieldByColumn;
    this.foreignKeys = foreignKeys;
    this.pkName = pkName;
  }

  get pkColumn(): string {
    return this.columns.get(this.pkName)!;
  }

  /** The instance property that holds a field's value (`questionId` for the foreign key `question`). */
  attname(fieldName: string): string {
    return this.foreignKeys.has(fieldName) ? `${fieldName}Id` : fieldName;
  }

  /** Resolves `pk`, a field name or `<fk>Id` to a field name, or throws naming the valid choices. */
  resolveFieldName(name: string, context: string): string {
    if (name === 'pk') return this.pkName;
    if (this.fields.has(name)) return name;
    if (name.endsWith('Id') && this.foreignKeys.has(name.slice(0, -2))) return name.slice(0, -2);
    throw new FieldError(
      `${this.name} has no field '${name}' (in ${context}). Choices are: ${this.fieldChoices().join(', ')}`,
    );
  }

  fieldChoices(): string[] {
    const names = ['pk', ...this.fields.keys()];
    for (const fk of this.foreignKeys.keys()) names.push(`${fk}Id`);
    return names;
  }

  fieldOf(name: string): Field {
    return this.fields.get(name)!;
  }
}
