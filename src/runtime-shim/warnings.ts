/**
 * The PendingDeprecationWarning of the fallback path: an a-method called with no async
 * connection. Deduplicated per call site by default (ORM_MIGRATE_WARNINGS=always|once|error|ignore).
 */
import { findSourceMap } from 'node:module';
import { dirname, isAbsolute, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImproperlyConfigured } from './errors.js';
import { WARNINGS_FILE_ENV, recordToWarningsFile } from './recording.js';

export const ASYNC_NO_CONNECTION = 'ORM_ASYNC_NO_CONNECTION';
export const WARNING_TYPE = 'PendingDeprecationWarning';
const MODES = ['once', 'always', 'error', 'ignore'] as const;
export type WarningMode = (typeof MODES)[number];

/** The warning as an Error, as process.emitWarning builds it (name = type). */
export class PendingDeprecationWarning extends Error {
  override name = WARNING_TYPE;
  constructor(
    message: string,
    readonly code: string,
    readonly detail: string,
  ) {
    super(message);
  }
}

export interface CallSite {
  /** Path relative to the working directory (absolute when outside it), forward slashes. */
  file: string;
  line: number;
  column: number;
}

export function formatCallSite(site: CallSite | null): string {
  return site ? `${site.file}:${site.line}:${site.column}` : '<unknown call site>';
}

/** What every emission is reported as, printed or not (the CI gate records these). */
export interface DeprecationRecord {
  code: string;
  method: string;
  model: string;
  site: CallSite | null;
  message: string;
}
const recorders = new Set<(record: DeprecationRecord) => void>();
export function onDeprecation(recorder: (record: DeprecationRecord) => void): () => void {
  recorders.add(recorder);
  return () => {
    recorders.delete(recorder);
  };
}

const RUNTIME_DIR = dirname(fileURLToPath(import.meta.url)) + sep;

/** A stack frame's generated position (before source maps). */
export interface RawSite {
  file: string;
  line: number;
  column: number;
}

/** The first stack frame outside this runtime: the user's call. Cheap: structured frames, no formatting. */
function captureRawSite(): RawSite | null {
  const savedPrepare = Error.prepareStackTrace;
  const savedLimit = Error.stackTraceLimit;
  let frames: NodeJS.CallSite[] = [];
  try {
    Error.stackTraceLimit = 30;
    Error.prepareStackTrace = (_error, callSites) => callSites;
    const holder: { stack?: NodeJS.CallSite[] } = {};
    Error.captureStackTrace(holder, captureRawSite);
    frames = holder.stack ?? [];
  } finally {
    Error.prepareStackTrace = savedPrepare;
    Error.stackTraceLimit = savedLimit;
  }
  for (const frame of frames) {
    let file = frame.getFileName() ?? frame.getScriptNameOrSourceURL();
    if (!file || file.startsWith('node:')) continue;
    if (file.startsWith('file:')) file = fileURLToPath(file);
    if (file.startsWith(RUNTIME_DIR)) continue;
    return { file, line: frame.getLineNumber() ?? 0, column: frame.getColumnNumber() ?? 0 };
  }
  return null;
}

const resolvedSites = new Map<string, CallSite>();

/** Maps generated positions back to the source (tsx, ts-node, --enable-source-maps) once per site. */
export function resolveSite(raw: RawSite, key: string): CallSite {
  let site = resolvedSites.get(key);
  if (site) return site;
  let { file, line, column } = raw;
  const map = findSourceMap(file);
  const entry = map?.findEntry(line - 1, column - 1) as { originalSource?: string; originalLine?: number; originalColumn?: number } | undefined;
  if (entry && entry.originalSource !== undefined && entry.originalLine !== undefined) {
    file = entry.originalSource.startsWith('file:') ? fileURLToPath(entry.originalSource) : entry.originalSource;
    line = entry.originalLine + 1;
    column = (entry.originalColumn ?? 0) + 1;
  }
  const fromCwd = relative(process.cwd(), file);
  const shown = fromCwd.startsWith('..') || isAbsolute(fromCwd) ? file : fromCwd;
  site = { file: shown.split(sep).join('/'), line, column };
  resolvedSites.set(key, site);
  return site;
}

export function warningMode(): WarningMode {
  const raw = (process.env.ORM_MIGRATE_WARNINGS ?? '').trim().toLowerCase();
  if (raw === '') return 'once';
  if ((MODES as readonly string[]).includes(raw)) return raw as WarningMode;
  throw new ImproperlyConfigured(`ORM_MIGRATE_WARNINGS must be one of ${MODES.join(', ')} (got '${process.env.ORM_MIGRATE_WARNINGS}')`);
}

const warnedSites = new Set<string>();

/** Forget which sites have warned (tests, or a long-lived REPL that wants to see them again). */
export function resetWarningsSeen(): void {
  warnedSites.clear();
}

/** Whether `key` (a site, or a code and site) has not printed its warning yet. */
export function isUnwarnedSite(key: string): boolean {
  return !warnedSites.has(key);
}

/** What one deprecated use reports: its record, and the warning printed (or returned in 'error' mode). */
export interface DeprecationEmission {
  code: string;
  method: string;
  model: string;
  site: CallSite | null;
  message: string;
  detail: string;
}

/**
 * Records one deprecated use (warnings file and onDeprecation recorders, every time) and prints it
 * per `mode`: once per `key` ('once'), every time ('always'), never ('ignore', 'error'). Returns
 * the warning in 'error' mode (the caller refuses the use with it), otherwise null.
 */
export function emitDeprecation(mode: WarningMode, key: string, emission: DeprecationEmission): PendingDeprecationWarning | null {
  const { code, method, model, site, message, detail } = emission;
  recordToWarningsFile(code, method, model, site);
  for (const record of recorders) record({ code, method, model, site, message });
  if (mode === 'error') return new PendingDeprecationWarning(message, code, detail);
  if (mode === 'ignore') return null;
  if (mode === 'always' || !warnedSites.has(key)) {
    warnedSites.add(key);
    process.emitWarning(message, { type: WARNING_TYPE, code, detail });
  }
  return null;
}

/** Whether anything records deprecated uses (a recorder, or ORM_MIGRATE_WARNINGS_FILE): then every use is reported. */
export function isRecording(): boolean {
  return recorders.size > 0 || Boolean(process.env[WARNINGS_FILE_ENV]);
}

/**
 * Reports an async ORM call that has no async connection. Returns the warning when the mode is
 * 'error' (the caller rejects with it instead of falling back), otherwise null.
 */
export function warnAsyncWithoutConnection(method: string, model: string, alias: string): PendingDeprecationWarning | null {
  const mode = warningMode();
  const recording = isRecording();
  if (mode === 'ignore' && !recording) return null;
  const raw = captureRawSite();
  const key = raw ? `${raw.file}:${raw.line}:${raw.column}` : '';
  if (mode === 'once' && warnedSites.has(key) && !recording) return null;
  const site = raw ? resolveSite(raw, key) : null;
  const subject = model ? `${model}.${method}()` : `${method}()`;
  const message =
    `${subject} at ${formatCallSite(site)} ran without an async connection and fell back to a worker thread. ` +
    `Wrap the calling code in newConnection(async () => { … }) (\`npx orm-migrate fix\` does it for you).`;
  const detail =
    `Async ORM calls outside a newConnection() block are deprecated: they run the sync implementation on the ` +
    `'${alias}' alias's worker thread, one call at a time, on that thread's own connection.`;
  return emitDeprecation(mode, key, { code: ASYNC_NO_CONNECTION, method, model, site, message, detail });
}
