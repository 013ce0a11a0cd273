import { assertSqliteDriverInstalled } from './backends/sqlite.js';
import { ImproperlyConfigured } from './errors.js';

export type Engine = 'sqlite';

export interface SqliteSettings {
  engine: 'sqlite';
  /** Path of the database file, relative to the working directory, or ':memory:'. */
  name: string;
  /** How long a writer waits for the file's write lock before failing, in ms (default 5000). */
  timeout?: number;
}

export type DatabaseSettings = SqliteSettings;

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
export type ResolvedDatabaseSettings = ResolvedSqliteSettings;

const ENGINES = ['sqlite'] as const;
const SQLITE_KEYS = ['engine', 'name', 'timeout'];

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
  const timeout = raw.timeout ?? 5000;
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0) fail(`${at}.timeout`, 'must be a number of milliseconds >= 0');
  return { engine: 'sqlite', alias, name: raw.name, timeout };
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
    }
    else fail(`databases.${alias}.engine`, `must be one of ${ENGINES.map((e) => `'${e}'`).join(', ')} (got ${JSON.stringify(engine)})`);
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
