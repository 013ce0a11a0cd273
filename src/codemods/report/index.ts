/** The formatters by name, and the report model they share. */
import type { Formatter } from './format.js';
import { formatGithub } from './github.js';
import { formatJson } from './json.js';
import { formatSarif } from './sarif.js';
import { formatStylish } from './stylish.js';

export const FORMATS = ['stylish', 'json', 'sarif', 'github'] as const;
export type FormatName = (typeof FORMATS)[number];

export const FORMATTERS: Record<FormatName, Formatter> = {
  stylish: formatStylish,
  json: formatJson,
  sarif: formatSarif,
  github: formatGithub,
};


export { buildReport, summarize } from './gate.js';
export type { GateOptions, GateOutcome, Report, ReportedFinding, Summary } from './gate.js';
export { gateMessages } from './format.js';
export type { FormatContext, Formatter } from './format.js';
export { baselineKey, compareWithBaseline, countFindings, updatedStaticCounts } from './baseline.js';
export type { BaselineComparison, BaselineEntryChange } from './baseline.js';
