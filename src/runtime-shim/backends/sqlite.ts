import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { DriverNotInstalledError, wrapDriverError } from '../errors.js';
import type { ResolvedSqliteSettings } from '../config.js';
import type { Row, Statement, StatementResult, SyncDriverConnection } from './types.js';

type DatabaseConstructor = typeof BetterSqlite3;

let driver: DatabaseConstructor | undefined;

/** Loads better-sqlite3 on first use, so `orm-migrate scan` never needs the native module. */
export function loadSqliteDriver(): DatabaseConstructor {
  if (driver) return driver;
  const require = createRequire(import.meta.url);
  try {
    driver = require('better-sqlite3') as DatabaseConstructor;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') {
      throw new DriverNotInstalledError('sqlite', 'better-sqlite3', { cause: error });
    }
    throw error;
  }
  return driver;
}

/** Fails at configure() time, before any query, when better-sqlite3 cannot be found. */
export function assertSqliteDriverInstalled(): void {
  if (driver) return;
  try {
    createRequire(import.meta.url).resolve('better-sqlite3');
  } catch (error) {
    throw new DriverNotInstalledError('sqlite', 'better-sqlite3', { cause: error });
  }
}

/** The file a SQLite alias writes to; connections to one file share its write lock. */
export function sqliteFileKey(settings: ResolvedSqliteSettings): string | null {
  return settings.name === ':memory:' ? null : resolve(settings.name);
}

const STATEMENT_CACHE_SIZE = 256;

export interface SqliteOpenOptions {
  /** SQLite's own (synchronous) busy wait in ms; 0 for connections whose waits must be async. */
  busyTimeout: number;
}

export class SqliteDriverConnection implements SyncDriverConnection {
  readonly kind = 'sync' as const;
  private readonly db: BetterSqlite3.Database;
  private readonly statements = new Map<string, BetterSqlite3.Statement>();

  constructor(settings: ResolvedSqliteSettings, options: SqliteOpenOptions) {
    const Database = loadSqliteDriver();
    try {
      this.db = new Database(settings.name, { timeout: options.busyTimeout });
      if (settings.name !== ':memory:') this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = ON');
    } catch (error) {
      throw wrapDriverError(error);
    }
  }

  get isOpen(): boolean {
    return this.db.open;
  }

  private prepare(sql: string): BetterSqlite3.Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      if (this.statements.size >= STATEMENT_CACHE_SIZE) {
        this.statements.delete(this.statements.keys().next().value as string);
      }
      this.statements.set(sql, statement);
    }
    return statement;
  }

  execute(statement: Statement): StatementResult {
    try {
      const prepared = this.prepare(statement.sql);
      switch (statement.mode) {
        case 'all':
          return prepared.all(...statement.params) as Row[];
        case 'get':
          return prepared.get(...statement.params) as Row | undefined;
        case 'run': {
          const { changes, lastInsertRowid } = prepared.run(...statement.params);
          return { changes, lastInsertRowid };
        }
      }
    } catch (error) {
      throw wrapDriverError(error);
    }
  }

  *iterate(statement: Statement): IterableIterator<Row> {
    let rows: IterableIterator<unknown>;
    try {
      rows = this.prepare(statement.sql).iterate(...statement.params);
    } catch (error) {
      throw wrapDriverError(error);
    }
    yield* rows as IterableIterator<Row>;
  }

  /** True while this connection has an open transaction (SQLite's own view). */
  get inTransaction(): boolean {
    return this.db.inTransaction;
  }

  close(): void {
    this.statements.clear();
    if (this.db.open) this.db.close();
  }
}
