import { FieldError } from '../errors.js';
import { Field, ForeignKeyField } from './fields.js';
import type { AnyModelClass, FieldMap } from './model-types.js';

function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/** Django's field name checks (fields.E001-E003): names work as properties and as the start of `name__lookup` keys. */
function checkFieldName(model: string, fieldName: string): void {
  const problem =
    fieldName === 'pk'
      ? "'pk' is reserved: it always means the primary key"
      : fieldName.includes('__')
        ? "'__' separates lookups ('name__gt')"
        : fieldName.endsWith('_')
          ? "a name ending in '_' cannot be followed by '__lookup' unambiguously"
          : !/^[A-Za-z_$][\w$]*$/.test(fieldName)
            ? 'field names must be JS identifiers (letters, digits, _ and $; not starting with a digit)'
            : null;
  if (problem) throw new FieldError(`defineModel('${model}'): '${fieldName}' is not a valid field name: ${problem}`);
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
    if (typeof fieldMap !== 'object' || fieldMap === null) throw new FieldError(`defineModel('${name}'): 'fields' must be an object of fields.*() definitions`);
    for (const [fieldName, given] of Object.entries(fieldMap)) {
      if (given instanceof ForeignKeyField && `${fieldName}Id` in fieldMap) {
        throw new FieldError(`defineModel('${name}'): field '${fieldName}Id' clashes with the key attribute of the foreign key '${fieldName}' (it holds ${fieldName}'s primary key); rename one of them`);
      }
      if (!(given instanceof Field)) {
        throw new FieldError(`defineModel('${name}'): field '${fieldName}' must be made with fields.*() (e.g. fields.string({ maxLength: 200 }))`);
      }
      checkFieldName(name, fieldName);
      const field = given.bindTo(name, fieldName);
      const column = field.column ?? (field instanceof ForeignKeyField ? `${snakeCase(fieldName)}_id` : snakeCase(fieldName));
      const clash = fieldByColumn.get(column);
      if (clash !== undefined) {
        throw new FieldError(`defineModel('${name}'): fields '${clash}' and '${fieldName}' both use the column '${column}'; give one a different 'column'`);
      }
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
    if (getLatestBy !== undefined) {
      if (typeof getLatestBy !== 'string') throw new FieldError(`defineModel('${name}'): 'getLatestBy' must be a field name such as 'pubDate' or '-pubDate'`);
      this.resolveFieldName(getLatestBy.replace(/^-/, ''), `getLatestBy: '${getLatestBy}'`);
    }
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
