/** Reading the runtime's warnings file (JSON lines) with errors that name the file and line. */
import { readFileSync } from 'node:fs';
import type { WarningRecord } from '../runtime-shim/recording.js';

export class GateInputError extends Error {
  override name = 'GateInputError';
}

/** One line of the warnings file, as the runtime writes it. */
export type RecordedWarning = WarningRecord;

const SITE = /^.+:\d+:\d+$|^<unknown call site>$/;

function checkRecord(value: unknown, where: string): RecordedWarning {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new GateInputError(`${where}: expected a JSON object`);
  const record = value as Record<string, unknown>;
  for (const key of ['code', 'method', 'site'] as const) {
    if (typeof record[key] !== 'string' || record[key] === '') throw new GateInputError(`${where}: "${key}" must be a non-empty string`);
  }
  if (typeof record.model !== 'string') throw new GateInputError(`${where}: "model" must be a string`);
  if (!SITE.test(record.site as string)) throw new GateInputError(`${where}: "site" must look like file:line:col (got ${JSON.stringify(record.site)})`);
  if (typeof record.pid !== 'number') throw new GateInputError(`${where}: "pid" must be a number`);
  if (record.test !== undefined && typeof record.test !== 'string') throw new GateInputError(`${where}: "test" must be a string`);
  return record as unknown as RecordedWarning;
}

/** Every record of the file; a missing file means no warnings were recorded. */
export function readWarningsFile(path: string): RecordedWarning[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new GateInputError(`${path}: cannot read the warnings file: ${(error as Error).message}`);
  }
  const records: RecordedWarning[] = [];
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    const where = `${path}:${index + 1}`;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      throw new GateInputError(`${where}: not valid JSON (${(error as Error).message})`);
    }
    records.push(checkRecord(parsed, where));
  });
  return records;
}
