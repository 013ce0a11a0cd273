/** onQuery(): one event per statement, whichever path ran it. */

export type Via = 'sync' | 'async-connection' | 'thread-fallback';

export interface QueryEvent {
  sql: string;
  params: readonly unknown[];
  alias: string;
  durationMs: number;
  /** worker_threads threadId of the thread that ran the statement (0 is the main thread). */
  threadId: number;
  via: Via;
}

export type QueryListener = (event: QueryEvent) => void;

const listeners = new Set<QueryListener>();

/** Subscribes to every statement; returns the function that unsubscribes. */
export function onQuery(listener: QueryListener): () => void {
  if (typeof listener !== 'function') throw new TypeError('onQuery() expects a function');
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

export function hasQueryListeners(): boolean {
  return listeners.size > 0;
}

export function emitQuery(event: QueryEvent): void {
  for (const listener of listeners) {
    try {
      listener(event);
    } catch (error) {
      // A broken listener must not fail the query that has already run.
      process.emitWarning(`an onQuery() listener threw: ${error instanceof Error ? error.message : String(error)}`, { code: 'ORM_QUERY_LISTENER' });
    }
  }
}
