/** The async connection context: which connection (and transaction frame) a task runs under. */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ContextConnection, TxFrame } from './connection.js';

export interface Binding {
  readonly connection: ContextConnection;
  readonly frame: TxFrame | null;
}

type Store = ReadonlyMap<string, Binding>;

// Bound only with run() (never enterWith, which leaks the store into callers and siblings).
const storage = new AsyncLocalStorage<Store>();

export function currentBinding(alias: string): Binding | undefined {
  return storage.getStore()?.get(alias);
}

/** Runs fn with `alias` bound to `binding`; other aliases keep their bindings. */
export function runWithBinding<T>(alias: string, binding: Binding, fn: () => T): T {
  const next = new Map(storage.getStore());
  next.set(alias, binding);
  return storage.run(next, fn);
}

/** Runs fn outside every connection context (syncToAsync). */
export function runOutsideContext<T>(fn: () => T): T {
  return storage.exit(fn);
}
