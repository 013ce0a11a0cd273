/**
 * How each field kind prepares a JS value for a statement (Django's to_python + get_prep_value),
 * the same on every engine. Written as plain functions over the value, without closures or
 * allocations on the common path (a number for an integer, a string for a string).
 */
import { ValidationError } from '../errors.js';
import type { ValidationCode } from '../errors.js';

/** What the error message needs to know about the field. */
export interface FieldIdentity {
  readonly modelName: string;
  readonly name: string;
}

const INTEGER_TEXT = /^\s*[+-]?\d+\s*$/;
const FLOAT_TEXT = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;
/** Django's parse_date / parse_datetime shapes: a date, or a date and time with an optional offset. */
const ISO_DATETIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*(Z|([+-]\d{2}):?(\d{2})?)?)?$/;
const TRUE_TEXT = new Set(['t', 'True', 'true', '1']);
const FALSE_TEXT = new Set(['f', 'False', 'false', '0']);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** `number 1.5`, `string "abc…"`, `Date`, `Object`: the type of a refused value and, for primitives, the value. */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
    case 'number':
    case 'boolean':
      return `${typeof value} ${String(value)}`;
    case 'bigint':
      return `bigint ${String(value)}n`;
    case 'function':
      return 'a function';
    case 'symbol':
      return 'a symbol';
    case 'object': {
      const name = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name;
      return name ? `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name}` : 'an object';
    }
    default:
      return String(value);
  }
}

export function refuse(field: FieldIdentity, value: unknown, expects: string, code: ValidationCode = 'invalid', got = describeValue(value)): ValidationError {
  return new ValidationError(`${field.modelName}.${field.name} expects ${expects}, got ${got}`, field.modelName, field.name, code);
}

export function prepareInteger(field: FieldIdentity, value: unknown): number {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) return value;
  } else if (typeof value === 'bigint') {
    if (value <= MAX_SAFE && value >= -MAX_SAFE) return Number(value);
  } else if (typeof value === 'string' && INTEGER_TEXT.test(value)) {
    const number = Number(value);
    if (Number.isSafeInteger(number)) return number;
  }
  // JS numbers past 2^53 lose digits on the way back, so larger integers are refused rather than changed.
  throw refuse(field, value, 'an integer (a whole number within ±(2^53 - 1), or such a BigInt or numeric string)');
}

export function prepareFloat(field: FieldIdentity, value: unknown): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
  } else if (typeof value === 'bigint') {
    return Number(value);
  } else if (typeof value === 'string' && FLOAT_TEXT.test(value)) {
    return Number(value);
  }
  throw refuse(field, value, 'a finite number (or a numeric string)');
}

/** Django's BooleanField.to_python, plus JS's own 'true'/'false'. */
export function prepareBoolean(field: FieldIdentity, value: unknown): 0 | 1 {
  if (value === true || value === 1 || value === 1n) return 1;
  if (value === false || value === 0 || value === 0n) return 0;
  if (typeof value === 'string') {
    if (TRUE_TEXT.has(value)) return 1;
    if (FALSE_TEXT.has(value)) return 0;
  }
  throw refuse(field, value, "true or false (or 1/0, 't'/'f', 'True'/'False', 'true'/'false', '1'/'0')");
}

/**
 * A string, or a number given for one. Django's CharField.to_python calls str() on anything;
 * str() of an object or a date is rarely what was meant, so only numbers are converted here.
 */
export function prepareString(field: FieldIdentity, value: unknown, maxLength: number | undefined): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'bigint') text = String(value);
  else if (value instanceof Date) throw refuse(field, value, 'a string (a Date goes in a datetime field, or pass date.toISOString())');
  else throw refuse(field, value, 'a string');
  if (maxLength !== undefined && text.length > maxLength) {
    // Characters as Django and PostgreSQL count them (code points): a UTF-16 length can only overcount.
    const characters = countCodePoints(text);
    if (characters > maxLength) {
      throw refuse(field, value, `a string of at most ${maxLength} characters`, 'max_length', `a string of ${characters} characters`);
    }
  }
  if (text.includes('\0')) throw refuse(field, value, 'a string without NUL (\\0) characters (PostgreSQL cannot store them)', 'null_characters_not_allowed', 'a string containing \\0');
  if (!(text as unknown as WellFormedCheck).isWellFormed()) throw refuse(field, value, 'well-formed Unicode (a lone surrogate would be stored as U+FFFD)', 'invalid', 'a string with a lone surrogate');
  return text;
}

