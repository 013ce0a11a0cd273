import { assertPgDriverInstalled } from './backends/postgres.js';
import { assertSqliteDriverInstalled } from './backends/sqlite.js';
import { ImproperlyConfigured } from './errors.js';

export type Engine = 'sqlite' | 'postgres';

export interface SqliteSettings {
  engine: 'sqlite';
  /** Path of the database file, relative to the working directory, or ':memory:' (legacy sync code only: blocks and the fallback are refused). */
  name: string;
  /** How long a writer waits for the file's write lock before failing, in ms (default 5000). */
  timeout?: number;
}

export interface PostgresPoolSettings {
  /** Most connections the alias's pool opens at once (default 10). */
  max?: number;
  /** How long getting a connection may take (a free pooled one, or a new one being opened), in ms (default 10000; 0: no limit). */
  acquireTimeout?: number;
  /** How long an unused pooled connection stays open, in ms (default 10000). */
  idleTimeout?: number;
}

export interface PostgresSettings {
  engine: 'postgres';
  /** postgres://user:password@host:port/database; without it the fields below, or DATABASE_URL. */
  url?: string;
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  /** Tables are created and looked up in this schema (the connection's search_path). */
  schema?: string;
  /** Shown in pg_stat_activity (default 'orm-migrate'). */
  applicationName?: string;
  pool?: PostgresPoolSettings;
  /** The server cancels a statement that runs longer, in ms (default 0: no limit). */
  statementTimeout?: number;
  /** How long a sync ORM call may block its thread waiting for the server, in ms (default 30000). */
  syncTimeout?: number;
}

export type DatabaseSettings = SqliteSettings | PostgresSettings;

export interface RuntimeConfig {
  databases: Record<string, DatabaseSettings>;
}

/** Settings after validation, with defaults applied. */
export interface ResolvedSqliteSettings {
  engine: 'sqlite';
  alias: string;
  name: string;
  timeout: number;
}

/** Where a PostgreSQL alias connects: a URL, or separate fields (pg fills in the ones left out). */
export interface PostgresTarget {
  connectionString?: string;
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
}

export interface ResolvedPostgresSettings {
  engine: 'postgres';
  alias: string;
  target: PostgresTarget;
  /** The server as error messages show it, without the password. */
  display: string;
  schema: string | null;
  applicationName: string;
  pool: { max: number; acquireTimeout: number; idleTimeout: number };
  statementTimeout: number;
  syncTimeout: number;
}

export type ResolvedDatabaseSettings = ResolvedSqliteSettings | ResolvedPostgresSettings;

const ENGINES = ['sqlite', 'postgres'] as const;
const SQLITE_KEYS = ['engine', 'name', 'timeout'];
const POSTGRES_KEYS = [
  'engine', 'url', 'host', 'port', 'user', 'password', 'database', 'schema', 'applicationName', 'pool', 'statementTimeout', 'syncTimeout',
];
const POSTGRES_FIELD_KEYS = ['host', 'port', 'user', 'password', 'database'] as const;
const POOL_KEYS = ['max', 'acquireTimeout', 'idleTimeout'];
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

let databases: ReadonlyMap<string, ResolvedDatabaseSettings> = new Map();
const listeners = new Set<(previous: ReadonlyMap<string, ResolvedDatabaseSettings>) => void>();

function fail(key: string, problem: string): never {
  throw new ImproperlyConfigured(`configure(): ${key} ${problem}`);
}

function resolveSqlite(alias: string, raw: Record<string, unknown>): ResolvedSqliteSettings {
  const at = `databases.${alias}`;
  for (const key of Object.keys(raw)) {
    if (!SQLITE_KEYS.includes(key)) fail(`${at}.${key}`, `is not a setting of the sqlite engine (valid: ${SQLITE_KEYS.join(', ')})`);
  }
  if (typeof raw.name !== 'string' || raw.name === '') fail(`${at}.name`, 'must be a non-empty file path (or ":memory:")');
  const timeout = milliseconds(`${at}.timeout`, raw.timeout, 5000);
  return { engine: 'sqlite', alias, name: raw.name, timeout };
}

/** The longest wait a timer, SQLite's busy timeout and PostgreSQL's statement_timeout take (2^31 − 1 ms, about 24.8 days). */
const MAX_MILLISECONDS = 2 ** 31 - 1;

function milliseconds(key: string, value: unknown, fallback: number): number {
  const ms = value ?? fallback;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > MAX_MILLISECONDS) fail(key, `must be a number of milliseconds from 0 to ${MAX_MILLISECONDS}`);
  return ms;
}

function positiveMilliseconds(key: string, value: unknown, fallback: number): number {
  const ms = milliseconds(key, value, fallback);
  if (ms === 0) fail(key, 'must be more than 0 ms (a sync call must not wait forever)');
  return ms;
}

function optionalString(key: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') fail(key, 'must be a non-empty string');
  return value;
}

/** postgres://user@host:port/db, never with the password (it ends up in error messages). */
function displayUrl(url: URL): string {
  const user = url.username ? `${decodeURIComponent(url.username)}@` : '';
  return `postgres://${user}${url.host}${url.pathname}`;
}

function parsePostgresUrl(key: string, url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    fail(key, 'must be a URL such as postgres://user@127.0.0.1:5432/database');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    fail(key, `must be a postgres:// or postgresql:// URL (got a ${parsed.protocol}// URL)`);
  }
  return parsed;
}

