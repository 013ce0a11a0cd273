/**
 * PostgreSQL through `pg`: a pool per alias whose clients serve newConnection() blocks, and
 * single clients for the worker threads (the fallback's sticky worker, the sync calls' worker).
 */
import { createRequire } from 'node:module';
import type * as Pg from 'pg';
import type { ResolvedPostgresSettings } from '../config.js';
import { DatabaseError, DriverNotInstalledError, IntegrityError, OperationalError, PoolTimeoutError } from '../errors.js';
import type { AsyncDriverConnection, Row, Statement, StatementResult } from './types.js';

type PgModule = typeof Pg;

let driver: PgModule | undefined;

/** Loads pg on first use, so `orm-migrate scan` and SQLite users never need it. */
export function loadPgDriver(): PgModule {
  if (driver) return driver;
  const require = createRequire(import.meta.url);
  try {
    driver = require('pg') as PgModule;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') {
      throw new DriverNotInstalledError('postgres', 'pg', { cause: error });
    }
    throw error;
  }
  return driver;
}

/** Fails at configure() time, before any query, when pg cannot be found. */
export function assertPgDriverInstalled(): void {
  if (driver) return;
  try {
    createRequire(import.meta.url).resolve('pg');
  } catch (error) {
    throw new DriverNotInstalledError('postgres', 'pg', { cause: error });
  }
}

// --- types ------------------------------------------------------------------------------------

const identity = (value: string): string => value;
/** int8 (COUNT, SUM, bigint columns) and numeric (AVG) as numbers, like SQLite; json as text for Field.fromDb. */
const TEXT_PARSERS = new Map<number, (value: string) => unknown>([
  [20, Number],
  [1700, Number],
  [114, identity],
  [3802, identity],
]);

function customTypes(pg: PgModule): Pg.CustomTypesConfig {
  const getTypeParser = (oid: number, format?: 'text' | 'binary') =>
    (format === undefined || format === 'text' ? TEXT_PARSERS.get(oid) : undefined) ?? pg.types.getTypeParser(oid, format);
  return { getTypeParser: getTypeParser as Pg.CustomTypesConfig['getTypeParser'] };
}

/** The pg client settings of an alias; each client gets our type parsers, leaving pg's global ones alone. */
export function clientConfig(settings: ResolvedPostgresSettings, statementTimeout: number, connectTimeout: number): Pg.ClientConfig {
  const config: Pg.ClientConfig = {
    ...settings.target,
    application_name: settings.applicationName,
    types: customTypes(loadPgDriver()),
  };
  if (statementTimeout > 0) config.statement_timeout = statementTimeout;
  if (connectTimeout > 0) config.connectionTimeoutMillis = connectTimeout;
  if (settings.schema) config.options = `-c search_path=${settings.schema}`;
  return config;
}

// --- errors -----------------------------------------------------------------------------------

/** What a connection's error messages say about it. */
export interface PgContext {
  settings: ResolvedPostgresSettings;
  /** What to do after the connection is lost, e.g. "start a new newConnection() block". */
  afterLoss: string;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENOENT']);
/** pg's own messages when the socket is gone (they carry no code). */
const LOST_MESSAGES = /Connection terminated|not queryable|Connection closed/i;

function where(settings: ResolvedPostgresSettings): string {
  return `the PostgreSQL server at ${settings.display} (alias '${settings.alias}')`;
}

/** True for errors after which the connection cannot be used again. */
export function isConnectionLoss(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || NETWORK_CODES.has(code);
  return error instanceof Error && LOST_MESSAGES.test(error.message);
}

export function connectionLostError(context: PgContext, cause: unknown): OperationalError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const code = (cause as { code?: unknown }).code;
  return new OperationalError(
    `the connection to ${where(context.settings)} was lost: ${reason}. The server rolled back any transaction open on it; ${context.afterLoss}`,
    typeof code === 'string' && SQLSTATE.test(code) ? code : '08006',
  );
}

