/**
 * The global EntityManager's context check, turned into a PendingDeprecationWarning.
 *
 * MikroORM 6 throws in `EntityManager.getContext(validate = true)`:
 *     em = config.get('context')(name) ?? this;
 *     if (validate && !config.get('allowGlobalContext') && em.global) throw ValidationError.cannotUseGlobalContext();
 * The public options cannot tell a validating call from getContext(false) (fork, transactional, insert,
 * nativeUpdate, …): `context` runs for both, and `allowGlobalContext: true` also changes what
 * em.transactional() merges back (TransactionManager.shouldPropagateToUpperContext). So we watch the one
 * read that only the throwing branch makes: `em.global` of the ORM's global EntityManager, read by
 * getContext only when validate is true and allowGlobalContext false. That read becomes an accessor on
 * that one instance (no prototype is touched; removeGlobalContextWarnings puts the plain property back):
 * read from getContext it reports the use and answers false (MikroORM goes on with the global context),
 * or true in ORM_MIGRATE_WARNINGS=error mode (MikroORM throws its own ValidationError); any other reader
 * gets the real value.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CallSite, RawSite } from '../runtime-shim/warnings.js';
import { emitDeprecation, formatCallSite, isRecording, isUnwarnedSite, resolveSite, warningMode } from '../runtime-shim/warnings.js';

export const GLOBAL_CONTEXT = 'ORM_MIKRO_ORM_GLOBAL_CONTEXT';

/** The part of a MikroORM instance we use (no runtime import: @mikro-orm/core is an optional peer). */
export interface OrmLike {
  em: object;
  config: { get(key: 'allowGlobalContext'): unknown };
}

const here = dirname(fileURLToPath(import.meta.url));
const OUR_DIRS = [here, join(dirname(here), 'runtime-shim')].flatMap((dir) => [dir + sep, pathToFileURL(dir).href + '/']);
// Paths and file: URLs alike (frames of ES modules carry URLs): no conversion per frame.
const MIKRO_ORM_FILE = /[\\/]node_modules[\\/]@mikro-orm[\\/]/;
const MIKRO_ORM_CORE_FILE = /[\\/]@mikro-orm[\\/]core[\\/]/;

function nameOf(frame: NodeJS.CallSite): string {
  return frame.getFileName() ?? frame.getScriptNameOrSourceURL() ?? '';
}

/** MikroORM's frames, ours and Node's own: never the user's call. */
function isLibraryFrame(frame: NodeJS.CallSite): boolean {
  const name = nameOf(frame);
  return name === '' || name.startsWith('node:') || MIKRO_ORM_FILE.test(name) || OUR_DIRS.some((dir) => name.startsWith(dir));
}

/** Generated position → source position (resolved once per site). */
const sites = new Map<string, CallSite>();

function rawSiteOf(frame: NodeJS.CallSite): RawSite {
  const name = nameOf(frame);
  return { file: name.startsWith('file:') ? fileURLToPath(name) : name, line: frame.getLineNumber() ?? 0, column: frame.getColumnNumber() ?? 0 };
}

const SHALLOW_FRAMES = 16;
const DEEP_FRAMES = 100;

/** Structured frames above `below` (excluded). */
function framesAbove(below: Function, limit: number): NodeJS.CallSite[] {
  const savedPrepare = Error.prepareStackTrace;
  const savedLimit = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = limit;
    Error.prepareStackTrace = (_error, callSites) => callSites;
    const holder: { stack?: NodeJS.CallSite[] } = {};
    Error.captureStackTrace(holder, below);
    return holder.stack ?? [];
  } finally {
    Error.prepareStackTrace = savedPrepare;
    Error.stackTraceLimit = savedLimit;
  }
}

/**
 * One MikroORM call may pass the check several times (findOne: getContext, then tryFlush, then its
 * unit of work), and after its own awaits (QueryBuilder results merged row by row; refresh checks only
 * after its query). MikroORM throws at the first; we report one use per call:
 * - in one synchronous run, a site's checks belong to one call until the same chain of MikroORM frames
 *   comes round again (the next call of a loop that does not await);
 * - a check whose user frame is an `await` (a continuation inside MikroORM) is the call already
 *   reported on that line, when the async context says so.
 */
const checksThisRun = new Map<string, Set<string>>();
let clearScheduled = false;
const reportedCall = new AsyncLocalStorage<{ file: string; line: number }>();

function isNewCall(siteKey: string, chain: string): boolean {
  if (!clearScheduled) {
    clearScheduled = true;
    queueMicrotask(() => {
      checksThisRun.clear();
      clearScheduled = false;
    });
  }
  const seen = checksThisRun.get(siteKey);
  if (seen && !seen.has(chain)) {
    seen.add(chain);
    return false;
  }
  checksThisRun.set(siteKey, new Set([chain]));
  return true;
}

