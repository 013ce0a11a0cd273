/**
 * The static half of the baseline (file → rule → count, like ESLint's bulk suppressions):
 * counting scan findings, updating and comparing. The file itself is read and written by
 * src/gate/baseline.ts, the one baseline module; its paths are relative to the working directory.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import type { StaticCounts } from '../../gate/baseline.js';
import type { Finding } from '../engine/types.js';
import { PARSE_ERROR_RULE_ID } from '../engine/types.js';
import { toPosix } from '../engine/discover.js';

/** The baseline key of an absolute file path: relative to the working directory, forward slashes. */
export function baselineKey(cwd: string, file: string): string {
  return toPosix(relative(cwd, file));
}

/** Findings counted per baseline key and rule (parse errors are never baselined). */
export function countFindings(findings: readonly Finding[], cwd: string): StaticCounts {
  const counts: StaticCounts = new Map();
  for (const finding of findings) {
    if (finding.ruleId === PARSE_ERROR_RULE_ID) continue;
    const key = baselineKey(cwd, finding.file);
    const rules = counts.get(key) ?? new Map<string, number>();
    rules.set(finding.ruleId, (rules.get(finding.ruleId) ?? 0) + 1);
    counts.set(key, rules);
  }
  return counts;
}

/**
 * The static half after this scan: entries for scanned files are replaced by today's counts;
 * entries for files outside this scan are kept while the file still exists.
 */
export function updatedStaticCounts(previous: StaticCounts | null, findings: readonly Finding[], cwd: string, scannedFiles: readonly string[]): StaticCounts {
  const next = countFindings(findings, cwd);
  const scanned = new Set(scannedFiles.map((file) => baselineKey(cwd, file)));
  for (const [path, rules] of previous ?? []) {
    if (scanned.has(path) || next.has(path) || !existsSync(resolve(cwd, path))) continue;
    next.set(path, rules);
  }
  return next;
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
  baseline: StaticCounts,
  baselinePath: string,
  scannedFiles: readonly string[],
  cwd: string,
): BaselineComparison {
  const groups = new Map<string, Finding[]>();
  for (const finding of findings) {
    if (finding.ruleId === PARSE_ERROR_RULE_ID) continue;
    const key = `${baselineKey(cwd, finding.file)}\0${finding.ruleId}`;
    const group = groups.get(key);
    if (group) group.push(finding);
    else groups.set(key, [finding]);
  }
  const comparison: BaselineComparison = { path: baselinePath, suppressed: new Set(), increased: [], decreased: [], stale: [], dropped: 0 };
  for (const [key, group] of groups) {
    const [file = '', rule = ''] = key.split('\0');
    const recorded = baseline.get(file)?.get(rule) ?? 0;
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
  const scanned = new Set(scannedFiles.map((file) => baselineKey(cwd, file)));
  for (const [file, rules] of baseline) {
    const absolute = isAbsolute(file) ? file : resolve(cwd, file);
    const fileExists = existsSync(absolute);
    if (fileExists && !scanned.has(file)) continue;
    for (const [rule, count] of rules) {
      if (count === 0 || groups.has(`${file}\0${rule}`)) continue;
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
