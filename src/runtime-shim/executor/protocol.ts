/** Messages between the main thread and the database worker threads. */
import type { MessagePort } from 'node:worker_threads';
import type { Statement, StatementResult } from '../backends/types.js';
import type { ResolvedDatabaseSettings, ResolvedPostgresSettings } from '../config.js';
import type { SerializedDriverError } from '../errors.js';

export interface WorkerSetup {
  settings: ResolvedDatabaseSettings;
}

export interface StatementRequest {
  id: number;
  statement: Statement;
}

export type StatementReply =
  | { id: number; ok: true; result: StatementResult; durationMs: number }
  | { id: number; ok: false; error: SerializedDriverError };

/** The blocking worker: requests come on parentPort, replies go to `port`, progress is signalled in `state`. */
export interface BlockingWorkerSetup {
  settings: ResolvedPostgresSettings;
  /** statement_timeout of the worker's connection, in ms (0: none). */
  statementTimeout: number;
  /** Int32Array over a SharedArrayBuffer: index 0 holds a BlockingState. */
  state: Int32Array;
  port: MessagePort;
}

/** What the blocking worker has done with the current request (the caller waits on the changes). */
export const BlockingState = { idle: 0, taken: 1, done: 2 } as const;

/** An error as it crosses a thread boundary (class name, message and driver code survive). */
export function serializeError(error: unknown): SerializedDriverError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, code: typeof code === 'string' ? code : undefined };
  }
  return { name: 'Error', message: String(error) };
}