/** The public method the user called: the outermost MikroORM frame below the user's. */
function calledMethod(libraryFrames: NodeJS.CallSite[]): { model: string; method: string } {
  for (let index = libraryFrames.length - 1; index >= 0; index--) {
    const frame = libraryFrames[index]!;
    const file = nameOf(frame);
    if (!MIKRO_ORM_FILE.test(file)) continue;
    const model = (file.split(/[\\/]/).pop() ?? '').replace(/\.[cm]?js$/, '');
    return { model: model || 'EntityManager', method: frame.getFunctionName() ?? frame.getMethodName() ?? '<anonymous>' };
  }
  return { model: 'EntityManager', method: 'getContext' };
}

/**
 * Called when getContext reads the global EntityManager's `global` flag, i.e. where MikroORM 6 is
 * about to throw. Returns what `global` must answer: false to go on, true to let MikroORM throw.
 */
function onGlobalContextUse(frames: NodeJS.CallSite[]): boolean {
  const mode = warningMode();
  if (mode === 'ignore' && !isRecording()) return false;
  const userIndex = frames.findIndex((frame) => !isLibraryFrame(frame));
  const user = userIndex < 0 ? null : frames[userIndex]!;
  const rawKey = user ? `${nameOf(user)}:${user.getLineNumber()}:${user.getColumnNumber()}` : '';
  const libraryFrames = userIndex < 0 ? frames : frames.slice(0, userIndex);
  const chain = libraryFrames.map((frame) => `${frame.getFunctionName()}@${frame.getLineNumber()}:${frame.getColumnNumber()}`).join('<');
  if (!isNewCall(rawKey, chain)) return mode === 'error';
  // Lines compare after source maps: a transpiler may put a whole function on one generated line.
  let site = user ? (sites.get(rawKey) ?? null) : null;
  if (user && !site) {
    site = resolveSite(rawSiteOf(user), rawKey);
    sites.set(rawKey, site);
  }
  if (site && user!.isAsync()) {
    const reported = reportedCall.getStore();
    if (reported && reported.file === site.file && reported.line === site.line) return mode === 'error';
  }
  if (site) reportedCall.enterWith({ file: site.file, line: site.line });
  const key = `${GLOBAL_CONTEXT}@${rawKey}`;
  if (mode === 'once' && !isUnwarnedSite(key) && !isRecording()) return false;
  const { model, method } = calledMethod(libraryFrames);
  const message =
    `${model}.${method}() at ${formatCallSite(site)} used MikroORM's global EntityManager outside any RequestContext ` +
    `(MikroORM 6 throws a ValidationError there; warnOnGlobalContext let it go on with the global context). ` +
    `Run the calling code in RequestContext.create(orm.em, async () => { … }), a @CreateRequestContext() method or an em.fork() ` +
    `(\`npx orm-migrate fix --preset mikro-orm\` does it for you).`;
  const detail =
    `The global EntityManager's identity map is shared by every concurrent caller, which is why MikroORM refuses it ` +
    `(allowGlobalContext: false). For the migration period this warning replaces the ValidationError; ORM_MIGRATE_WARNINGS=error restores it.`;
  return emitDeprecation(mode, key, { code: GLOBAL_CONTEXT, method, model, site, message, detail }) !== null;
}

const installed = new WeakMap<object, () => void>();

/** Installs the check on the ORM's global EntityManager (MikroORM calls this once init() is done). */
export function watchGlobalContext(orm: OrmLike): void {
  // The user (or MIKRO_ORM_ALLOW_GLOBAL_CONTEXT) chose to share the global context: MikroORM never checks, nor do we.
  if (orm.config.get('allowGlobalContext') === true) return;
  const em = orm.em;
  if (installed.has(em)) return;
  const own = Object.getOwnPropertyDescriptor(em, 'global');
  let value: unknown = own && 'value' in own ? own.value : (em as { global?: unknown }).global;
  const global = {
    get(): unknown {
      let frames = framesAbove(global.get, SHALLOW_FRAMES);
      const caller = frames[0];
      if (value !== true || !caller || caller.getFunctionName() !== 'getContext' || !MIKRO_ORM_CORE_FILE.test(nameOf(caller))) return value;
      // Capturing costs per frame: most calls show the user's frame within a few MikroORM frames.
      if (!frames.some((frame, index) => index > 0 && !isLibraryFrame(frame))) frames = framesAbove(global.get, DEEP_FRAMES);
      return onGlobalContextUse(frames.slice(1));
    },
    set(next: unknown): void {
      value = next;
    },
  };
  Object.defineProperty(em, 'global', { configurable: true, enumerable: own?.enumerable ?? true, get: global.get, set: global.set });
  installed.set(em, () => {
    Object.defineProperty(em, 'global', { configurable: true, enumerable: own?.enumerable ?? true, writable: true, value });
    installed.delete(em);
  });
}

/** Puts the global EntityManager's plain `global` property back: MikroORM throws again. Returns whether it was installed. */
export function removeGlobalContextWarnings(orm: { em: object }): boolean {
  const uninstall = installed.get(orm.em);
  uninstall?.();
  return uninstall !== undefined;
}
