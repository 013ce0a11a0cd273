/**
 * The database engines the runtime tests run on: SQLite always, PostgreSQL when the local server
 * answers (ORM_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test). Each suite
 * run on PostgreSQL gets its own schema, dropped when the suite ends.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { closeAllConnections, configure, migrate, resetWarningsSeen } from 'orm-migrate/runtime';
import type { DatabaseSettings, PostgresSettings } from 'orm-migrate/runtime';
import { configuredAliases, databaseSettings } from '../../../dist/runtime-shim/config.js';
import type { ResolvedDatabaseSettings } from '../../../dist/runtime-shim/config.js';

export type EngineName = 'sqlite' | 'postgres';

export const POSTGRES_URL = process.env.ORM_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test';
const RUN_ID = `${Math.floor(Date.now() / 1000)}_${process.pid}`;
/** Schemas of runs that died before dropping theirs are removed once they are this old. */
const STALE_SCHEMA_SECONDS = 6 * 3600;

/** Tests only ever talk to this machine. */
function loopbackProblem(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'ORM_TEST_POSTGRES_URL is not a URL';
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const socket = parsed.searchParams.get('host');
  if (host === '' && (socket === null || socket.startsWith('/'))) return null;
  if (host === 'localhost' || host === '::1' || /^127\./.test(host)) return null;
  return `refusing the non-loopback host '${host}': the tests only use a local server`;
}

let adminPool: pg.Pool | null = null;

/** A small pool for the tests' own statements (schemas, pg_stat_activity); it never keeps the process alive. */
export function admin(): pg.Pool {
  if (!adminPool) throw new Error('PostgreSQL is not available in this run');
  return adminPool;
}

async function probePostgres(): Promise<string | null> {
  const problem = loopbackProblem(POSTGRES_URL);
  if (problem) return problem;
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 3, connectionTimeoutMillis: 3000, idleTimeoutMillis: 1000, allowExitOnIdle: true, application_name: 'orm-migrate-tests-admin' });
  pool.on('error', () => undefined);
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => undefined);
    return (error as Error).message || String(error);
  }
  adminPool = pool;
  const { rows } = await pool.query<{ nspname: string }>(String.raw`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'orm\_test\_%'`);
  const now = Date.now() / 1000;
  for (const { nspname } of rows) {
    const started = Number(nspname.split('_')[2]);
    if (Number.isFinite(started) && now - started > STALE_SCHEMA_SECONDS) await pool.query(`DROP SCHEMA IF EXISTS "${nspname}" CASCADE`);
  }
  return null;
}

const postgresProblem = await probePostgres();

export interface TestEngine {
  readonly name: EngineName;
  /** Why this engine's suites are skipped in this run, or null. */
  readonly skipReason: string | null;
  /** Settings of the running test's database, for configure(). */
  settings(extra?: Partial<PostgresSettings>): DatabaseSettings;
  /** Makes the test's database, empty (call before configure()). */
  create(): Promise<void>;
  /** Removes it. */
  destroy(): Promise<void>;
  /** Empties every table and restarts the ids, keeping open connections (PostgreSQL; SQLite makes a new file). */
  reset(): Promise<void>;
  /** The driver code of a duplicate primary key. */
  readonly duplicateKeyCode: string;
}

class SqliteEngine implements TestEngine {
  readonly name = 'sqlite' as const;
  readonly skipReason = null;
  readonly duplicateKeyCode = 'SQLITE_CONSTRAINT_PRIMARYKEY';
  dir = '';
  file = '';
  settings(): DatabaseSettings {
    return { engine: 'sqlite', name: this.file };
  }
  async create(): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), 'orm-migrate-test-'));
    this.file = join(this.dir, 'polls.sqlite3');
  }
  async destroy(): Promise<void> {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = '';
  }
  async reset(): Promise<void> {
    await closeAllConnections();
    await this.destroy();
    await this.create();
    configure({ databases: { default: this.settings() } });
    migrate();
  }
}

let schemaCounter = 0;

class PostgresEngine implements TestEngine {
  readonly name = 'postgres' as const;
  readonly skipReason = postgresProblem;
  readonly duplicateKeyCode = '23505';
  readonly schema = `orm_test_${RUN_ID}_${++schemaCounter}`;
  settings(extra: Partial<PostgresSettings> = {}): DatabaseSettings {
    return { engine: 'postgres', url: POSTGRES_URL, schema: this.schema, applicationName: `orm-migrate-tests-${RUN_ID}`, ...extra };
  }
  async create(): Promise<void> {
    await admin().query(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE; CREATE SCHEMA "${this.schema}"`);
  }
  async destroy(): Promise<void> {
    await admin().query(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`);
  }
  async reset(): Promise<void> {
    const { rows } = await admin().query<{ tablename: string }>('SELECT tablename FROM pg_tables WHERE schemaname = $1', [this.schema]);
    if (rows.length === 0) return;
    const tables = rows.map((row) => `"${this.schema}"."${row.tablename}"`).join(', ');
    await admin().query(`TRUNCATE ${tables} RESTART IDENTITY CASCADE`);
  }
}

export function sqliteEngine(): SqliteEngine {
  return new SqliteEngine();
}

/** A fresh engine handle per suite (PostgreSQL: its own schema). */
export function testEngines(): TestEngine[] {
  return [new SqliteEngine(), new PostgresEngine()];
}

/**
 * Defines the suite once per engine: "title [sqlite]" and "title [postgres]". Without a
 * reachable PostgreSQL the postgres copy prints one "skipped: no PostgreSQL at …" line and its
 * tests are reported as pending.
 */
export function describeEachEngine(title: string, body: (engine: TestEngine) => void, engines: readonly EngineName[] = ['sqlite', 'postgres']): void {
  for (const engine of testEngines().filter((e) => engines.includes(e.name))) {
    describe(`${title} [${engine.name}]`, function () {
      if (engine.skipReason !== null) {
        before(function () {
          console.log(`      skipped: no PostgreSQL at ${POSTGRES_URL} (${engine.skipReason})`);
          this.skip();
        });
      } else if (engine.name === 'postgres') {
        after(async () => {
          await closeAllConnections();
          await engine.destroy();
        });
      }
      body(engine);
    });
  }
}

/**
 * Registers mocha hooks: each test gets its own empty, migrated database; every connection is
 * closed after. On PostgreSQL a test that left `default` as the hook configured it keeps its
 * connections and worker threads for the next test, whose tables are emptied instead (starting
 * a worker thread costs more than the test itself).
 */
export function useFreshDatabase(engine: TestEngine): void {
  let configured: ResolvedDatabaseSettings | null = null;
  beforeEach(async () => {
    resetWarningsSeen();
    if (configured !== null && currentSettings() === configured) {
      await engine.reset();
      return;
    }
    await engine.create();
    configure({ databases: { default: engine.settings() } });
    migrate();
    if (engine.name === 'postgres') configured = currentSettings();
  });
  afterEach(async () => {
    if (configured !== null && currentSettings() === configured) return;
    configured = null;
    await closeAllConnections();
    if (engine.name === 'sqlite') await engine.destroy();
  });
  after(() => closeAllConnections());
}

function currentSettings(): ResolvedDatabaseSettings | null {
  return configuredAliases().includes('default') ? databaseSettings('default') : null;
}
