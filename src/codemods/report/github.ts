/** GitHub Actions workflow commands: one `::error` / `::warning` annotation per finding. */
import type { Formatter } from './format.js';
import { displayPath, gateMessages } from './format.js';
import { plural } from './gate.js';

/** Escaping of a workflow command's message. */
export function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Escaping of a workflow command's property value. */
export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

export const formatGithub: Formatter = (report, context) => {
  const lines: string[] = [];
  for (const finding of report.findings) {
    if (finding.suppressed) continue;
    const properties = [
      `file=${escapeProperty(displayPath(context.cwd, finding.file))}`,
      `line=${finding.line}`,
      `col=${finding.column}`,
      `endLine=${finding.endLine}`,
      `endColumn=${finding.endColumn}`,
      `title=${escapeProperty(`orm-migrate(${finding.ruleId})`)}`,
    ].join(',');
    lines.push(`::${finding.severity === 'error' ? 'error' : 'warning'} ${properties}::${escapeData(finding.message)}`);
  }
  const { summary } = report.gate;
  lines.push(`orm-migrate: ${plural(summary.errors + summary.warnings, 'problem')} (${plural(summary.errors, 'error')}, ${plural(summary.warnings, 'warning')})`);
  lines.push(...gateMessages(report, context));
  return `${lines.join('\n')}\n`;
};
