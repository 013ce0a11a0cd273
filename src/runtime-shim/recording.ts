/**
 * ORM_MIGRATE_WARNINGS_FILE: one JSON line per deprecated call, for the CI gate. Every occurrence
 * is recorded, whether its printing was deduplicated, silenced or turned into an error.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CallSite } from './warnings.js';
import { formatCallSite } from './warnings.js';

export const WARNINGS_FILE_ENV = 'ORM_MIGRATE_WARNINGS_FILE';

/** Where the mocha plugin keeps the running test's full title (a global: it may be another module instance). */
export const CURRENT_TEST = Symbol.for('orm-migrate.current-test');

/** One line of the warnings file. */
export interface WarningRecord {
  code: string;
  method: string;
  model: string;
  /** `file:line:col`, relative to the working directory. */
  site: string;
  pid: number;
  /** The mocha test that made the call (with `--require orm-migrate/mocha`). */
  test?: string;
}

let open: { path: string; fd: number } | null = null;

function descriptorFor(path: string): number {
  if (open?.path !== path) {
    if (open) closeSync(open.fd);
    // O_APPEND: each writeSync lands whole at the end, even with many processes appending at once.
    open = { path, fd: openSync(path, 'a') };
  }
  return open.fd;
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
  const test = currentTestTitle();
  if (test !== undefined) record.test = test;
  // One write() per line: lines from concurrent writers never interleave.
  writeSync(descriptorFor(resolve(target)), `${JSON.stringify(record)}\n`);
}
