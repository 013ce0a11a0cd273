/**
 * The CI gate: which findings count (a baseline suppresses what it records) and whether the scan
 * passes — no errors, warnings within --max-warnings, nothing over the baseline.
 */
import type { Finding, ScanResult } from '../engine/types.js';
import type { BaselineComparison } from './baseline.js';

export interface GateOptions {
  maxWarnings?: number;
  baseline?: BaselineComparison;
  /** The baseline was just rewritten from this scan (reported, not compared). */
  baselineWritten?: { path: string; entries: number; findings: number };
}

export interface RuleCount {
  errors: number;
  warnings: number;
}

export interface Summary {
  /** Findings that count (not suppressed by the baseline). */
  errors: number;
  warnings: number;
  fixable: number;
  suppressed: number;
  byRule: Record<string, RuleCount>;
}

export interface GateOutcome {
  passed: boolean;
  /** One line per reason the gate failed. */
  failures: string[];
  summary: Summary;
  maxWarnings: number | undefined;
  baseline: BaselineComparison | undefined;
  baselineWritten: GateOptions['baselineWritten'];
}

export interface ReportedFinding extends Finding {
  /** Recorded in the baseline: shown in machine formats, not counted by the gate. */
  suppressed: boolean;
}

export interface Report {
  result: ScanResult;
  findings: ReportedFinding[];
  gate: GateOutcome;
}

export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

export function summarize(findings: readonly ReportedFinding[]): Summary {
  const summary: Summary = { errors: 0, warnings: 0, fixable: 0, suppressed: 0, byRule: {} };
  for (const finding of findings) {
    if (finding.suppressed) {
      summary.suppressed += 1;
      continue;
    }
    const bucket = (summary.byRule[finding.ruleId] ??= { errors: 0, warnings: 0 });
    const key: keyof RuleCount = finding.severity === 'error' ? 'errors' : 'warnings';
    bucket[key] += 1;
    summary[key] += 1;
    if (finding.fixable) summary.fixable += 1;
  }
  return summary;
}

export function buildReport(result: ScanResult, options: GateOptions = {}): Report {
  const suppressed = options.baseline?.suppressed;
  const findings: ReportedFinding[] = result.findings.map((finding) => ({ ...finding, suppressed: suppressed?.has(finding) ?? false }));
  const summary = summarize(findings);
  const failures: string[] = [];
  if (summary.errors > 0) failures.push(`${plural(summary.errors, 'error')}`);
  if (options.maxWarnings !== undefined && summary.warnings > options.maxWarnings) {
    failures.push(`${plural(summary.warnings, 'warning')}, more than --max-warnings ${options.maxWarnings}`);
  }
  const increased = options.baseline?.increased ?? [];
  if (increased.length > 0) {
    const added = increased.reduce((sum, entry) => sum + entry.current - entry.recorded, 0);
    failures.push(`${plural(added, 'finding')} over the baseline in ${increased.length} file/rule ${increased.length === 1 ? 'entry' : 'entries'}`);
  }
  return {
    result,
    findings,
    gate: {
      passed: failures.length === 0,
      failures,
      summary,
      maxWarnings: options.maxWarnings,
      baseline: options.baseline,
      baselineWritten: options.baselineWritten,
    },
  };
}
