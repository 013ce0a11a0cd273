/**
 * One write lock per SQLite file and thread. Blocks queue on it asynchronously, so a second
 * writer never sits in SQLite's synchronous busy wait (which would freeze the event loop).
 */

export class FileWriteLock {
  private holder: object | null = null;
  private readonly queue: Array<{ owner: object; grant: () => void }> = [];

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

  acquire(owner: object): Promise<void> {
    if (this.tryAcquire(owner)) return Promise.resolve();
    return new Promise((grant) => this.queue.push({ owner, grant }));
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