/** String.prototype.isWellFormed (Node 20), newer than the ES2023 lib this project compiles against. */
interface WellFormedCheck {
  isWellFormed(): boolean;
}

function countCodePoints(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

/** A valid Date, or an ISO 8601 string (Django's parse_datetime shapes), as an ISO string in UTC. */
export function prepareDatetime(field: FieldIdentity, value: unknown): string {
  let date: Date | undefined;
  if (value instanceof Date) {
    date = value;
  } else if (typeof value === 'string') {
    const match = ISO_DATETIME.exec(value);
    // Date() rolls 2024-02-30 over to March 1st; Django refuses such a date.
    // Date() also takes the hour 24 (the next midnight); Django's parse_datetime refuses it.
    if (match && validDay(Number(match[1]), Number(match[2]), Number(match[3])) && Number(match[4] ?? 0) < 24) date = new Date(canonicalDatetime(match));
  }
  const time = date === undefined ? NaN : date.getTime();
  if (Number.isNaN(time)) {
    throw refuse(field, value, "a valid Date or an ISO 8601 string such as '2024-03-01T10:00:00Z'", 'invalid', value instanceof Date ? 'an invalid Date' : undefined);
  }
  const year = date!.getUTCFullYear();
  if (year < 1 || year > 9999) throw refuse(field, value, 'a date between the years 1 and 9999', 'invalid', `the year ${year}`);
  return date!.toISOString();
}

/**
 * The parts of a parse_datetime-shaped string as the one form Date() reads the same everywhere.
 * A string without an offset is UTC, with or without a time ('2024-02-20' and '2024-02-20 08:00'
 * alike): Date() would read a date alone as UTC but a date and time as the process's local time.
 * Django reads both in TIME_ZONE (the runtime has none: UTC). '+09' and '+0900' are '+09:00'.
 */
function canonicalDatetime(match: RegExpExecArray): string {
  const [, year, month, day, hour, minute, second, fraction, zone, zoneHours, zoneMinutes] = match;
  if (hour === undefined) return `${year}-${month}-${day}T00:00:00Z`;
  const millis = fraction === undefined ? '' : `.${fraction.slice(0, 3).padEnd(3, '0')}`;
  const offset = zone === undefined || zone === 'Z' ? 'Z' : `${zoneHours}:${zoneMinutes ?? '00'}`;
  return `${year}-${month}-${day}T${hour}:${minute}:${second ?? '00'}${millis}${offset}`;
}

function validDay(year: number, month: number, day: number): boolean {
  return month >= 1 && month <= 12 && day >= 1 && day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Thrown by the JSON replacer; prepareJson turns it into a ValidationError naming the field. */
class UnserializableJson extends Error {}

/**
 * Refuses what JSON.stringify would silently change or drop (Django's json.dumps raises on it):
 * functions, symbols, BigInts, undefined inside arrays, NaN/Infinity, Maps, Sets, class instances.
 * `toJSON()` results (a Date's ISO string) are what the replacer sees, so they pass.
 */
function strictJson(this: unknown, _key: string, value: unknown): unknown {
  switch (typeof value) {
    case 'number':
      if (!Number.isFinite(value)) throw new UnserializableJson(`number ${value}`);
      return value;
    case 'string':
      // PostgreSQL's jsonb refuses \u0000.
      if (value.includes('\0')) throw new UnserializableJson('a string containing \\0');
      return value;
    case 'function':
    case 'symbol':
    case 'bigint':
      throw new UnserializableJson(describeValue(value));
    case 'undefined':
      // An undefined property is left out (as in JS); in an array it would turn into null.
      if (Array.isArray(this)) throw new UnserializableJson('undefined in an array');
      return value;
    case 'object': {
      if (value === null || Array.isArray(value)) return value;
      const prototype = Object.getPrototypeOf(value) as unknown;
      if (prototype !== Object.prototype && prototype !== null) throw new UnserializableJson(describeValue(value));
      return value;
    }
    default:
      return value;
  }
}

/** JSON text of plain data: objects, arrays, strings, finite numbers, booleans, null. */
export function prepareJson(field: FieldIdentity, value: unknown): string {
  try {
    return JSON.stringify(value, strictJson);
  } catch (error) {
    const got = error instanceof UnserializableJson ? `${error.message}${error.message === describeValue(value) ? '' : ' inside the value'}` : `a value JSON cannot encode (${(error as Error).message})`;
    throw refuse(field, value, 'JSON-serializable data (plain objects, arrays, strings, finite numbers, booleans, null)', 'invalid', got);
  }
}
