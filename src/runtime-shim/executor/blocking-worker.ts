/**
 * Sync ORM calls on PostgreSQL: pg only answers asynchronously, so a worker thread holds the
 * connection and the calling thread sleeps in Atomics.wait until the worker has the reply (as
 * synckit does). The wait is bounded: a call that gets no answer in time throws SyncTimeoutError.
 */
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { transactionEffect } from '../backends/postgres.js';
import type { Row, Statement, StatementResult, SyncDriverConnection } from '../backends/types.js';
import type { ResolvedPostgresSettings } from '../config.js';
import { OperationalError, SyncTimeoutError, wrapDriverError } from '../errors.js';
import { BlockingState } from './protocol.js';
import type { BlockingWorkerSetup, StatementReply, StatementRequest } from './protocol.js';
import { workerEntry, workerExecArgv } from './sticky-worker.js';

const ENTRY = workerEntry('blocking-worker-entry');
/** The worker's first request also waits for the thread to start, load pg and connect. */
const MIN_START_TIMEOUT_MS = 10_000;
/** The server cancels an abandoned statement this long after the caller stopped waiting for it. */
const SERVER_GRACE_MS = 1_000;

const NOTHING: StatementResult = { changes: 0, lastInsertRowid: 0 };

interface RunningWorker {
  worker: Worker;
  port: MessagePort;
  state: Int32Array;
  started: boolean;
}

export class BlockingPostgresConnection implements SyncDriverConnection {
  readonly kind = 'sync' as const;
  private running: RunningWorker | null = null;
  private nextId = 1;
  private inTransaction = false;
  /** Set when a worker was abandoned inside a transaction: the rest of that transaction fails. */
  private broken: OperationalError | null = null;
  private closed = false;

  constructor(readonly settings: ResolvedPostgresSettings) {}

  get isOpen(): boolean {
    return !this.closed;
  }

  /** The thread that runs the statements (null before the first call). */
  get threadId(): number | null {
    return this.running?.worker.threadId ?? null;
  }

  private start(): RunningWorker {
    const { port1, port2 } = new MessageChannel();
    const state = new Int32Array(new SharedArrayBuffer(4));
    const { statementTimeout, syncTimeout } = this.settings;
    // Past the caller's deadline nobody reads the answer: let the server cancel the statement soon after.
    const bound = syncTimeout + SERVER_GRACE_MS;
    const setup: BlockingWorkerSetup = {
      settings: this.settings,
      statementTimeout: statementTimeout > 0 ? Math.min(statementTimeout, bound) : bound,
      state,
      port: port2,
    };
    const worker = new Worker(ENTRY, { workerData: setup, transferList: [port2], execArgv: workerExecArgv(), stdout: false, stderr: false });
    // The caller waits synchronously, so nothing here needs the event loop kept alive.
    worker.unref();
    port1.unref();
    const running: RunningWorker = { worker, port: port1, state, started: false };
    worker.on('error', () => this.abandon(running));
    worker.on('exit', () => this.abandon(running));
    this.running = running;
    return running;
  }

  /** Forgets a worker (crashed, timed out or closed); a transaction it had open is lost with it. */
  private abandon(running: RunningWorker, reason?: OperationalError): void {
    if (this.running !== running) return;
    this.running = null;
    running.port.close();
    void running.worker.terminate();
    if (this.inTransaction) {
      this.inTransaction = false;
      this.broken =
        reason ??
        new OperationalError(
          `the worker thread serving sync calls on '${this.settings.alias}' stopped inside a transaction; the server rolled it back`,
          '08006',
        );
    }
  }

  /** Sleeps until state[0] leaves `from`, or the deadline passes (returns false). */
  private waitWhile(state: Int32Array, from: number, deadline: number): boolean {
    for (;;) {
      if (Atomics.load(state, 0) !== from) return true;
      const remaining = deadline - performance.now();
      if (remaining <= 0) return false;
      Atomics.wait(state, 0, from, remaining);
    }
  }

  private timedOut(running: RunningWorker, statement: Statement, waitedMs: number, starting: boolean): SyncTimeoutError {
    const { alias, display, syncTimeout } = this.settings;
    const what = starting
      ? `the worker thread for sync calls did not start and connect within ${Math.max(MIN_START_TIMEOUT_MS, syncTimeout)} ms (the larger of 10 s and databases.${alias}.syncTimeout)`
      : `no answer came within databases.${alias}.syncTimeout = ${syncTimeout} ms`;
    const error = new SyncTimeoutError(
      `a sync ORM call on '${alias}' (${display}) waited ${Math.round(waitedMs)} ms and gave up: ${what}, ` +
        `running: ${statement.sql}. The calling thread was blocked meanwhile; use the async method inside newConnection(), raise syncTimeout, or look for what holds a lock.`,
      'SYNC_TIMEOUT',
    );
    this.abandon(running, error);
    return error;
  }

  execute(statement: Statement): StatementResult {
    if (this.closed) throw new OperationalError(`the sync connection of '${this.settings.alias}' was closed`, 'CONNECTION_CLOSED');
    if (this.broken) return this.afterBreak(statement);
    const running = this.running ?? this.start();
    const { state, worker, port } = running;
    Atomics.store(state, 0, BlockingState.idle);
    const id = this.nextId++;
    const request: StatementRequest = { id, statement };
    worker.postMessage(request);
    const sent = performance.now();
    const startBound = running.started ? this.settings.syncTimeout : Math.max(MIN_START_TIMEOUT_MS, this.settings.syncTimeout);
    if (!this.waitWhile(state, BlockingState.idle, sent + startBound)) {
      throw this.timedOut(running, statement, performance.now() - sent, !running.started);
    }
    // A new worker's first statement also connects: it gets the start allowance too.
    const first = !running.started;
    const answerBound = first ? startBound : this.settings.syncTimeout;
    running.started = true;
    const taken = performance.now();
    if (!this.waitWhile(state, BlockingState.taken, taken + answerBound)) {
      throw this.timedOut(running, statement, performance.now() - taken, first);
    }
    const reply = receiveMessageOnPort(port)?.message as StatementReply | undefined;
    if (reply === undefined || reply.id !== id) {
      this.abandon(running);
      throw new OperationalError(`the worker thread for sync calls on '${this.settings.alias}' answered out of turn; it was replaced`, 'WORKER_PROTOCOL');
    }
    if (!reply.ok) throw wrapDriverError(reply.error);
    const effect = transactionEffect(statement.sql);
    if (effect === 'begin') this.inTransaction = true;
    else if (effect === 'end') this.inTransaction = false;
    return reply.result;
  }

  /** After an abandoned worker: ROLLBACK (TO) are no-ops (the server rolled back); COMMIT and the rest fail. */
  private afterBreak(statement: Statement): StatementResult {
    const broken = this.broken!;
    const effect = transactionEffect(statement.sql);
    if (effect === 'end') {
      this.broken = null;
      if (statement.sql === 'ROLLBACK') return NOTHING;
      throw broken;
    }
    if (effect === 'rollback-to') return NOTHING;
    throw broken;
  }

  *iterate(statement: Statement): IterableIterator<Row> {
    yield* this.execute({ ...statement, mode: 'all' }) as Row[];
  }

  close(): void {
    this.closed = true;
    const running = this.running;
    if (running) this.abandon(running);
  }
}