/** Maps a pg error to our DatabaseError hierarchy; the same failure gives the same class and message on every path. */
export function wrapPgError(error: unknown, context: PgContext): Error {
  if (error instanceof DatabaseError) return error;
  if (!(error instanceof Error)) return new DatabaseError(String(error));
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) {
    return new OperationalError(`could not reach ${where(context.settings)}: ${error.message}`, code, { cause: error });
  }
  if (typeof code !== 'string' || !SQLSTATE.test(code)) {
    // pg's messages for a dead socket; anything else is not a database error (keep it as it is).
    return LOST_MESSAGES.test(error.message) ? connectionLostError(context, error) : error;
  }
  const detail = (error as { detail?: unknown }).detail;
  let message = typeof detail === 'string' && detail ? `${error.message} (${detail})` : error.message;
  const { schema, alias } = context.settings;
  if (code === '3F000' && schema) message += ` (databases.${alias}.schema is '${schema}': create it first, CREATE SCHEMA "${schema}")`;
  if (code.startsWith('23')) return new IntegrityError(message, code, { cause: error });
  if (isConnectionLoss(error)) return connectionLostError(context, error);
  // Connection problems, lack of resources, cancellations (statement_timeout), serialization failures, lock timeouts.
  if (/^(08|53|57|40)/.test(code) || code === '55P03') return new OperationalError(message, code, { cause: error });
  return new DatabaseError(message, code, { cause: error });
}

// --- connections ------------------------------------------------------------------------------

/** The first error each watched client reported, kept for whoever uses the client next. */
const clientFailures = new WeakMap<Pg.ClientBase, Error>();
const watchedClients = new WeakSet<Pg.ClientBase>();

/**
 * Gives a client an 'error' listener for its whole life. pg emits 'error' with nobody listening
 * when a backend dies in the same read as its ReadyForQuery (killed as it connected): between the
 * pool handing the client out and its user listening. Unheard, that event kills the process.
 */
function watchClient(client: Pg.ClientBase): void {
  if (watchedClients.has(client)) return;
  watchedClients.add(client);
  client.on('error', (error: Error) => {
    if (!clientFailures.has(client)) clientFailures.set(client, error);
  });
}

function shape(result: Pg.QueryResult, statement: Statement): StatementResult {
  switch (statement.mode) {
    case 'all':
      return result.rows as Row[];
    case 'get':
      return result.rows[0] as Row | undefined;
    case 'run':
      return { changes: result.rowCount ?? 0, lastInsertRowid: 0 };
  }
}

const NOTHING: StatementResult = { changes: 0, lastInsertRowid: 0 };

/** The transaction statements the connections watch for (ContextConnection sends exactly these). */
export function transactionEffect(sql: string): 'begin' | 'end' | 'rollback-to' | null {
  if (sql === 'BEGIN') return 'begin';
  if (sql === 'COMMIT' || sql === 'ROLLBACK') return 'end';
  if (sql.startsWith('ROLLBACK TO SAVEPOINT ')) return 'rollback-to';
  return null;
}

/**
 * One pg client at a time, acquired on the first statement. Tracks whether a transaction is open,
 * so that after the connection is lost the rest of that transaction fails instead of silently
 * running outside it.
 */
abstract class PgConnection implements AsyncDriverConnection {
  readonly kind = 'async' as const;
  private client: Pg.ClientBase | null = null;
  private acquiring: Promise<Pg.ClientBase> | null = null;
  /** Set when the connection died; statements fail with it until the transaction it broke ends. */
  private lost: OperationalError | null = null;
  private inTransaction = false;
  private busy = false;
  private waiting: Array<{ statement: Statement; resolve: (result: StatementResult) => void; reject: (error: unknown) => void }> = [];
  private closed = false;
  private readonly onClientError = (error: Error) => this.connectionLost(error);

  constructor(protected readonly context: PgContext) {}

  /** Whether a new client may replace a lost one (outside a transaction). */
  protected abstract readonly reconnects: boolean;
  protected abstract acquire(): Promise<Pg.ClientBase>;
  /** Gives the client back; with an error it is destroyed, not reused. */
  protected abstract discard(client: Pg.ClientBase, error?: Error): void;

