/**
 * One sticky worker thread per alias for the deprecated fallback path. A whole ORM call (all of
 * its statements) is served before the next one starts, like asgiref's sticky sync thread.
 */
import { Worker } from 'node:worker_threads';
import type { Statement, StatementResult } from '../backends/types.js';
import type { ResolvedDatabaseSettings } from '../config.js';
import { WorkerCrashedError, wrapDriverError } from '../errors.js';
import type { StatementReply, StatementRequest, WorkerSetup } from './protocol.js';

/** A worker entry file next to this module (.ts when running from source under tsx). */
export function workerEntry(name: string): URL {
  return new URL(`./${name}${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
}

const WORKER_ENTRY = workerEntry('worker-entry');

/** The parent's node flags minus those that only apply to `-e`/stdin input (a worker rejects them). */
export function workerExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--input-type') i++;
    else if (!flag.startsWith('--input-type=')) out.push(flag);
  }
  return out;
}

interface Pending {
  statement: Statement;
  resolve: (reply: { result: StatementResult; durationMs: number }) => void;
  reject: (error: Error) => void;
}

export class StickyWorker {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private busy = false;
  private readonly waiting: Array<() => void> = [];
  private terminated = false;

  constructor(readonly settings: ResolvedDatabaseSettings) {}

  /** The running worker's threadId, or null before the first call. */
  get threadId(): number | null {
    return this.worker?.threadId ?? null;
  }

  private start(): Worker {
    const setup: WorkerSetup = { settings: this.settings };
    const worker = new Worker(WORKER_ENTRY, { workerData: setup, execArgv: workerExecArgv(), stdout: false, stderr: false });
    worker.on('message', (reply: StatementReply) => this.settle(reply));
    worker.on('error', (error) => this.crashed(worker, `threw ${error.message}`));
    worker.on('exit', (code) => this.crashed(worker, `exited with code ${code}`));
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private settle(reply: StatementReply): void {
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker?.unref();
    if (reply.ok) pending.resolve({ result: reply.result, durationMs: reply.durationMs });
    else pending.reject(wrapDriverError(reply.error));
  }

  private crashed(worker: Worker, how: string): void {
    if (this.worker !== worker) return;
    this.worker = null; // the next call starts a new one
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      pending.reject(
        new WorkerCrashedError(`the worker thread of database alias '${this.settings.alias}' ${how} while running: ${pending.statement.sql}`),
      );
    }
  }

  /** Sends one statement to the worker; resolves with its result and the time it took there. */
  execute(statement: Statement): Promise<{ result: StatementResult; durationMs: number }> {
    if (this.terminated) return Promise.reject(new WorkerCrashedError(`the worker of database alias '${this.settings.alias}' was closed`));
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { statement, resolve, reject });
      if (this.pending.size === 1) worker.ref();
      const request: StatementRequest = { id, statement };
      worker.postMessage(request);
    });
  }

  /** Runs `call` with exclusive use of the worker's connection: calls are served one at a time. */
  async exclusive<T>(call: () => Promise<T>): Promise<T> {
    // An idle worker starts the call at once; otherwise it queues (FIFO) behind the running one.
    if (this.busy) await new Promise<void>((turn) => this.waiting.push(turn));
    this.busy = true;
    try {
      return await call();
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // hand over without releasing, so no newcomer jumps the queue
      else this.busy = false;
    }
  }

  /**
   * Stops the thread; its pending calls reject. With `final` false the next call starts a new
   * worker (what happens after a crash).
   */
  async terminate({ final = true }: { final?: boolean } = {}): Promise<void> {
    if (final) this.terminated = true;
    const worker = this.worker;
    if (!worker) return;
    await worker.terminate();
    this.crashed(worker, 'was terminated');
  }
}
