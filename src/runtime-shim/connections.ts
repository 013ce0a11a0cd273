/** Opening connections, per alias: block connections, the thread's sync connection, the sticky worker. */
import { threadId } from 'node:worker_threads';
import { PooledPostgresConnection, PostgresPool } from './backends/postgres.js';
import { SqliteDriverConnection, sqliteFileKey } from './backends/sqlite.js';
import type { Statement, StatementResult } from './backends/types.js';
import { configuredAliases, databaseSettings, onReconfigure } from './config.js';
import type { ResolvedDatabaseSettings } from './config.js';
import { ContextConnection } from './connection.js';
import { ImproperlyConfigured } from './errors.js';
import { BlockingPostgresConnection } from './executor/blocking-worker.js';
import type { TxFrame } from './connection.js';
import { emitQuery, hasQueryListeners } from './events.js';
import { StickyWorker } from './executor/sticky-worker.js';
import { fileWriteLock, writeLockTimeout } from './locks.js';
import type { FileWriteLock } from './locks.js';
import { postgresDialect, sqliteDialect } from './orm/dialect.js';
import type { Op } from './orm/ops.js';
import { runOpAsync, runOpSync } from './runner.js';
import type { AsyncExecutor } from './runner.js';

const openBlockConnections = new Set<ContextConnection>();
const pools = new Map<string, PostgresPool>();

/** The alias's connection pool (PostgreSQL), made on first use. */
export function postgresPool(alias: string): PostgresPool {
  const settings = databaseSettings(alias);
  if (settings.engine !== 'postgres') throw new ImproperlyConfigured(`the database alias '${alias}' is not a PostgreSQL alias`);
  let pool = pools.get(alias);
  if (!pool) {
    pool = new PostgresPool(settings);
    pools.set(alias, pool);
  }
  return pool;
}

/** How an engine's connections order writers and open transactions, and what errors call the database. */
function engineTraits(settings: ResolvedDatabaseSettings): { writeLock: FileWriteLock | null; beginSql: string; target: string; timeout: number } {
  if (settings.engine === 'postgres') {
    // The server orders concurrent writers itself: no client-side write lock.
    return { writeLock: null, beginSql: postgresDialect.beginTransaction, target: `the PostgreSQL server at ${settings.display}`, timeout: settings.pool.acquireTimeout };
  }
  const file = sqliteFileKey(settings);
  return { writeLock: file ? fileWriteLock(file) : null, beginSql: sqliteDialect.beginTransaction, target: `the SQLite file '${settings.name}'`, timeout: settings.timeout };
}

/**
 * An in-memory SQLite database belongs to the one connection that opened it: a block's connection
 * or the fallback's worker would get an empty database of its own, and fail later with "no such
 * table". Refused where that connection would be opened, naming the setting.
 */
function refusePrivateDatabase(settings: ResolvedDatabaseSettings, why: string): void {
  if (settings.engine !== 'sqlite' || settings.name !== ':memory:') return;
  throw new ImproperlyConfigured(
    `databases.${settings.alias}.name is ':memory:', a SQLite database private to the connection that opened it, and ${why}, which would see an empty database. Use a database file (a temporary one in tests)`,
  );
}

/** A fresh connection for a newConnection() block (PostgreSQL: a client from the pool, checked out on its first statement). */
export function openBlockConnection(alias: string): ContextConnection {
  const settings = databaseSettings(alias);
  refusePrivateDatabase(settings, 'a newConnection() block opens a connection of its own');
  const connection = new ContextConnection({
    alias,
    driver:
      settings.engine === 'postgres'
        ? new PooledPostgresConnection(postgresPool(alias))
        : // Busy timeout 0: a writer never waits inside SQLite; it queues on the file lock or retries asynchronously.
          new SqliteDriverConnection(settings, { busyTimeout: 0 }),
    via: 'async-connection',
    ...engineTraits(settings),
    syncTwin: () => syncConnection(alias).connection,
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
    sync = new SyncConnection(
      new ContextConnection({
        alias,
        driver:
          settings.engine === 'postgres'
            ? new BlockingPostgresConnection(settings)
            : new SqliteDriverConnection(settings, { busyTimeout: settings.timeout }),
        via: 'sync',
        ...engineTraits(settings),
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
  try {
    refusePrivateDatabase(databaseSettings(alias), 'an async call outside any newConnection() block runs on a worker thread, on a connection of its own');
  } catch (error) {
    return Promise.reject(error);
  }
  const worker = stickyWorker(alias);
  // The worker's settings are the alias's: a reconfigured alias gets a new worker.
  const { writeLock: lock, beginSql, target, timeout } = engineTraits(worker.settings);
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
        await lock?.acquire(owner, timeout, () => writeLockTimeout(target, timeout));
        try {
          await control(beginSql);
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

/**
 * How many connections this thread has open: blocks, sync connections and live workers, and
 * PostgreSQL clients held by pools (in use or idle).
 */
export function openConnectionCount(): { blocks: number; sync: number; workers: number; pooled: number } {
  let sync = 0;
  for (const connection of syncConnections.values()) if (!connection.connection.isClosed) sync++;
  let live = 0;
  for (const worker of workers.values()) if (worker.threadId !== null) live++;
  let pooled = 0;
  for (const pool of pools.values()) pooled += pool.stats.total;
  return { blocks: openBlockConnections.size, sync, workers: live, pooled };
}

async function closeAlias(alias: string): Promise<void> {
  // Detach first: a connection opened for the alias meanwhile must not be dropped unclosed.
  const sync = syncConnections.get(alias);
  syncConnections.delete(alias);
  const worker = workers.get(alias);
  workers.delete(alias);
  const pool = pools.get(alias);
  pools.delete(alias);
  await Promise.all([sync?.connection.close(), worker?.terminate(), pool?.end()]);
}

/** Closes the sync connections, stops the worker threads and ends the pools (blocks close themselves). */
export async function closeAllConnections(): Promise<void> {
  const aliases = new Set([...syncConnections.keys(), ...workers.keys(), ...pools.keys(), ...configuredAliases()]);
  await Promise.all([...aliases].map(closeAlias));
}

onReconfigure((previous) => {
  for (const alias of previous.keys()) void closeAlias(alias);
});

