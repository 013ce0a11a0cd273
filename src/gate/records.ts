/**
 * Reading the runtime's warnings file (JSON lines): the latest test run's records. Fails closed:
 * no file, no run header or a failed recording is an error, never "0 deprecated calls".
 */
import { readFileSync, statSync } from 'node:fs';
import type { WarningRecord } from '../runtime-shim/recording.js';

export class GateInputError extends Error {
  override name = 'GateInputError';
}

/** One line of the warnings file, as the runtime writes it. */
export type RecordedWarning = WarningRecord;

export interface RecordedRun {
  /** The run header's id. */
  run: string;
  startedAt: string;
  records: RecordedWarning[];
  /** Records after the header that belong to no run or another run (a leftover process). */
  ignored: number;
}

const SITE = /^.+:\d+:\d+$|^<unknown call site>$/;
const HOW_TO_RECORD = 'was ORM_MIGRATE_WARNINGS_FILE set for the test run, with mocha --require orm-migrate/mocha?';

function checkRecord(value: Record<string, unknown>, where: string): RecordedWarning {
  const record = value;
  for (const key of ['code', 'method', 'site'] as const) {
    if (typeof record[key] !== 'string' || record[key] === '') throw new GateInputError(`${where}: "${key}" must be a non-empty string`);
  }
  if (typeof record.model !== 'string') throw new GateInputError(`${where}: "model" must be a string`);
  if (!SITE.test(record.site as string)) throw new GateInputError(`${where}: "site" must look like file:line:col (got ${JSON.stringify(record.site)})`);
  if (typeof record.pid !== 'number') throw new GateInputError(`${where}: "pid" must be a number`);
  if (record.test !== undefined && typeof record.test !== 'string') throw new GateInputError(`${where}: "test" must be a string`);
  if (record.run !== undefined && typeof record.run !== 'string') throw new GateInputError(`${where}: "run" must be a string`);
  return record as unknown as RecordedWarning;
}

type Line =
  | { kind: 'run'; run: string; startedAt: string }
  | { kind: 'run-end'; run: string }
  | { kind: 'recording-failed'; run?: string; pid: number; error: string; where: string }
  | { kind: 'warning'; record: RecordedWarning };

function parseLine(text: string, where: string): Line {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new GateInputError(`${where}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new GateInputError(`${where}: expected a JSON object`);
  const value = parsed as Record<string, unknown>;
  if (value.kind === 'run') {
    if (typeof value.run !== 'string' || value.run === '') throw new GateInputError(`${where}: the run header's "run" must be a non-empty string`);
    return { kind: 'run', run: value.run, startedAt: typeof value.startedAt === 'string' ? value.startedAt : '' };
  }
  if (value.kind === 'run-end') return { kind: 'run-end', run: String(value.run) };
  if (value.kind === 'recording-failed') {
    return { kind: 'recording-failed', ...(typeof value.run === 'string' ? { run: value.run } : {}), pid: Number(value.pid), error: String(value.error), where };
  }
  if (value.kind !== undefined) throw new GateInputError(`${where}: unknown "kind" ${JSON.stringify(value.kind)} (expected "run", "run-end", "recording-failed" or a warning record)`);
  return { kind: 'warning', record: checkRecord(value, where) };
}

/** The latest run in the file: the records after its header that carry its id. */
export function readWarningsFile(path: string, shownAs: string = path): RecordedRun {
  let text: string;
  try {
    // A device or FIFO (e.g. a symlink to /dev/full) never ends: only a regular file is a record.
    if (!statSync(path).isFile()) throw new GateInputError(`${shownAs} is not a regular file, so it holds no test run's record`);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof GateInputError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new GateInputError(`${shownAs} does not exist: no test run was recorded there (${HOW_TO_RECORD})`);
    throw new GateInputError(`${shownAs}: cannot read the warnings file: ${(error as Error).message}`);
  }
  if (text.trim() === '') throw new GateInputError(`${shownAs} is empty: no test run was recorded there (${HOW_TO_RECORD})`);
  const lines: Line[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() !== '') lines.push(parseLine(line, `${shownAs}:${index + 1}`));
  });
  let start = -1;
  for (let index = lines.length - 1; index >= 0; index -= 1) {
    if (lines[index]!.kind === 'run') {
      start = index;
      break;
    }
  }
  if (start < 0) {
    throw new GateInputError(
      `${shownAs} has ${lines.length} record${lines.length === 1 ? '' : 's'} but no run header, so it cannot tell a complete run from a partial one ` +
        `(run the tests with mocha --require orm-migrate/mocha, which starts each run's record)`,
    );
  }
  const header = lines[start] as Extract<Line, { kind: 'run' }>;
  const run: RecordedRun = { run: header.run, startedAt: header.startedAt, records: [], ignored: 0 };
  let ended = false;
  for (const line of lines.slice(start + 1)) {
    if (line.kind === 'run-end' && line.run === header.run) ended = true;
    if (line.kind === 'recording-failed') {
      throw new GateInputError(`${line.where}: recording failed during the test run (pid ${line.pid}: ${line.error}); the record is incomplete: fix the cause and run the tests again`);
    }
    if (line.kind === 'warning') {
      if (line.record.run === header.run) run.records.push(line.record);
      else run.ignored += 1;
    }
  }
  if (!ended) {
    throw new GateInputError(
      `${shownAs}: the latest test run (started ${header.startedAt}) has no end: it was interrupted, is still running, or its recording failed, so its record may be incomplete; run the tests again`,
    );
  }
  return run;
}
