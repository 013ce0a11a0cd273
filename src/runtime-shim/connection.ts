/**
 * The connection of a newConnection() block, shared by every task started inside it.
 *
 * Ordering rule: while a transaction or savepoint is open, only the tasks inside it (the ones
 * that run under its frame) may use the connection; a statement or transaction from any other
 * task waits until it ends. So concurrent tasks never absorb or lose each other's writes.
 */
import { threadId } from 'node:worker_threads';
import type { DriverConnection, Statement, StatementResult, SyncDriverConnection } from './backends/types.js';
import { OperationalError, TransactionManagementError } from './errors.js';
import { emitQuery, hasQueryListeners } from './events.js';
import type { Via } from './events.js';
import { writeLockTimeout } from './locks.js';
import type { FileWriteLock } from './locks.js';
import type { Op } from './orm/ops.js';
import { runOpAsync, runOpSync } from './runner.js';
import type { AsyncExecutor, SyncExecutor } from './runner.js';

/**
 * transaction: BEGIN … COMMIT. savepoint: a nested block's SAVEPOINT … RELEASE. joined: a block
 * nested in a broken frame, with nothing of its own to roll back to (Django's savepoint id None).
 */
export type FrameKind = 'transaction' | 'savepoint' | 'joined';

/** An open transaction (parent null), savepoint or joined block on a connection. */
export interface TxFrame {
  readonly id: number;
  readonly parent: TxFrame | null;
  readonly kind: FrameKind;
  readonly savepoint: string | null;
  closed: boolean;
  /**
   * The first error of a statement that failed in this frame (Django's needs_rollback): the frame
   * rolls back at its end, and until then its queries raise TransactionManagementError.
   */
  failure: { readonly error: unknown } | null;
}

/** The frame a failure in `frame` rolls back: a joined block's is its enclosing frame's. */
function rollbackOwner(frame: TxFrame): TxFrame {
  while (frame.kind === 'joined') frame = frame.parent!;
  return frame;
}

/** The failure that broke `frame` or a frame around it, or null. */
function failureOf(frame: TxFrame): { readonly error: unknown } | null {
  for (let f: TxFrame | null = frame; f !== null; f = f.parent) if (f.failure) return f.failure;
  return null;
}

/** A write failed inside the open frame `frame` (none: autocommit, nothing to mark): its transaction or savepoint must roll back. */
function markForRollback(frame: TxFrame | null, error: unknown): void {
  if (frame === null || frame.closed || failureOf(frame)) return;
  rollbackOwner(frame).failure = { error };
}

/** Django's TransactionManagementError for a query in a broken atomic block; `cause` is the error that broke it. */
function brokenTransactionError(cause: unknown): TransactionManagementError {
  return new TransactionManagementError("An error occurred in the current transaction. You can't execute queries until the end of the 'atomic' block.", { cause });
}

let nextFrameId = 1;

const BUSY_RETRY_MAX_DELAY_MS = 32;

function control(sql: string): Statement {
  return { sql, params: [], mode: 'run', writes: true };
}

