/** Messages between the main thread and an alias's sticky worker. */
import type { Statement, StatementResult } from '../backends/types.js';
import type { ResolvedDatabaseSettings } from '../config.js';
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
