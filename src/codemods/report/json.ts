/** Machine-readable output: every finding (suppressed ones flagged), the summary and the gate. */
import type { FunctionRef } from '../engine/types.js';
import type { Formatter } from './format.js';
import { displayPath } from './format.js';

export const JSON_REPORT_VERSION = 1;

export const formatJson: Formatter = (report, context) => {
  const path = (file: string): string => displayPath(context.cwd, file);
  const root = (ref: FunctionRef) => ({ file: path(ref.file), name: ref.name ?? null, kind: ref.kind, async: ref.async, line: ref.line, column: ref.column, start: ref.start, end: ref.end });
  const { gate, result } = report;
  const document = {
    version: JSON_REPORT_VERSION,
    tool: { name: 'orm-migrate', version: context.toolVersion },
    mode: result.mode,
    notes: result.notes,
    config: result.configSource === undefined ? null : displayPath(context.cwd, result.configSource),
    ...(result.preset === undefined ? {} : { preset: result.preset }),
    problems: result.problems.map((problem) => ({ kind: problem.kind, path: problem.kind === 'unreadable' ? path(problem.path) : problem.path, message: problem.message.split(problem.path).join(problem.kind === 'unreadable' ? path(problem.path) : problem.path) })),
    stats: { discovered: result.stats.discovered, parsed: result.stats.parsed, skippedByPrefilter: result.stats.skippedByPrefilter, durationMs: Math.round(result.stats.durationMs) },
    summary: gate.summary,
    gate: {
      passed: gate.passed,
      failures: gate.failures,
      maxWarnings: gate.maxWarnings ?? null,
      baseline: gate.baseline
        ? {
            path: path(gate.baseline.path),
            increased: gate.baseline.increased,
            decreased: gate.baseline.decreased,
            stale: gate.baseline.stale,
            dropped: gate.baseline.dropped,
            updateCommand: gate.baseline.dropped > 0 ? (context.updateBaselineCommand ?? null) : null,
          }
        : null,
      baselineWritten: gate.baselineWritten ? { ...gate.baselineWritten, path: path(gate.baselineWritten.path) } : null,
    },
    findings: report.findings.map((finding) => ({
      file: path(finding.file),
      line: finding.line,
      column: finding.column,
      endLine: finding.endLine,
      endColumn: finding.endColumn,
      ruleId: finding.ruleId,
      severity: finding.severity,
      messageId: finding.messageId,
      message: finding.message,
      fixable: finding.fixable,
      suppressed: finding.suppressed,
      data: finding.data,
      ...(finding.roots ? { roots: finding.roots.map(root) } : {}),
    })),
  };
  // Compact, like ESLint's json formatter: machines read it, and reports run to tens of megabytes.
  return `${JSON.stringify(document)}\n`;
};
