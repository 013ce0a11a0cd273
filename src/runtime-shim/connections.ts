/** Opening connections, per alias: block connections, the thread's sync connection, the sticky worker. */
import { threadId } from 'node:worker_threads';
import { SqliteDriverConnection, sqliteFileKey } from './backends/sqlite.js';
import type { Statement, StatementResult } from './backends/types.js';
import { configuredAliases, databaseSettings, onReconfigure } from './config.js';
import type { ResolvedDatabaseSettings } from './config.js';
import { ContextConnection } from './connection.js';
import type { TxFrame } from './connection.js';
import { emitQuery, hasQueryListeners } from './events.js';
import { StickyWorker } from './executor/sticky-worker.js';
import { fileWriteLock } from './locks.js';
import type { Op } from './orm/ops.js';
import { runOpAsync, runOpSync } from './runner.js';
import type { AsyncExecutor } from './runner.js';

const openBlockConnections = new Set<ContextConnection>();

/** A fresh connection for a newConnection() block. */
export function openBlockConnection(alias: string): ContextConnection {
  const settings = databaseSettings(alias);
  const file = sqliteFileKey(settings);
  const connection = new ContextConnection({
    alias,
    // Busy timeout 0: a writer never waits inside SQLite; it queues on the file lock or retries asynchronously.
    driver: new SqliteDriverConnection(settings, { busyTimeout: 0 }),
    via: 'async-connection',
    writeLock: file ? fileWriteLock(file) : null,
    timeout: settings.timeout,
    beginSql: 'BEGIN IMMEDIATE',
    target: `the SQLite file '${settings.name}'`,
  });
  openBlockConnections.add(connection);
  return connection;
}

export async function closeBlockConnection(connection: ContextConnection): Promise<void> {
  openBlockConnections.delete(connection);
  await connection.close();
}

/** The connection legacy sync code uses on this thread (Django's thread-local connection). */
export class SyncConnection {
  private frame: TxFrame | null = null;
  constructor(readonly connection: ContextConnection) {}

  run<T>(op: Op<T>): T {
    return runOpSync(op, this.connection.syncExecutor(this.frame));
  }

  atomic<T>(fn: () => T): T {
    return this.connection.atomicSync(this.frame, (inner) => {
      const outer = this.frame;
      this.frame = inner;
      try {
        return fn();
      } finally {
        this.frame = outer;
      }
    });
  }
}

const syncConnections = new Map<string, SyncConnection>();

export function syncConnection(alias: string): SyncConnection {
  let sync = syncConnections.get(alias);
  if (!sync || sync.connection.isClosed) {
    const settings = databaseSettings(alias);
    const file = sqliteFileKey(settings);
    sync = new SyncConnection(
      new ContextConnection({
        alias,
        driver: new SqliteDriverConnection(settings, { busyTimeout: settings.timeout }),
        via: 'sync',
        writeLock: file ? fileWriteLock(file) : null,
        timeout: settings.timeout,
        beginSql: 'BEGIN IMMEDIATE',
        target: `the SQLite file '${settings.name}'`,
      }),
    );
    syncConnections.set(alias, sync);
  }
  return sync;
}

const workers = new Map<string, StickyWorker>();

export function stickyWorker(alias: string): StickyWorker {
  let worker = workers.get(alias);
  if (!worker) {
    worker = new StickyWorker(databaseSettings(alias));
    workers.set(alias, worker);
  }
  return worker;
}

/** Runs an operation on the alias's sticky worker, with the whole call served exclusively. */
export function runOnStickyWorker<T>(alias: string, op: Op<T>): Promise<T> {
  const worker = stickyWorker(alias);
  const settings = databaseSettings(alias);
  const file = sqliteFileKey(settings);
  const lock = file ? fileWriteLock(file) : null;
  const owner = {};
  const send = async (statement: Statement): Promise<StatementResult> => {
    const { result, durationMs } = await worker.execute(statement);
    if (hasQueryListeners()) {
      emitQuery({ sql: statement.sql, params: statement.params, alias, durationMs, threadId: worker.threadId ?? threadId, via: 'thread-fallback' });
    }
    return result;
  };
  const control = (sql: string) => send({ sql, params: [], mode: 'run', writes: true });
  const executor = (depth: number): AsyncExecutor => ({
    execute: send,
    async atomic(inner) {
      const savepoint = `w${depth}`;
      if (depth === 0) {
        // Hold this thread's lock for the file, so blocks queue behind the worker's transaction.
        await lock?.acquire(owner);
        try {
          await control('BEGIN IMMEDIATE');
        } catch (error) {
          lock?.release(owner);
          throw error;
        }
      } else {
        await control(`SAVEPOINT "${savepoint}"`);
      }
      try {
        const result = await runOpAsync(inner, executor(depth + 1));
        await control(depth === 0 ? 'COMMIT' : `RELEASE SAVEPOINT "${savepoint}"`);
        return result;
      } catch (error) {
        if (depth === 0) await control('ROLLBACK').catch(() => undefined);
        else await control(`ROLLBACK TO SAVEPOINT "${savepoint}"`).then(() => control(`RELEASE SAVEPOINT "${savepoint}"`)).catch(() => undefined);
        throw error;
      } finally {
        if (depth === 0) lock?.release(owner);
      }
    },
  });
  return worker.exclusive(() => runOpAsync(op, executor(0)));
}

/** How many connections this thread has open: blocks, sync connections and live workers. */
export function openConnectionCount(): { blocks: number; sync: number; workers: number } {
  let sync = 0;
  for (const connection of syncConnections.values()) if (!connection.connection.isClosed) sync++;
  let live = 0;
  for (const worker of workers.values()) if (worker.threadId !== null) live++;
  return { blocks: openBlockConnections.size, sync, workers: live };
}

async function closeAlias(alias: string): Promise<void> {
  // Detach first: a connection opened for the alias meanwhile must not be dropped unclosed.
  const sync = syncConnections.get(alias);
  syncConnections.delete(alias);
  const worker = workers.get(alias);
  workers.delete(alias);
  await Promise.all([sync?.connection.close(), worker?.terminate()]);
}

/** Closes the sync connections and stops the worker threads (blocks close themselves). */
export async function closeAllConnections(): Promise<void> {
  const aliases = new Set([...syncConnections.keys(), ...workers.keys(), ...configuredAliases()]);
  await Promise.all([...aliases].map(closeAlias));
}

onReconfigure((previous) => {
  for (const alias of previous.keys()) void closeAlias(alias);
});

export type { ResolvedDatabaseSettings };