function resolvePostgres(alias: string, raw: Record<string, unknown>): ResolvedPostgresSettings {
  const at = `databases.${alias}`;
  for (const key of Object.keys(raw)) {
    if (!POSTGRES_KEYS.includes(key)) fail(`${at}.${key}`, `is not a setting of the postgres engine (valid: ${POSTGRES_KEYS.join(', ')})`);
  }
  const url = optionalString(`${at}.url`, raw.url);
  const fieldKeys = POSTGRES_FIELD_KEYS.filter((key) => raw[key] !== undefined);
  if (url !== undefined && fieldKeys.length > 0) {
    fail(`${at}.${fieldKeys[0]}`, 'cannot be combined with url: give either url or host/port/user/password/database');
  }
  let target: PostgresTarget;
  let display: string;
  if (url !== undefined) {
    target = { connectionString: url };
    display = displayUrl(parsePostgresUrl(`${at}.url`, url));
  } else if (fieldKeys.length > 0) {
    const host = optionalString(`${at}.host`, raw.host);
    const user = optionalString(`${at}.user`, raw.user);
    const database = optionalString(`${at}.database`, raw.database);
    const password = raw.password;
    if (password !== undefined && typeof password !== 'string') fail(`${at}.password`, 'must be a string');
    const port = raw.port;
    if (port !== undefined && !(typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65536)) fail(`${at}.port`, 'must be a port number (1-65535)');
    target = { host, port, user, password, database } as PostgresTarget;
    for (const key of Object.keys(target) as Array<keyof PostgresTarget>) if (target[key] === undefined) delete target[key];
    const shownHost = host === undefined ? 'localhost' : host.startsWith('/') ? '' : host;
    const socket = host?.startsWith('/') ? `?host=${host}` : '';
    display = `postgres://${user ? `${user}@` : ''}${shownHost}${port ? `:${port}` : ''}/${database ?? ''}${socket}`;
  } else if (process.env.DATABASE_URL) {
    target = { connectionString: process.env.DATABASE_URL };
    display = displayUrl(parsePostgresUrl('the DATABASE_URL environment variable', process.env.DATABASE_URL));
  } else {
    fail(`${at}.url`, 'is missing: give url (or host/port/user/password/database), or set the DATABASE_URL environment variable');
  }
  const schema = optionalString(`${at}.schema`, raw.schema);
  if (schema !== undefined && !IDENTIFIER.test(schema)) fail(`${at}.schema`, 'must be a plain identifier (letters, digits and _, not starting with a digit)');
  const applicationName = optionalString(`${at}.applicationName`, raw.applicationName) ?? 'orm-migrate';
  const pool = raw.pool ?? {};
  if (typeof pool !== 'object' || pool === null || Array.isArray(pool)) fail(`${at}.pool`, 'must be an object such as { max: 10 }');
  for (const key of Object.keys(pool)) {
    if (!POOL_KEYS.includes(key)) fail(`${at}.pool.${key}`, `is not a pool setting (valid: ${POOL_KEYS.join(', ')})`);
  }
  const { max = 10, acquireTimeout, idleTimeout } = pool as Record<string, unknown>;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1) fail(`${at}.pool.max`, 'must be an integer >= 1');
  return {
    engine: 'postgres',
    alias,
    target,
    display,
    schema: schema ?? null,
    applicationName,
    pool: {
      max,
      acquireTimeout: milliseconds(`${at}.pool.acquireTimeout`, acquireTimeout, 10_000),
      idleTimeout: milliseconds(`${at}.pool.idleTimeout`, idleTimeout, 10_000),
    },
    statementTimeout: milliseconds(`${at}.statementTimeout`, raw.statementTimeout, 0),
    syncTimeout: positiveMilliseconds(`${at}.syncTimeout`, raw.syncTimeout, 30_000),
  };
}

/** Validates and installs the database settings. Connections of replaced aliases are closed. */
export function configure(config: RuntimeConfig): void {
  if (typeof config !== 'object' || config === null) fail('', 'expects an object { databases: { default: {...} } }');
  const raw = (config as { databases?: unknown }).databases;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('databases', 'must be an object mapping aliases to settings');
  for (const key of Object.keys(config)) {
    if (key !== 'databases') fail(key, 'is not a configure() option (valid: databases)');
  }
  const resolved = new Map<string, ResolvedDatabaseSettings>();
  for (const [alias, settings] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof settings !== 'object' || settings === null) fail(`databases.${alias}`, 'must be an object with an engine');
    const engine = (settings as { engine?: unknown }).engine;
    if (engine === 'sqlite') {
      resolved.set(alias, resolveSqlite(alias, settings as Record<string, unknown>));
      assertSqliteDriverInstalled();
    } else if (engine === 'postgres') {
      resolved.set(alias, resolvePostgres(alias, settings as Record<string, unknown>));
      assertPgDriverInstalled();
    } else fail(`databases.${alias}.engine`, `must be one of ${ENGINES.map((e) => `'${e}'`).join(', ')} (got ${JSON.stringify(engine)})`);
  }
  const previous = databases;
  databases = resolved;
  for (const listener of listeners) listener(previous);
}

export function databaseSettings(alias: string): ResolvedDatabaseSettings {
  const settings = databases.get(alias);
  if (!settings) {
    const known = [...databases.keys()];
    throw new ImproperlyConfigured(
      known.length === 0
        ? `The database alias '${alias}' is not configured: call configure({ databases: { ${alias}: { engine: 'sqlite', name: '…' } } }) first`
        : `The database alias '${alias}' is not configured (configured: ${known.join(', ')})`,
    );
  }
  return settings;
}

export function configuredAliases(): string[] {
  return [...databases.keys()];
}

/** Called after every configure(), with the settings that were replaced. */
export function onReconfigure(listener: (previous: ReadonlyMap<string, ResolvedDatabaseSettings>) => void): void {
  listeners.add(listener);
}
