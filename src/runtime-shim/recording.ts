/**
 * ORM_MIGRATE_WARNINGS_FILE: one JSON line per deprecated call, for the CI gate. Every occurrence
 * is recorded, whether its printing was deduplicated, silenced or turned into an error.
 *
 * Recording is telemetry: it never changes what the user's program does. A write that fails
 * prints one line to stderr and the call goes on; the gate then refuses the incomplete record.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { CallSite } from './warnings.js';
import { formatCallSite } from './warnings.js';

export const WARNINGS_FILE_ENV = 'ORM_MIGRATE_WARNINGS_FILE';
/** Set by the run header's writer (the mocha plugin) and inherited by workers and child processes. */
export const RUN_ID_ENV = 'ORM_MIGRATE_RUN_ID';

/** Where the mocha plugin keeps the running test's full title (a global: it may be another module instance). */
export const CURRENT_TEST = Symbol.for('orm-migrate.current-test');

/** One deprecated call: a line of the warnings file. */
export interface WarningRecord {
  code: string;
  method: string;
  model: string;
  /** `file:line:col`, relative to the working directory. */
  site: string;
  pid: number;
  /** The test run (its header's id), when a run header was written. */
  run?: string;
  /** The mocha test that made the call (with `--require orm-migrate/mocha`). */
  test?: string;
}

/** The first line of a test run's record: tells "no deprecated call" apart from "nothing recorded". */
export interface RunHeader {
  kind: 'run';
  run: string;
  pid: number;
  startedAt: string;
}

/** The last line of a finished run: without it the gate treats the record as cut short. */
export interface RunEnd {
  kind: 'run-end';
  run: string;
  pid: number;
}

/** Written (when it still can be) after a failed write: the run's record is incomplete. */
export interface RecordingFailure {
  kind: 'recording-failed';
  run?: string;
  pid: number;
  error: string;
}

let open: { path: string; fd: number } | null = null;
/** Files this process already complained about (one stderr line each). */
const failedFiles = new Set<string>();

function descriptorFor(path: string): number {
  if (open?.path !== path) {
    if (open) closeSync(open.fd);
    open = null;
    mkdirSync(dirname(path), { recursive: true });
    // O_APPEND: each writeSync lands whole at the end, even with many processes appending at once.
    open = { path, fd: openSync(path, 'a') };
  }
  return open.fd;
}

function reportFailure(path: string, error: unknown): void {
  if (failedFiles.has(path)) return;
  failedFiles.add(path);
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`orm-migrate: cannot record deprecated calls to ${path}: ${message} (the program goes on; orm-migrate gate will reject this incomplete record)\n`);
  const failure: RecordingFailure = { kind: 'recording-failed', pid: process.pid, error: message };
  const run = process.env[RUN_ID_ENV];
  if (run) failure.run = run;
  try {
    writeSync(descriptorFor(path), `${JSON.stringify(failure)}\n`);
  } catch {
    // Nothing more to do: without this line the gate still finds a run whose records stop short.
  }
}

/** Appends one line; never throws. */
function appendLine(path: string, line: string): void {
  try {
    // One write() per line: lines from concurrent writers never interleave.
    writeSync(descriptorFor(path), line);
  } catch (error) {
    reportFailure(path, error);
  }
}

export function currentTestTitle(): string | undefined {
  const title = (globalThis as { [CURRENT_TEST]?: unknown })[CURRENT_TEST];
  return typeof title === 'string' ? title : undefined;
}

/** Appends the record when ORM_MIGRATE_WARNINGS_FILE is set (read at each call). */
export function recordToWarningsFile(code: string, method: string, model: string, site: CallSite | null): void {
  const target = process.env[WARNINGS_FILE_ENV];
  if (!target) return;
  const record: WarningRecord = { code, method, model, site: formatCallSite(site), pid: process.pid };
  const run = process.env[RUN_ID_ENV];
  if (run) record.run = run;
  const test = currentTestTitle();
  if (test !== undefined) record.test = test;
  appendLine(resolve(target), `${JSON.stringify(record)}\n`);
}

/**
 * Starts a fresh record for one test run: truncates ORM_MIGRATE_WARNINGS_FILE (creating its
 * directory), writes the run header and exports the run id to this process's environment, so
 * workers and child processes started afterwards tag their records with it. Does nothing when
 * the variable is unset; never throws. Returns the run id, or null.
 */
export function startRecordingRun(): string | null {
  const target = process.env[WARNINGS_FILE_ENV];
  if (!target) return null;
  const path = resolve(target);
  const header: RunHeader = { kind: 'run', run: randomUUID(), pid: process.pid, startedAt: new Date().toISOString() };
  process.env[RUN_ID_ENV] = header.run;
  try {
    if (open?.path === path) {
      closeSync(open.fd);
      open = null;
    }
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${JSON.stringify(header)}\n`);
  } catch (error) {
    reportFailure(path, error);
  }
  return header.run;
}

/** Ends the run started by startRecordingRun (after the last test; mocha's global teardown). Never throws. */
export function finishRecordingRun(): void {
  const target = process.env[WARNINGS_FILE_ENV];
  const run = process.env[RUN_ID_ENV];
  if (!target || !run) return;
  const end: RunEnd = { kind: 'run-end', run, pid: process.pid };
  appendLine(resolve(target), `${JSON.stringify(end)}\n`);
}
