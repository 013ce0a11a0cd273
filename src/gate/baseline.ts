/**
 * The one committed baseline (default .orm-migrate/baseline.json), read and written only here:
 * - "runtime": how often each call site emitted each warning code in the test run (orm-migrate gate);
 * - "static": how many findings each file has per rule (orm-migrate scan --update-baseline, or gate --scan).
 * Paths in both halves are relative to the working directory the tests, scan and gate run from
 * (the project root), with forward slashes. Stable and sorted, so it diffs and merges well.
 * Older files (version 1 of the gate's baseline, and scan's ESLint-style suppressions file) are
 * read and rewritten as version 2; anything else is an error naming the file.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';

export const DEFAULT_BASELINE_FILE = '.orm-migrate/baseline.json';
const FORMAT_VERSION = 2;

export interface BaselineEntry {
  /** `Model.method`, to recognise a site whose line moved. */
  call: string;
  count: number;
}

/** site (`file:line:col`) → warning code → entry. */
export type SiteCounts = Map<string, Map<string, BaselineEntry>>;
/** file → rule → count. */
export type StaticCounts = Map<string, Map<string, number>>;

export interface Baseline {
  /** null: no run-time part was ever recorded in this file. */
  runtime: SiteCounts | null;
  /** null: no static part was ever recorded in this file. */
  static: StaticCounts | null;
}

/** A baseline the user must fix or record again: names the file (and line). */
export class BaselineError extends Error {
  override name = 'BaselineError';
}

export function emptyBaseline(): Baseline {
  return { runtime: null, static: null };
}

/** `file:line:col` → its parts; line and column compare as numbers. */
function splitSite(site: string): [string, number, number] {
  const match = /^(.*):(\d+):(\d+)$/.exec(site);
  return match ? [match[1]!, Number(match[2]), Number(match[3])] : [site, 0, 0];
}