  get isOpen(): boolean {
    return !this.closed;
  }

  execute(statement: Statement): Promise<StatementResult> {
    if (this.lost !== null || this.closed) return this.afterLoss(statement);
    const client = this.client;
    if (client === null) return this.acquireThen(statement);
    // One statement at a time per client (tasks of a block share it); pg would queue them too, but deprecates that.
    if (this.busy) return new Promise((resolve, reject) => this.waiting.push({ statement, resolve, reject }));
    this.busy = true;
    return client.query(statement.sql, statement.params as unknown[]).then(
      (result) => {
        this.settled();
        const effect = transactionEffect(statement.sql);
        if (effect === 'begin') this.inTransaction = true;
        else if (effect === 'end') this.inTransaction = false;
        return shape(result, statement);
      },
      (error: unknown) => {
        const lost = isConnectionLoss(error);
        if (lost) this.connectionLost(error); // before the waiting statements go on
        this.settled();
        if (lost) throw this.lost ?? connectionLostError(this.context, error);
        throw wrapPgError(error, this.context);
      },
    );
  }

  /** The client is free again: send the next waiting statement, in the order they came. */
  private settled(): void {
    this.busy = false;
    while (!this.busy && this.waiting.length > 0) {
      const { statement, resolve, reject } = this.waiting.shift()!;
      this.execute(statement).then(resolve, reject);
    }
  }

  private acquireThen(statement: Statement): Promise<StatementResult> {
    this.acquiring ??= this.acquire().then(
      (client) => {
        this.acquiring = null;
        if (this.closed) {
          this.discard(client);
          throw this.closedError();
        }
        client.on('error', this.onClientError);
        this.client = client;
        return client;
      },
      (error: unknown) => {
        this.acquiring = null;
        throw error;
      },
    );
    return this.acquiring.then(() => this.execute(statement));
  }

  private closedError(): OperationalError {
    return new OperationalError(`the connection to ${where(this.context.settings)} was already closed`, 'CONNECTION_CLOSED');
  }

  /** After a loss: ROLLBACK (TO) are no-ops (the server already rolled back); COMMIT and the rest fail. */
  private afterLoss(statement: Statement): Promise<StatementResult> {
    if (this.closed) return Promise.reject(this.closedError());
    const lost = this.lost!;
    const effect = transactionEffect(statement.sql);
    if (this.reconnects && effect === 'end') {
      this.lost = null;
      this.inTransaction = false;
      return statement.sql === 'ROLLBACK' ? Promise.resolve(NOTHING) : Promise.reject(lost);
    }
    if (effect === 'rollback-to' || statement.sql === 'ROLLBACK') return Promise.resolve(NOTHING);
    return Promise.reject(lost);
  }

  private connectionLost(cause: unknown): void {
    const client = this.client;
    if (client === null) return;
    this.client = null;
    client.off('error', this.onClientError);
    client.on('error', () => undefined); // the dead socket may still report; nobody needs to hear it
    this.discard(client, cause instanceof Error ? cause : new Error(String(cause)));
    // Outside a transaction a reconnecting connection just opens a new client for the next statement.
    if (!this.reconnects || this.inTransaction) this.lost = connectionLostError(this.context, cause);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.acquiring?.catch(() => undefined);
    const client = this.client;
    this.client = null;
    if (client === null) return;
    client.off('error', this.onClientError);
    // A client left inside a transaction or with a statement running must not serve anyone else.
    const unclean = this.inTransaction || this.busy;
    this.discard(client, unclean ? new Error('closed inside a transaction or with a statement running') : undefined);
  }
}

/** A newConnection() block's connection: a client checked out of the alias's pool. A loss ends the block. */
export class PooledPostgresConnection extends PgConnection {
  protected readonly reconnects = false;
  constructor(private readonly pool: PostgresPool) {
    super({ settings: pool.settings, afterLoss: 'run the work again in a new newConnection() block' });
  }
  protected acquire(): Promise<Pg.ClientBase> {
    return this.pool.connect();
  }
  protected discard(client: Pg.ClientBase, error?: Error): void {
    (client as Pg.PoolClient).release(error);
  }
}

