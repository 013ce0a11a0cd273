/** ESLint-like terminal output: findings grouped by file, then totals and counts per rule. */
import { Chalk } from 'chalk';
import type { Formatter } from './format.js';
import { displayPath, gateMessages } from './format.js';
import { plural } from './gate.js';
import type { ReportedFinding } from './gate.js';

export const formatStylish: Formatter = (report, context) => {
  const paint = new Chalk({ level: context.color ? 1 : 0 });
  const shown = report.findings.filter((finding) => !finding.suppressed);
  const byFile = new Map<string, ReportedFinding[]>();
  for (const finding of shown) {
    const list = byFile.get(finding.file);
    if (list) list.push(finding);
    else byFile.set(finding.file, [finding]);
  }

  const out: string[] = [];
  for (const [file, findings] of byFile) {
    out.push('', paint.underline(displayPath(context.cwd, file)));
    const rows = findings.map((finding) => ({
      position: `${finding.line}:${finding.column}`,
      severity: finding.severity,
      message: finding.message,
      rule: finding.ruleId,
    }));
    const positionWidth = Math.max(...rows.map((row) => row.position.length));
    const severityWidth = Math.max(...rows.map((row) => row.severity.length));
    const messageWidth = Math.min(100, Math.max(...rows.map((row) => row.message.length)));
    for (const row of rows) {
      const severity = row.severity.padEnd(severityWidth);
      out.push(
        `  ${paint.dim(row.position.padEnd(positionWidth))}  ${row.severity === 'error' ? paint.red(severity) : paint.yellow(severity)}  ${row.message.padEnd(messageWidth)}  ${paint.dim(row.rule)}`,
      );
    }
  }

  const { summary } = report.gate;
  const total = summary.errors + summary.warnings;
  out.push('');
  if (total === 0) {
    out.push(paint.green(`✔ No problems found in ${plural(report.result.stats.discovered, 'file')} (${report.result.stats.parsed} parsed).`));
  } else {
    const headline = `✖ ${plural(total, 'problem')} (${plural(summary.errors, 'error')}, ${plural(summary.warnings, 'warning')}) in ${plural(byFile.size, 'file')}`;
    out.push(summary.errors > 0 ? paint.red.bold(headline) : paint.yellow.bold(headline));
    if (summary.fixable > 0) out.push(`  ${plural(summary.fixable, 'problem')} can be rewritten by \`orm-migrate fix\`.`);
    const rules = Object.entries(summary.byRule).sort(([a], [b]) => (a < b ? -1 : 1));
    const ruleWidth = Math.max(...rules.map(([rule]) => rule.length));
    out.push('', '  By rule:');
    for (const [rule, counts] of rules) {
      const parts = [counts.errors > 0 ? plural(counts.errors, 'error') : '', counts.warnings > 0 ? plural(counts.warnings, 'warning') : ''].filter(Boolean);
      out.push(`    ${rule.padEnd(ruleWidth)}  ${parts.join(', ')}`);
    }
  }
  const messages = gateMessages(report, context);
  if (messages.length > 0) out.push('', ...messages);
  return `${out.join('\n').replace(/^\n/, '')}\n`;
};