/** Orders sites by file, then line, then column (`a.ts:8:69` before `a.ts:17:51`). */
export function compareSites(a: string, b: string): number {
  const [fileA, lineA, colA] = splitSite(a);
  const [fileB, lineB, colB] = splitSite(b);
  if (fileA !== fileB) return fileA < fileB ? -1 : 1;
  return lineA - lineB || colA - colB;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function lineOf(text: string, needle: string): number {
  const index = text.indexOf(needle);
  return index < 0 ? 1 : text.slice(0, index).split('\n').length;
}

function toPosix(path: string): string {
  return sep === '/' ? path : path.split(sep).join('/');
}

/** Reads the baseline; a missing file is an empty baseline (`exists` false). */
export function readBaseline(path: string, cwd: string = process.cwd()): { baseline: Baseline; exists: boolean } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { baseline: emptyBaseline(), exists: false };
    throw new BaselineError(`${path}: cannot read the baseline: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    const position = /position (\d+)/.exec((error as Error).message);
    const line = position ? text.slice(0, Number(position[1])).split('\n').length : 1;
    throw new BaselineError(`${path}:${line}: the baseline is not valid JSON (${(error as Error).message})`);
  }
  const fail = (key: string, problem: string): never => {
    throw new BaselineError(`${path}:${lineOf(text, JSON.stringify(key))}: ${key} ${problem}`);
  };
  if (!isObject(raw)) throw new BaselineError(`${path}:1: the baseline must be a JSON object`);
  if (raw.version === undefined) return { baseline: { runtime: null, static: readLegacyScanBaseline(raw, path, cwd, fail) }, exists: true };
  if (raw.version !== 1 && raw.version !== FORMAT_VERSION) {
    throw new BaselineError(`${path}:${lineOf(text, '"version"')}: "version" ${JSON.stringify(raw.version)} is not a baseline version this orm-migrate reads (1 or ${FORMAT_VERSION})`);
  }
  for (const key of Object.keys(raw)) if (!['version', 'runtime', 'static'].includes(key)) fail(key, 'is not a baseline key (known: version, runtime, static)');
  const baseline = emptyBaseline();
  if (raw.runtime !== undefined) baseline.runtime = readRuntime(raw.runtime, fail);
  else if (raw.version === 1) baseline.runtime = new Map();
  if (raw.static !== undefined) baseline.static = readStatic(raw.static, raw.version === 1 ? 'number' : 'object', fail);
  return { baseline, exists: true };
}

type Fail = (key: string, problem: string) => never;

function readRuntime(value: unknown, fail: Fail): SiteCounts {
  if (!isObject(value)) fail('runtime', 'must be an object of call sites');
  const runtime: SiteCounts = new Map();
  for (const [site, codes] of Object.entries(value as object)) {
    if (!isObject(codes)) fail(site, 'must map warning codes to { call, count }');
    const perCode = new Map<string, BaselineEntry>();
    for (const [code, entry] of Object.entries(codes as object)) {
      const { call, count } = (entry ?? {}) as { call?: unknown; count?: unknown };
      if (typeof call !== 'string' || !Number.isInteger(count) || (count as number) < 0) {
        fail(site, `→ ${code} must be { "call": string, "count": integer >= 0 }`);
      }
      perCode.set(code, { call: call as string, count: count as number });
    }
    runtime.set(site, perCode);
  }
  return runtime;
}

/** Version 2 stores `{ "count": N }` (as ESLint's suppressions do); version 1 stored the number. */
function readStatic(value: unknown, shape: 'object' | 'number', fail: Fail): StaticCounts {
  if (!isObject(value)) fail('static', 'must be an object of files');
  const statics: StaticCounts = new Map();
  for (const [file, rules] of Object.entries(value as object)) {
    if (!isObject(rules)) fail(file, 'must map rule ids to { "count": N }');
    const perRule = new Map<string, number>();
    for (const [rule, entry] of Object.entries(rules as object)) {
      const count = shape === 'number' ? entry : isObject(entry) && Object.keys(entry).length === 1 ? entry.count : undefined;
      if (!Number.isInteger(count) || (count as number) < 0) fail(file, `→ ${rule} must be ${shape === 'number' ? 'a count (integer >= 0)' : '{ "count": N } with N an integer >= 0'}`);
      perRule.set(rule, count as number);
    }
    statics.set(file, perRule);
  }
  return statics;
}

/** scan's former file: `{ "<path relative to the baseline>": { "<rule>": { "count": N } } }`. */
function readLegacyScanBaseline(raw: Record<string, unknown>, path: string, cwd: string, fail: Fail): StaticCounts {
  const looksLegacy = Object.values(raw).every((rules) => isObject(rules) && Object.values(rules).every((entry) => isObject(entry) && 'count' in entry));
  if (!looksLegacy) {
    throw new BaselineError(
      `${path}:1: not an orm-migrate baseline: expected { "version": ${FORMAT_VERSION}, "runtime": {…}, "static": {…} } ` +
        `(record one with npx orm-migrate gate --update-baseline, or npx orm-migrate scan --update-baseline)`,
    );
  }
  const counts = readStatic(raw, 'object', fail);
  const rebased: StaticCounts = new Map();
  for (const [file, rules] of counts) {
    const absolute = isAbsolute(file) ? file : resolve(dirname(path), file);
    rebased.set(toPosix(relative(cwd, absolute)), rules);
  }
  return rebased;
}

function sortedEntries<T>(map: Map<string, T>, order: (a: string, b: string) => number = (a, b) => (a < b ? -1 : a > b ? 1 : 0)): [string, T][] {
  return [...map].sort(([a], [b]) => order(a, b));
}

export function serializeBaseline(baseline: Baseline): string {
  const out: Record<string, unknown> = { version: FORMAT_VERSION };
  if (baseline.runtime) {
    const runtime: Record<string, Record<string, BaselineEntry>> = {};
    for (const [site, codes] of sortedEntries(baseline.runtime, compareSites)) {
      const entries = sortedEntries(codes).filter(([, entry]) => entry.count > 0);
      if (entries.length > 0) runtime[site] = Object.fromEntries(entries.map(([code, { call, count }]) => [code, { call, count }]));
    }
    out.runtime = runtime;
  }
  if (baseline.static) {
    const statics: Record<string, Record<string, { count: number }>> = {};
    for (const [file, rules] of sortedEntries(baseline.static)) {
      const entries = sortedEntries(rules).filter(([, count]) => count > 0);
      if (entries.length > 0) statics[file] = Object.fromEntries(entries.map(([rule, count]) => [rule, { count }]));
    }
    out.static = statics;
  }
  return `${JSON.stringify(out, null, 2)}\n`;
}

export function writeBaseline(path: string, baseline: Baseline): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, serializeBaseline(baseline));
  // Atomic replace: a crash never leaves half a baseline.
  renameSync(temporary, path);
}
