/**
 * The committed baseline: how often each call site emitted each warning code. Stable and sorted,
 * so it diffs well and merges like any other file.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { GateInputError } from './records.js';

export interface BaselineEntry {
  /** `Model.method`, to recognise a site whose line moved. */
  call: string;
  count: number;
}

/** site (`file:line:col`) → warning code → entry. */
export type SiteCounts = Map<string, Map<string, BaselineEntry>>;

export interface Baseline {
  runtime: SiteCounts;
  /** Static findings of `scan` (with gate --scan): file → rule → count. */
  static: Map<string, Map<string, number>>;
}

const FORMAT_VERSION = 1;

export function emptyBaseline(): Baseline {
  return { runtime: new Map(), static: new Map() };
}

function lineOf(text: string, needle: string): number {
  const index = text.indexOf(needle);
  return index < 0 ? 1 : text.slice(0, index).split('\n').length;
}

/** Reads the baseline; a missing file is an empty baseline (`exists` false). */
export function readBaseline(path: string): { baseline: Baseline; exists: boolean } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { baseline: emptyBaseline(), exists: false };
    throw new GateInputError(`${path}: cannot read the baseline: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    const position = /position (\d+)/.exec((error as Error).message);
    const line = position ? text.slice(0, Number(position[1])).split('\n').length : 1;
    throw new GateInputError(`${path}:${line}: the baseline is not valid JSON (${(error as Error).message})`);
  }
  const fail = (key: string, problem: string): never => {
    throw new GateInputError(`${path}:${lineOf(text, JSON.stringify(key))}: ${key} ${problem}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new GateInputError(`${path}:1: the baseline must be a JSON object`);
  const { version, runtime = {}, static: statics = {} } = raw as Record<string, unknown>;
  if (version !== FORMAT_VERSION) throw new GateInputError(`${path}:${lineOf(text, '"version"')}: "version" must be ${FORMAT_VERSION}`);
  const baseline = emptyBaseline();
  if (typeof runtime !== 'object' || runtime === null || Array.isArray(runtime)) fail('runtime', 'must be an object of call sites');
  for (const [site, codes] of Object.entries(runtime as object)) {
    if (typeof codes !== 'object' || codes === null) fail(site, 'must map warning codes to { call, count }');
    const perCode = new Map<string, BaselineEntry>();
    for (const [code, entry] of Object.entries(codes as object)) {
      const { call, count } = (entry ?? {}) as { call?: unknown; count?: unknown };
      if (typeof call !== 'string' || !Number.isInteger(count) || (count as number) < 0) {
        fail(site, `→ ${code} must be { "call": string, "count": integer >= 0 }`);
      }
      perCode.set(code, { call: call as string, count: count as number });
    }
    baseline.runtime.set(site, perCode);
  }
  if (typeof statics !== 'object' || statics === null || Array.isArray(statics)) fail('static', 'must be an object of files');
  for (const [file, rules] of Object.entries(statics as object)) {
    const perRule = new Map<string, number>();
    for (const [rule, count] of Object.entries((rules ?? {}) as object)) {
      if (!Number.isInteger(count) || (count as number) < 0) fail(file, `→ ${rule} must be a count (integer >= 0)`);
      perRule.set(rule, count as number);
    }
    baseline.static.set(file, perRule);
  }
  return { baseline, exists: true };
}

const byKey = <T>(map: Map<string, T>) => [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

export function serializeBaseline(baseline: Baseline): string {
  const runtime: Record<string, Record<string, BaselineEntry>> = {};
  for (const [site, codes] of byKey(baseline.runtime)) {
    const entries = byKey(codes).filter(([, entry]) => entry.count > 0);
    if (entries.length > 0) runtime[site] = Object.fromEntries(entries.map(([code, { call, count }]) => [code, { call, count }]));
  }
  const statics: Record<string, Record<string, number>> = {};
  for (const [file, rules] of byKey(baseline.static)) {
    const entries = byKey(rules).filter(([, count]) => count > 0);
    if (entries.length > 0) statics[file] = Object.fromEntries(entries);
  }
  const out: Record<string, unknown> = { version: FORMAT_VERSION, runtime };
  if (Object.keys(statics).length > 0) out.static = statics;
  return `${JSON.stringify(out, null, 2)}\n`;
}

export function writeBaseline(path: string, baseline: Baseline): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, serializeBaseline(baseline));
  // Atomic replace: a crash never leaves half a baseline.
  renameSync(temporary, path);
}
