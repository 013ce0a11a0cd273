/** What every database backend offers the ORM: statements in, rows out. */

export type SqlValue = string | number | bigint | null | Uint8Array;
export type Row = Record<string, unknown>;

/** all: every row; get: the first row or undefined; run: no rows, only counts. */
export type StatementMode = 'all' | 'get' | 'run';

export interface Statement {
  sql: string;
  params: readonly SqlValue[];
  mode: StatementMode;
  /** True when the statement may write (it then needs the database's write lock on SQLite). */
  writes: boolean;
}

export interface RunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

export type StatementResult = Row[] | Row | undefined | RunResult;

/** A connection that answers before returning (better-sqlite3; PostgreSQL's blocking worker). */
export interface SyncDriverConnection {
  readonly kind: 'sync';
  execute(statement: Statement): StatementResult;
  iterate(statement: Statement): IterableIterator<Row>;
  close(): void;
  readonly isOpen: boolean;
  /** The thread that runs the statements when it is not the caller's (a worker); undefined or null otherwise. */
  readonly threadId?: number | null;
}

/** A connection whose statements complete later (the sticky worker, PostgreSQL). */
export interface AsyncDriverConnection {
  readonly kind: 'async';
  execute(statement: Statement): Promise<StatementResult>;
  close(): Promise<void>;
  readonly isOpen: boolean;
  readonly threadId?: number | null;
}

export type DriverConnection = SyncDriverConnection | AsyncDriverConnection;
