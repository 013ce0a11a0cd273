/**
 * Validates a SARIF log against the SARIF 2.1.0 JSON schema (the OASIS schema as SchemaStore
 * publishes it, draft-04, shipped in the @microsoft/jest-sarif dev dependency).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ErrorObject, ValidateFunction } from 'ajv';

const require = createRequire(import.meta.url);
// CommonJS packages whose typings describe an ES default export: load them as CommonJS.
const AjvDraft04 = require('ajv-draft-04') as typeof import('ajv-draft-04').default;
const addFormats = require('ajv-formats') as typeof import('ajv-formats').default;
const schemaPath = join(dirname(require.resolve('@microsoft/jest-sarif/package.json')), 'lib', 'schemas', 'sarif-2.1.0-rtm.5.json');

let validator: ValidateFunction | undefined;

function compile(): ValidateFunction {
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
  // The schema's language-tag pattern is not valid with the `u` flag; plain RegExps are what it was written for.
  const ajv = new AjvDraft04({ allErrors: true, strict: false, unicodeRegExp: false });
  addFormats(ajv);
  return ajv.compile(schema);
}

/** The schema's errors for `log` (empty when it is valid SARIF 2.1.0). */
export function sarifErrors(log: unknown): ErrorObject[] {
  validator ??= compile();
  return validator(log) ? [] : [...(validator.errors ?? [])];
}

export const SARIF_SCHEMA_TITLE = (JSON.parse(readFileSync(schemaPath, 'utf8')) as { title: string }).title;
