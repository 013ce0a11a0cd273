/** What every formatter gets, and the lines about the gate that several of them print. */
import { relative } from 'node:path';
import { toPosix } from '../engine/discover.js';
import type { Report } from './gate.js';
import { plural } from './gate.js';

export interface FormatContext {
  /** Paths are shown relative to this directory. */
  cwd: string;
  /** ANSI colours (stylish only); the CLI decides from the TTY and NO_COLOR. */
  color: boolean;
  toolVersion: string;
  /** The exact command that rewrites the baseline from this scan, when a baseline is in use. */
  updateBaselineCommand?: string;
}

export type Formatter = (report: Report, context: FormatContext) => string;

export function displayPath(cwd: string, file: string): string {
  return toPosix(relative(cwd, file)) || '.';
}

function entries(count: number): string {
  return `${count} file/rule ${count === 1 ? 'entry' : 'entries'}`;
}

/** Human lines about the baseline and the gate (stylish prints them; other formats send them to stderr). */
export function gateMessages(report: Report, context: FormatContext): string[] {
  const lines: string[] = [];
  const { baseline, baselineWritten, failures, maxWarnings, summary } = report.gate;
  if (baselineWritten) {
    lines.push(`Baseline written to ${displayPath(context.cwd, baselineWritten.path)}: ${plural(baselineWritten.findings, 'finding')} in ${entries(baselineWritten.entries)}.`);
  }
  if (baseline) {
    const where = displayPath(context.cwd, baseline.path);
    if (summary.suppressed > 0) lines.push(`${plural(summary.suppressed, 'finding')} recorded in ${where} ${summary.suppressed === 1 ? 'is' : 'are'} not counted.`);
    for (const entry of baseline.increased) {
      lines.push(
        entry.recorded === 0
          ? `New: ${entry.file} › ${entry.rule}: ${entry.current} (none recorded in the baseline)`
          : `Increased: ${entry.file} › ${entry.rule}: ${entry.current}, baseline allows ${entry.recorded}`,
      );
    }
    for (const entry of baseline.stale) {
      lines.push(`Stale baseline entry: ${entry.file} › ${entry.rule} (recorded ${entry.recorded}, ${entry.fileExists ? 'now none' : 'file no longer exists'})`);
    }
    if (baseline.dropped > 0) {
      lines.push(
        `${plural(baseline.dropped, 'finding')} fewer than the baseline records (${entries(baseline.decreased.length + baseline.stale.length)} dropped). Tighten it with:`,
        `  ${context.updateBaselineCommand ?? '--update-baseline'}`,
      );
    }
  }
  if (maxWarnings !== undefined && summary.warnings > maxWarnings) {
    lines.push(`Too many warnings: ${summary.warnings} found, --max-warnings is ${maxWarnings}.`);
  }
  if (failures.length > 0) lines.push(`Gate failed: ${failures.join('; ')}.`);
  return lines;
}
