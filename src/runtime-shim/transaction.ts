/** newConnection(), aatomic(), atomic() and syncToAsync(): the public face of connection contexts. */
import { closeBlockConnection, openBlockConnection, syncConnection } from './connections.js';
import { currentBinding, runOutsideContext, runWithBinding } from './context.js';
import { OPTIONS, checkOptions } from './options.js';
import { allowAsyncUnsafe, synchronousOnly } from './shim.js';
import { warnAsyncWithoutConnection } from './warnings.js';

export interface UsingOption {
  /** The database alias (default 'default'). */
  using?: string;
}

/**
 * Opens a fresh connection for the alias, binds it for the duration of `fn` (and every task `fn`
 * starts), and closes it when `fn` settles. Returns fn's result.
 */
export async function newConnection<T>(fn: () => T | Promise<T>, options: UsingOption = {}): Promise<Awaited<T>> {
  if (typeof fn !== 'function') throw new TypeError('newConnection() expects a function: newConnection(async () => { … })');
  checkOptions(options, OPTIONS.newConnection, 'newConnection');
  const alias = options.using ?? 'default';
  const connection = openBlockConnection(alias);
  try {
    return await runWithBinding(alias, { connection, frame: null }, fn);
  } finally {
    await closeBlockConnection(connection);
  }
}

/**
 * Runs `fn` in a transaction on the block's connection (a savepoint when nested). Rolls back
 * when fn throws. Other tasks on the same connection wait until it ends.
 */
export async function aatomic<T>(fn: () => T | Promise<T>, options: UsingOption = {}): Promise<Awaited<T>> {
  checkOptions(options, OPTIONS.atomic, 'aatomic');
  const alias = options.using ?? 'default';
  const binding = currentBinding(alias);
  if (!binding) {
    // Legacy code with no block: warn, and give the transaction a connection of its own.
    const refusal = warnAsyncWithoutConnection('aatomic', '', alias);
    if (refusal) throw refusal;
    return newConnection(() => aatomic(fn, options), options);
  }
  const { connection } = binding;
  return connection.atomic(binding.frame, (frame) => Promise.resolve(runWithBinding(alias, { connection, frame }, fn))) as Promise<Awaited<T>>;
}

/** A transaction for sync code. Inside a newConnection() block it needs ORM_ALLOW_ASYNC_UNSAFE. */
export function atomic<T>(fn: () => T, options: UsingOption = {}): T {
  checkOptions(options, OPTIONS.atomic, 'atomic');
  const alias = options.using ?? 'default';
  const binding = currentBinding(alias);
  if (binding) {
    if (!allowAsyncUnsafe()) throw synchronousOnly({ alias, model: '', method: 'atomic' });
    const { connection } = binding;
    return connection.atomicSync(binding.frame, (frame) => runWithBinding(alias, { connection, frame }, fn));
  }
  return syncConnection(alias).atomic(fn);
}

/**
 * The legacy wrapper: runs sync ORM code outside any connection context, on the thread's sync
 * connection (as asgiref's sync_to_async runs it on a thread with its own connection).
 * Prefer the a-methods; `npx orm-migrate fix` rewrites `syncToAsync(() => qs.get(x))()`.
 */
export function syncToAsync<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => Promise<Awaited<R>> {
  return (...args: A) => {
    try {
      return Promise.resolve(runOutsideContext(() => fn(...args))) as Promise<Awaited<R>>;
    } catch (error) {
      return Promise.reject(error);
    }
  };
}
