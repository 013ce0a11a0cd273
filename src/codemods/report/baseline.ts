/**
 * The baseline: per file, per rule, how many findings were accepted (ESLint's bulk suppressions
 * shape: `{ "src/a.ts": { "rule-id": { "count": 2 } } }`). Paths are relative to the baseline's
 * directory with forward slashes; keys are sorted so the file diffs cleanly.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import type { Finding } from '../engine/types.js';
import { PARSE_ERROR_RULE_ID } from '../engine/types.js';
import { toPosix } from '../engine/discover.js';

export type BaselineCounts = Record<string, Record<string, { count: number }>>;

/** A baseline file the user must fix (or regenerate with --update-baseline). */
export class BaselineError extends Error {
  override name = 'BaselineError';
  constructor(
    readonly file: string,
    readonly key: string | undefined,
    problem: string,
  ) {
    super(key === undefined ? `${file}: ${problem}` : `${file}: "${key}" ${problem}`);
  }
}

/** The baseline key of an absolute file path. */
export function baselineKey(baselineDir: string, file: string): string {
  return toPosix(relative(baselineDir, file));
}

export function readBaseline(file: string): BaselineCounts {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new BaselineError(file, undefined, code ? `cannot be read (${code}); create it with --update-baseline` : `is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new BaselineError(file, undefined, 'must be a JSON object of file → rule → { "count": N }');
  const counts: BaselineCounts = {};
  for (const [path, rules] of Object.entries(raw)) {
    if (typeof rules !== 'object' || rules === null || Array.isArray(rules)) throw new BaselineError(file, path, 'must be an object of rule → { "count": N }');
    counts[path] = {};
    for (const [rule, entry] of Object.entries(rules as Record<string, unknown>)) {
      const key = `${path} › ${rule}`;
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new BaselineError(file, key, 'must be { "count": N }');
      const keys = Object.keys(entry);
      const count = (entry as { count?: unknown }).count;
      if (keys.length !== 1 || typeof count !== 'number' || !Number.isInteger(count) || count < 1) {
        throw new BaselineError(file, key, 'must be { "count": N } with N a positive integer');
      }
      (counts[path] as Record<string, { count: number }>)[rule] = { count };
    }
  }
  return counts;
}

/** Findings counted per baseline key and rule (parse errors are never baselined). */
export function countFindings(findings: readonly Finding[], baselineDir: string): BaselineCounts {
  const counts: BaselineCounts = {};
  for (const finding of findings) {
    if (finding.ruleId === PARSE_ERROR_RULE_ID) continue;
    const rules = (counts[baselineKey(baselineDir, finding.file)] ??= {});
    (rules[finding.ruleId] ??= { count: 0 }).count += 1;
  }
  return counts;
}

/**
 * The baseline after this scan: entries for scanned files are replaced by today's counts;
 * entries for files outside this scan are kept while the file still exists.
 */
export function updatedBaseline(previous: BaselineCounts | undefined, findings: readonly Finding[], baselineDir: string, scannedFiles: readonly string[]): BaselineCounts {
  const next = countFindings(findings, baselineDir);
  const scanned = new Set(scannedFiles.map((file) => baselineKey(baselineDir, file)));
  for (const [path, rules] of Object.entries(previous ?? {})) {
    if (scanned.has(path) || next[path] || !existsSync(resolve(baselineDir, path))) continue;
    next[path] = rules;
  }
  return next;
}

/** Stable, sorted, diff-friendly JSON. */
export function serializeBaseline(counts: BaselineCounts): string {
  const sorted: BaselineCounts = {};
  for (const path of Object.keys(counts).sort()) {
    const rules = counts[path] ?? {};
    const names = Object.keys(rules).sort();
    if (names.length === 0) continue;
    sorted[path] = {};
    for (const rule of names) (sorted[path] as Record<string, { count: number }>)[rule] = { count: rules[rule]?.count ?? 0 };
  }
  return `${JSON.stringify(sorted, null, 2)}\n`;
}

export function writeBaseline(file: string, counts: BaselineCounts): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, serializeBaseline(counts));
}

export interface BaselineEntryChange {
  /** Baseline key (relative path). */
  file: string;
  rule: string;
  recorded: number;
  current: number;
}

export interface BaselineComparison {
  /** Absolute path of the baseline file. */
  path: string;
  /** Findings covered by the baseline (their file/rule count is within the recorded count). */
  suppressed: Set<Finding>;
  /** File/rule pairs over their recorded count (recorded 0: new). */
  increased: BaselineEntryChange[];
  /** File/rule pairs under their recorded count but not gone. */
  decreased: BaselineEntryChange[];
  /** Entries with no finding left, in a scanned file or a file that no longer exists. */
  stale: (BaselineEntryChange & { fileExists: boolean })[];
  /** Findings fewer than recorded, over decreased and stale entries. */
  dropped: number;
}

export function compareWithBaseline(
  findings: readonly Finding[],
  baseline: BaselineCounts,
  baselinePath: string,
  scannedFiles: readonly string[],
): BaselineComparison {
  const baselineDir = dirname(baselinePath);
  const groups = new Map<string, Finding[]>();
  for (const finding of findings) {
    if (finding.ruleId === PARSE_ERROR_RULE_ID) continue;
    const key = `${baselineKey(baselineDir, finding.file)}\0${finding.ruleId}`;
    const group = groups.get(key);
    if (group) group.push(finding);
    else groups.set(key, [finding]);
  }
  const comparison: BaselineComparison = { path: baselinePath, suppressed: new Set(), increased: [], decreased: [], stale: [], dropped: 0 };
  for (const [key, group] of groups) {
    const [file = '', rule = ''] = key.split('\0');
    const recorded = baseline[file]?.[rule]?.count ?? 0;
    const current = group.length;
    if (current > recorded) {
      // Like ESLint's suppressions: over the count, every finding of the pair is reported.
      comparison.increased.push({ file, rule, recorded, current });
    } else {
      for (const finding of group) comparison.suppressed.add(finding);
      if (current < recorded) {
        comparison.decreased.push({ file, rule, recorded, current });
        comparison.dropped += recorded - current;
      }
    }
  }
  const scanned = new Set(scannedFiles.map((file) => baselineKey(baselineDir, file)));
  for (const [file, rules] of Object.entries(baseline)) {
    const absolute = isAbsolute(file) ? file : resolve(baselineDir, file);
    const fileExists = existsSync(absolute);
    if (fileExists && !scanned.has(file)) continue;
    for (const [rule, { count }] of Object.entries(rules)) {
      if (groups.has(`${file}\0${rule}`)) continue;
      comparison.stale.push({ file, rule, recorded: count, current: 0, fileExists });
      comparison.dropped += count;
    }
  }
  const order = (a: BaselineEntryChange, b: BaselineEntryChange): number => (a.file === b.file ? (a.rule < b.rule ? -1 : 1) : a.file < b.file ? -1 : 1);
  comparison.increased.sort(order);
  comparison.decreased.sort(order);
  comparison.stale.sort(order);
  return comparison;
}