function isBusy(error: unknown): boolean {
  return error instanceof OperationalError && error.code === 'SQLITE_BUSY';
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface ContextConnectionOptions {
  alias: string;
  driver: DriverConnection;
  via: Via;
  /** The file's write lock (SQLite); null where the server orders writers (PostgreSQL). */
  writeLock: FileWriteLock | null;
  /** How long a writer may wait for the database, in ms. */
  timeout: number;
  beginSql: string;
  /** What the file or server is called in error messages. */
  target: string;
  /**
   * Where sync calls go when `driver` is async (PostgreSQL): the thread's sync connection. A sync
   * call cannot wait for an async driver without freezing the very event loop that drives it.
   */
  syncTwin?: () => ContextConnection;
}

export class ContextConnection {
  readonly alias: string;
  private readonly driver: DriverConnection;
  private readonly via: Via;
  private readonly writeLock: FileWriteLock | null;
  private readonly options: ContextConnectionOptions;
  private readonly frames: TxFrame[] = [];
  private waiters: Array<{ frame: TxFrame | null; wake: () => void }> = [];
  private closed = false;

  constructor(options: ContextConnectionOptions) {
    this.options = options;
    this.alias = options.alias;
    this.driver = options.driver;
    this.via = options.via;
    this.writeLock = options.writeLock;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** A frame whose transaction already ended stands for its nearest open ancestor. */
  private effective(frame: TxFrame | null): TxFrame | null {
    while (frame && frame.closed) frame = frame.parent;
    return frame;
  }

  private top(): TxFrame | null {
    return this.frames[this.frames.length - 1] ?? null;
  }

  private canRun(frame: TxFrame | null): boolean {
    return this.top() === this.effective(frame);
  }

  /**
   * Resolves at the next change of the transaction stack. Callers loop on canRun() and act in the
   * same synchronous step as their last check: `while (!this.canRun(f)) await this.nextChange(f);`
   * (awaiting a helper that checks would let another task act between its check and ours).
   */
  private nextChange(frame: TxFrame | null): Promise<void> {
    this.assertOpen();
    return new Promise<void>((wake) => this.waiters.push({ frame, wake }));
  }

  private wakeWaiters(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const waiter of waiting) waiter.wake();
  }

  private assertOpen(): void {
    if (this.closed) {
      throw new OperationalError(
        `the newConnection() block for '${this.alias}' has already ended: a task that outlived its block used its connection; await every task inside the block`,
        'CONNECTION_CLOSED',
      );
    }
  }

  // --- statements -----------------------------------------------------------------------------

  private report(statement: Statement, started: number): void {
    const ranOn = this.driver.threadId ?? threadId;
    emitQuery({ sql: statement.sql, params: statement.params, alias: this.alias, durationMs: performance.now() - started, threadId: ranOn, via: this.via });
  }

  /** Runs a statement now; SQLITE_BUSY (another process or thread writing) is retried asynchronously. */
  private executeNow(statement: Statement): StatementResult | Promise<StatementResult> {
    const driver = this.driver;
    const started = hasQueryListeners() ? performance.now() : 0;
    if (driver.kind === 'async') {
      const pending = driver.execute(statement);
      // No listener: no extra promise per statement.
      return started ? pending.then((result) => (this.report(statement, started), result)) : pending;
    }
    try {
      const result = driver.execute(statement);
      if (started) this.report(statement, started);
      return result;
    } catch (error) {
      if (!isBusy(error)) throw error;
      return this.retryBusy(statement, started || performance.now());
    }
  }

  private lockTimedOut(): OperationalError {
    return writeLockTimeout(this.options.target, this.options.timeout);
  }

  private async retryBusy(statement: Statement, started: number): Promise<StatementResult> {
    const deadline = started + this.options.timeout;
    for (let delay = 1; ; delay = Math.min(delay * 2, BUSY_RETRY_MAX_DELAY_MS)) {
      if (performance.now() >= deadline) {
        throw new OperationalError(
          `database is locked: ${this.options.target} stayed locked by another writer for ${this.options.timeout} ms (waited asynchronously; raise the alias's timeout setting if writers hold it longer)`,
          'SQLITE_BUSY',
        );
      }
      await sleep(delay);
      try {
        const result = (this.driver as Extract<DriverConnection, { kind: 'sync' }>).execute(statement);
        if (hasQueryListeners()) this.report(statement, started);
        return result;
      } catch (error) {
        if (!isBusy(error)) throw error;
      }
    }
  }

  /** A statement from a task whose transaction frame is `frame`. */
  execute(frame: TxFrame | null, statement: Statement): StatementResult | Promise<StatementResult> {
    if (this.closed) this.assertOpen();
    if (!this.canRun(frame)) return this.nextChange(frame).then(() => this.execute(frame, statement));
    const top = this.top();
    if (top !== null) return this.executeInFrame(top, statement);
    const lock = this.writeLock;
    if (statement.writes && lock && !lock.tryAcquire(this)) {
      // Another block holds the file's write lock: queue for it instead of busy-waiting.
      return lock.acquire(this, this.options.timeout, () => this.lockTimedOut()).then(() => this.executeHoldingLock(frame, statement));
    }
    if (statement.writes && lock) {
      let result: StatementResult | Promise<StatementResult>;
      try {
        result = this.executeNow(statement);
      } catch (error) {
        lock.release(this); // a failed write must not keep the file locked
        throw error;
      }
      return this.finishLocked(result);
    }
    return this.executeNow(statement);
  }

  /** A statement inside the open frame `frame` (the top one): refused once the frame is broken; a failure breaks it. */
  private executeInFrame(frame: TxFrame, statement: Statement): StatementResult | Promise<StatementResult> {
    const failure = failureOf(frame);
    if (failure) throw brokenTransactionError(failure.error);
    let result: StatementResult | Promise<StatementResult>;
    try {
      result = this.executeNow(statement);
    } catch (error) {
      throw this.failed(frame, error);
    }
    return result instanceof Promise ? result.catch((error: unknown) => Promise.reject(this.failed(frame, error))) : result;
  }

  /**
   * Marks the frame that must roll back for a statement that failed in `frame` (SQLite keeps a
   * transaction going after a failed statement, so the mark is ours); returns what to throw. A
   * statement that was already on its way when another one broke the frame gets the
   * TransactionManagementError, as if it had come after.
   */
  private failed(frame: TxFrame, error: unknown): unknown {
    const earlier = failureOf(frame);
    if (earlier) return earlier.error === error ? error : brokenTransactionError(earlier.error);
    rollbackOwner(frame).failure = { error };
    return error;
  }

  private async executeHoldingLock(frame: TxFrame | null, statement: Statement): Promise<StatementResult> {
    try {
      // No transaction of this connection opened while we queued for the lock: run now.
      if (this.frames.length === 0) return await this.executeNow(statement);
    } finally {
      this.writeLock!.release(this);
    }
    // One did (it queued for the lock behind us, as this connection): let it have the lock and go first.
    return this.execute(frame, statement);
  }

  private finishLocked(result: StatementResult | Promise<StatementResult>): StatementResult | Promise<StatementResult> {
    if (!(result instanceof Promise)) {
      this.writeLock!.release(this);
      return result;
    }
    return result.finally(() => this.writeLock!.release(this));
  }

  /** A statement from sync code (ORM_ALLOW_ASYNC_UNSAFE): it cannot wait, so it may only run now. */
  executeSync(frame: TxFrame | null, statement: Statement): StatementResult {
    this.assertOpen();
    if (this.driver.kind !== 'sync') return this.syncTwin().executeSync(frame, statement);
    if (!this.canRun(frame)) throw this.cannotWait();
    const top = this.top();
    if (top !== null) {
      const failure = failureOf(top);
      if (failure) throw brokenTransactionError(failure.error);
      try {
        return this.executeReportedSync(this.driver, statement);
      } catch (error) {
        throw this.failed(top, error);
      }
    }
    if (statement.writes && this.writeLock && !this.writeLock.heldBy(this)) {
      if (!this.writeLock.tryAcquire(this)) throw this.lockedForSync();
      try {
        return this.driver.execute(statement);
      } finally {
        this.writeLock.release(this);
      }
    }
    return this.executeReportedSync(this.driver, statement);
  }

  private executeReportedSync(driver: SyncDriverConnection, statement: Statement): StatementResult {
    const started = hasQueryListeners() ? performance.now() : 0;
    const result = driver.execute(statement);
    if (started) this.report(statement, started);
    return result;
  }

  private cannotWait(): TransactionManagementError {
    return new TransactionManagementError(
      `a sync ORM call cannot wait for another task's transaction on the '${this.alias}' connection; use the async method (await ….aX()) so it can wait its turn`,
    );
  }

  /** The connection sync calls use instead of this async one; refused while this one has a transaction open. */
  private syncTwin(): ContextConnection {
    if (!this.options.syncTwin) {
      throw new TransactionManagementError(`sync ORM calls cannot use the '${this.alias}' connection of a newConnection() block: its driver is async`);
    }
    if (this.frames.length > 0) {
      throw new TransactionManagementError(
        `a sync ORM call cannot join the open aatomic() transaction of the '${this.alias}' newConnection() block: its connection is async, ` +
          `so sync calls run on the thread's own connection. Use the async method (await ….aX()) inside the transaction`,
      );
    }
    return this.options.syncTwin();
  }

  private lockedForSync(): OperationalError {
    return new OperationalError(
      `${this.options.target} is being written by another newConnection() block on this thread; a sync call would have to freeze the event loop to wait. Use the async method instead`,
      'SQLITE_BUSY',
    );
  }

  // --- transactions ---------------------------------------------------------------------------

  private openFrame(parent: TxFrame | null): TxFrame {
    const id = nextFrameId++;
    // Inside a broken transaction a nested block gets no savepoint: it could not undo the error (Django: sid None).
    const kind: FrameKind = parent === null ? 'transaction' : failureOf(parent) ? 'joined' : 'savepoint';
    const frame: TxFrame = { id, parent, kind, savepoint: kind === 'savepoint' ? `s${id}` : null, closed: false, failure: null };
    this.frames.push(frame);
    return frame;
  }

  private closeFrame(frame: TxFrame): void {
    frame.closed = true;
    const index = this.frames.lastIndexOf(frame);
    if (index >= 0) this.frames.splice(index, 1);
    if (frame.parent === null) this.writeLock?.release(this);
    this.wakeWaiters();
  }

  private q(name: string): string {
    return `"${name}"`;
  }

  /** What opens a frame; null for a joined frame, which opens nothing. */
  private beginStatement(frame: TxFrame): Statement | null {
    if (frame.kind === 'transaction') return control(this.options.beginSql);
    return frame.savepoint ? control(`SAVEPOINT ${this.q(frame.savepoint)}`) : null;
  }

  /** A BEGIN or SAVEPOINT failed: the frame never opened, and a failed SAVEPOINT breaks the enclosing transaction. */
  private beginFailed(frame: TxFrame, error: unknown): void {
    if (frame.kind === 'savepoint') this.failed(frame.parent!, error);
    this.closeFrame(frame);
  }

  /**
   * Ends a frame, as Django's Atomic.__exit__: COMMIT (RELEASE SAVEPOINT), or a rollback when the
   * body threw or a statement in the frame failed — then the body's result stands and nothing is
   * raised. A failed COMMIT rolls back and throws; a failed rollback never hides the body's error.
   */
  private *endFrame(frame: TxFrame, bodyFailed: boolean): Op<void> {
    if (frame.kind === 'joined') return; // its enclosing frame is already marked to roll back
    if (!bodyFailed && frame.failure === null) {
      try {
        yield { kind: 'query', statement: control(frame.savepoint ? `RELEASE SAVEPOINT ${this.q(frame.savepoint)}` : 'COMMIT') };
        return;
      } catch (error) {
        yield* this.rollBack(frame);
        throw error;
      }
    }
    yield* this.rollBack(frame);
  }

  private *rollBack(frame: TxFrame): Op<void> {
    try {
      if (frame.savepoint) {
        yield { kind: 'query', statement: control(`ROLLBACK TO SAVEPOINT ${this.q(frame.savepoint)}`) };
        // The savepoint is not reused: release it.
        yield { kind: 'query', statement: control(`RELEASE SAVEPOINT ${this.q(frame.savepoint)}`) };
      } else {
        yield { kind: 'query', statement: control('ROLLBACK') };
      }
    } catch (error) {
      // A savepoint that cannot be restored leaves the enclosing transaction to roll back. A failed
      // ROLLBACK means the transaction ended with its connection (SQLite or the server rolled it back).
      if (frame.parent) this.failed(frame.parent, error);
    }
  }

  /**
   * Runs `body` in a transaction (a savepoint inside one) opened for a task at `frame`; the body
   * gets the new frame. Waits its turn, then holds the connection for the tasks inside it.
   */
  async atomic<T>(frame: TxFrame | null, body: (inner: TxFrame) => Promise<T>): Promise<T> {
    while (!this.canRun(frame)) await this.nextChange(frame);
    this.assertOpen();
    const inner = this.openFrame(this.effective(frame));
    try {
      if (inner.kind === 'transaction' && this.writeLock) {
        await this.writeLock.acquire(this, this.options.timeout, () => this.lockTimedOut());
        this.assertOpen();
      }
      const begin = this.beginStatement(inner);
      if (begin) await this.executeNow(begin);
    } catch (error) {
      this.beginFailed(inner, error);
      throw error;
    }
    let result: T;
    try {
      result = await body(inner);
    } catch (error) {
      // The body's error wins over anything ending the frame reports (a block that already ended, say).
      await this.finish(inner, true).catch(() => undefined);
      throw error;
    }
    await this.finish(inner, false);
    return result;
  }

  private async finish(frame: TxFrame, bodyFailed: boolean): Promise<void> {
    try {
      // Tasks inside this frame may still hold a nested savepoint: let them finish first.
      while (!this.canRun(frame)) await this.nextChange(frame);
      await runOpAsync(this.endFrame(frame, bodyFailed), this.controlExecutor);
    } finally {
      this.closeFrame(frame);
    }
  }

  /** Runs COMMIT/ROLLBACK (TO): on a connection already closed the database rolled back, and a COMMIT fails. */
  private readonly controlExecutor: AsyncExecutor = {
    execute: (statement) => {
      this.assertOpen();
      return this.executeNow(statement);
    },
    atomic: () => Promise.reject(new Error('a transaction statement cannot open a transaction')),
  };

  /** A sync transaction (atomic() with ORM_ALLOW_ASYNC_UNSAFE): it must get its turn at once. */
  atomicSync<T>(frame: TxFrame | null, body: (inner: TxFrame) => T): T {
    this.assertOpen();
    // The body's sync calls then carry the twin's frame, which executeSync passes on to the twin.
    if (this.driver.kind !== 'sync') return this.syncTwin().atomicSync(frame, body);
    if (!this.canRun(frame)) throw this.cannotWait();
    const parent = this.effective(frame);
    if (parent === null && this.writeLock && !this.writeLock.tryAcquire(this)) throw this.lockedForSync();
    const inner = this.openFrame(parent);
    const begin = this.beginStatement(inner);
    try {
      if (begin) this.executeControlSync(inner, begin);
    } catch (error) {
      this.beginFailed(inner, error);
      throw error;
    }
    let result: T;
    try {
      result = body(inner);
    } catch (error) {
      this.finishSync(inner, true);
      throw error;
    }
    if (result instanceof Promise) {
      this.finishSync(inner, true);
      throw new TransactionManagementError('the body of atomic() returned a promise: use `await aatomic(async () => …)` for async code');
    }
    this.finishSync(inner, false);
    return result;
  }

  private finishSync(frame: TxFrame, bodyFailed: boolean): void {
    try {
      runOpSync(this.endFrame(frame, bodyFailed), {
        execute: (statement) => this.executeControlSync(frame, statement),
        atomic: () => {
          throw new Error('a transaction statement cannot open a transaction');
        },
      });
    } finally {
      this.closeFrame(frame);
    }
  }

  private executeControlSync(frame: TxFrame, statement: Statement): StatementResult {
    this.assertOpen();
    if (!this.canRun(frame)) throw this.cannotWait();
    return this.executeReportedSync(this.driver as SyncDriverConnection, statement);
  }

  // --- operations -----------------------------------------------------------------------------

  asyncExecutor(frame: TxFrame | null): AsyncExecutor {
    return {
      execute: (statement) => this.execute(frame, statement),
      atomic: (op) => this.atomic(frame, (inner) => runOpAsync(op, this.asyncExecutor(inner))),
      markRollback: (error) => markForRollback(frame, error),
    };
  }

  syncExecutor(frame: TxFrame | null): SyncExecutor {
    return {
      execute: (statement) => this.executeSync(frame, statement),
      atomic: <T>(op: Op<T>): T => this.atomicSync(frame, (inner) => runOpSync(op, this.syncExecutor(inner))),
      markRollback: (error) => markForRollback(frame, error),
    };
  }

  /** Closes the connection; open transactions are rolled back by the database. Tasks still waiting are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.writeLock?.release(this);
    this.wakeWaiters();
    await this.driver.close();
  }
}
