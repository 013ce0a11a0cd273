/**
 * Where every ORM call goes. Sync methods: the thread's sync connection, or
 * SynchronousOnlyOperation inside a block. Async methods: the block's connection (native), or,
 * with no block, a PendingDeprecationWarning and the sync implementation on the sticky worker.
 */
import { runOnStickyWorker, syncConnection } from './connections.js';
import { currentBinding } from './context.js';
import { ImproperlyConfigured, SynchronousOnlyOperation } from './errors.js';
import { markingRollbackOnError } from './orm/ops.js';
import type { Op } from './orm/ops.js';
import { runOpAsync, runOpSync } from './runner.js';
import { ALLOW_ASYNC_UNSAFE_ENV, ASYNC_TO_SYNC, FUNCTION_ASYNC_TO_SYNC } from './surface.js';
import { warnAsyncWithoutConnection } from './warnings.js';

/** Who is being called, for messages: `Question` + `count`. */
export interface CallTarget {
  alias: string;
  model: string;
  method: string;
}

const SYNC_TO_ASYNC: Record<string, string> = Object.fromEntries(
  Object.entries({ ...ASYNC_TO_SYNC, ...FUNCTION_ASYNC_TO_SYNC }).map(([asyncName, syncName]) => [syncName, asyncName]),
);

/**
 * ORM_ALLOW_ASYNC_UNSAFE, read at each call (like Django's DJANGO_ALLOW_ASYNC_UNSAFE). 1/true/yes
 * allow, 0/false/no or unset forbid; any other value is a mistake, reported where it decides.
 */
export function allowAsyncUnsafe(): boolean {
  const raw = process.env[ALLOW_ASYNC_UNSAFE_ENV] ?? '';
  const value = raw.trim().toLowerCase();
  if (value === '1' || value === 'true' || value === 'yes') return true;
  if (value === '' || value === '0' || value === 'false' || value === 'no') return false;
  throw new ImproperlyConfigured(
    `the environment variable ${ALLOW_ASYNC_UNSAFE_ENV} is ${JSON.stringify(raw)}: set it to 1, true or yes to allow sync ORM calls inside newConnection() blocks (0, false, no or unset: not allowed)`,
  );
}

export function synchronousOnly(target: CallTarget): SynchronousOnlyOperation {
  const twin = SYNC_TO_ASYNC[target.method];
  const subject = target.model ? `${target.model}.${target.method}()` : `${target.method}()`;
  const advice = twin ? `use \`await ….${twin}()\` instead` : `call it before entering the block`;
  return new SynchronousOnlyOperation(
    `${subject} is a sync ORM call inside a newConnection() block, where it would block the event loop: ${advice}. ` +
      `(To allow it anyway, e.g. in a notebook, set the environment variable ${ALLOW_ASYNC_UNSAFE_ENV}=1.)`,
  );
}

/** The writes Django wraps in mark_for_rollback_on_error (or an atomic block without a savepoint): sync names. */
const MARKS_ROLLBACK_ON_ERROR = new Set(['save', 'create', 'update', 'delete', 'bulkCreate', 'bulkUpdate']);

function marked<T>(target: CallTarget, op: Op<T>): Op<T> {
  return MARKS_ROLLBACK_ON_ERROR.has(ASYNC_TO_SYNC[target.method] ?? target.method) ? markingRollbackOnError(op) : op;
}

export function runSync<T>(target: CallTarget, op: Op<T>): T {
  op = marked(target, op);
  const binding = currentBinding(target.alias);
  if (binding) {
    if (!allowAsyncUnsafe()) throw synchronousOnly(target);
    return runOpSync(op, binding.connection.syncExecutor(binding.frame));
  }
  return syncConnection(target.alias).run(op);
}

export function runAsync<T>(target: CallTarget, op: Op<T>): Promise<T> {
  op = marked(target, op);
  try {
    const binding = currentBinding(target.alias);
    if (binding) return runOpAsync(op, binding.connection.asyncExecutor(binding.frame));
    const refusal = warnAsyncWithoutConnection(target.method, target.model, target.alias);
    if (refusal) return Promise.reject(refusal);
    return runOnStickyWorker(target.alias, op);
  } catch (error) {
    return Promise.reject(error);
  }
}