/** A worker thread's own connection; after a loss outside a transaction it reconnects. */
export class PostgresClientConnection extends PgConnection {
  protected readonly reconnects = true;
  constructor(
    settings: ResolvedPostgresSettings,
    private readonly statementTimeout: number,
  ) {
    super({ settings, afterLoss: 'the next call opens a new connection' });
  }
  protected async acquire(): Promise<Pg.ClientBase> {
    const pg = loadPgDriver();
    const settings = this.context.settings;
    const client = new pg.Client(clientConfig(settings, this.statementTimeout, settings.pool.acquireTimeout));
    watchClient(client);
    try {
      await client.connect();
    } catch (error) {
      void client.end().catch(() => undefined);
      throw wrapPgError(error, this.context);
    }
    const failure = clientFailures.get(client);
    if (failure !== undefined) {
      void client.end().catch(() => undefined);
      throw connectionLostError(this.context, failure);
    }
    return client;
  }
  protected discard(client: Pg.ClientBase): void {
    void (client as Pg.Client).end().catch(() => undefined);
  }
}

/** How many clients that died on the way in a block's connect takes before it gives up. */
const DEAD_CLIENT_RETRIES = 3;

/** The pool of an alias: newConnection() blocks check clients out of it and give them back. */
export class PostgresPool {
  private readonly pool: Pg.Pool;

  constructor(readonly settings: ResolvedPostgresSettings) {
    const pg = loadPgDriver();
    this.pool = new pg.Pool({
      ...clientConfig(settings, settings.statementTimeout, settings.pool.acquireTimeout),
      max: settings.pool.max,
      idleTimeoutMillis: settings.pool.idleTimeout,
      // Idle pooled connections must not keep the process alive.
      allowExitOnIdle: true,
    });
    // An idle client that dies is dropped by the pool; no block is waiting on it.
    this.pool.on('error', () => undefined);
    this.pool.on('connect', watchClient);
  }

  /** Clients open (in use or idle) and blocks waiting for one. */
  get stats(): { total: number; idle: number; waiting: number } {
    return { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount };
  }

  async connect(): Promise<Pg.PoolClient> {
    for (let attempt = 1; ; attempt++) {
      let client: Pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (error) {
        throw this.acquireFailed(error);
      }
      const failure = clientFailures.get(client);
      if (failure === undefined) return client;
      // It died before anyone used it (nothing was sent): drop it and take another.
      client.release(failure);
      if (attempt >= DEAD_CLIENT_RETRIES) throw connectionLostError({ settings: this.settings, afterLoss: 'run the work again in a new newConnection() block' }, failure);
    }
  }

  private acquireFailed(error: unknown): Error {
    const { alias, pool } = this.settings;
    const message = error instanceof Error ? error.message : String(error);
    // pg-pool's message when the request waited in its queue (every client busy) past the timeout.
    if (/timeout exceeded when trying to connect/.test(message)) {
      return new PoolTimeoutError(
        `no PostgreSQL connection of alias '${alias}' became free within ${pool.acquireTimeout} ms: all ${pool.max} connections of its pool ` +
          `(databases.${alias}.pool.max = ${pool.max}) were held by other newConnection() blocks. Raise pool.max or pool.acquireTimeout, or hold connections for less time`,
        'POOL_TIMEOUT',
      );
    }
    if (/timeout/i.test(message)) {
      return new PoolTimeoutError(
        `${where(this.settings)} did not give a connection within ${pool.acquireTimeout} ms (databases.${alias}.pool.acquireTimeout; pool of ${pool.max}): ${message}`,
        'POOL_TIMEOUT',
      );
    }
    return wrapPgError(error, { settings: this.settings, afterLoss: 'run the work again in a new newConnection() block' });
  }

  async end(): Promise<void> {
    await this.pool.end();
  }
}
