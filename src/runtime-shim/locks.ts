/**
 * One write lock per SQLite file and thread. Blocks queue on it asynchronously, so a second
 * writer never sits in SQLite's synchronous busy wait (which would freeze the event loop). A
 * waiter gives up after the alias's timeout, as SQLite's busy timeout would: a block that waits
 * for a transaction which waits for it (a newConnection() nested in another block's transaction)
 * would otherwise hang forever, silently.
 */

import { OperationalError } from './errors.js';

/** Another block (or the fallback worker's transaction) of this process held the file's write lock for the whole timeout. */
export function writeLockTimeout(target: string, timeoutMs: number): OperationalError {
  return new OperationalError(
    `database is locked: ${target} stayed locked by another newConnection() block of this process for ${timeoutMs} ms ` +
      `(a block nested inside another block's transaction waits for that transaction, which may be waiting for it: run the inner work in the outer block; ` +
      `or raise the alias's timeout setting if writers hold it longer)`,
    'SQLITE_BUSY',
  );
}

interface Waiter {
  owner: object;
  grant: () => void;
}

export class FileWriteLock {
  private holder: object | null = null;
  private readonly queue: Waiter[] = [];

  constructor(readonly file: string) {}

  get isHeld(): boolean {
    return this.holder !== null;
  }

  heldBy(owner: object): boolean {
    return this.holder === owner;
  }

  tryAcquire(owner: object): boolean {
    if (this.holder !== null || this.queue.length > 0) return false;
    this.holder = owner;
    return true;
  }

  /** Resolves once `owner` holds the lock; rejects with `timedOut()` if it is not granted within `timeoutMs`. */
  acquire(owner: object, timeoutMs: number, timedOut: () => Error): Promise<void> {
    if (this.tryAcquire(owner)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const index = this.queue.indexOf(waiter);
        if (index < 0) return;
        this.queue.splice(index, 1);
        reject(timedOut());
      }, timeoutMs);
      const waiter: Waiter = {
        owner,
        grant: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.queue.push(waiter);
    });
  }

  release(owner: object): void {
    if (this.holder !== owner) return;
    const next = this.queue.shift();
    this.holder = next ? next.owner : null;
    next?.grant();
  }
}

const locks = new Map<string, FileWriteLock>();

export function fileWriteLock(file: string): FileWriteLock {
  let lock = locks.get(file);
  if (!lock) {
    lock = new FileWriteLock(file);
    locks.set(file, lock);
  }
  return lock;
}
