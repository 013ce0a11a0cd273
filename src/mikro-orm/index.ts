/**
 * orm-migrate/mikro-orm: the MikroORM 6 migration shim. Two lines of setup:
 *
 *     import { warnOnGlobalContext } from 'orm-migrate/mikro-orm';
 *     const orm = await MikroORM.init(warnOnGlobalContext({ ...options }));
 *
 * A use of the global EntityManager where MikroORM would throw `ValidationError.cannotUseGlobalContext()`
 * emits a PendingDeprecationWarning (code ORM_MIKRO_ORM_GLOBAL_CONTEXT, once per call site, naming the
 * caller's file:line:col), is recorded for `orm-migrate gate` when ORM_MIGRATE_WARNINGS_FILE is set, and
 * goes on with the global context. ORM_MIGRATE_WARNINGS=error restores MikroORM's throw. With
 * `allowGlobalContext: true` (option or MIKRO_ORM_ALLOW_GLOBAL_CONTEXT) MikroORM never checks, and the
 * shim does nothing.
 */
import { UnknownOptionError } from '../runtime-shim/errors.js';
import { warningMode } from '../runtime-shim/warnings.js';
import { watchGlobalContext } from './global-context.js';
import type { OrmLike } from './global-context.js';

export { GLOBAL_CONTEXT, removeGlobalContextWarnings } from './global-context.js';
export { PendingDeprecationWarning, resetWarningsSeen } from '../runtime-shim/warnings.js';

/** The extension MikroORM registers after init(): it watches that ORM's global EntityManager. */
const extension = { register: (orm: OrmLike) => watchGlobalContext(orm) };

const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
};

function shown(value: unknown): string {
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`;
  if (value === null) return 'null';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : `an object (${value.constructor?.name ?? 'no prototype'})`;
  return `${typeof value} ${JSON.stringify(value)}`;
}

/**
 * Returns a copy of MikroORM's options that turns the global-context ValidationError into a
 * PendingDeprecationWarning. Your own `context`, `allowGlobalContext` and `extensions` are kept.
 */
export function warnOnGlobalContext<Options extends object>(options: Options, ...extra: never[]): Options {
  if (extra.length > 0) {
    throw new UnknownOptionError(
      `warnOnGlobalContext() takes one argument, MikroORM's options object; got ${extra.length + 1} (argument 2 is ${shown(extra[0])})`,
    );
  }
  if (!isPlainObject(options)) {
    throw new TypeError(`warnOnGlobalContext(options): options must be MikroORM's options object, { dbName, entities, … } (got ${shown(options)})`);
  }
  const { extensions, context, allowGlobalContext } = options as Record<string, unknown>;
  if (extensions !== undefined && !Array.isArray(extensions)) {
    throw new TypeError(`warnOnGlobalContext(options): options.extensions must be an array of { register(orm) } (got ${shown(extensions)})`);
  }
  if (context !== undefined && typeof context !== 'function') {
    throw new TypeError(`warnOnGlobalContext(options): options.context must be a function (name) => EntityManager | undefined (got ${shown(context)})`);
  }
  if (allowGlobalContext !== undefined && typeof allowGlobalContext !== 'boolean') {
    throw new TypeError(`warnOnGlobalContext(options): options.allowGlobalContext must be true or false (got ${shown(allowGlobalContext)})`);
  }
  warningMode(); // a bad ORM_MIGRATE_WARNINGS fails at setup, not at the first query
  const current = (extensions ?? []) as unknown[];
  if (current.includes(extension)) return options;
  return { ...options, extensions: [...current, extension] };
}
