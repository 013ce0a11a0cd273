/** Rendering a gate result: stylish (for people), json (for tools), github (workflow annotations). */
import { Chalk } from 'chalk';
import { compareSites } from './baseline.js';
import type { RuntimeComparison, SiteChange } from './compare.js';

export type GateFormat = 'stylish' | 'json' | 'github';
export const GATE_FORMATS: readonly GateFormat[] = ['stylish', 'json', 'github'];

export interface StaticComparison {
  added: Array<{ file: string; rule: string; baseline: number; current: number }>;
  dropped: Array<{ file: string; rule: string; baseline: number; current: number }>;
  total: number;
}

export interface GateOutcome {
  warningsFile: string;
  baselineFile: string | null;
  baselineExists: boolean;
  /** Records in the warnings file that belong to no run or another run than the latest. */
  ignoredRecords: number;
  runtime: RuntimeComparison;
  static: StaticComparison | null;
  /** Halves the baseline never recorded (their entries are not listed as new, one reason says why). */
  missingHalves: Array<'runtime' | 'static'>;
  max: number | null;
  strict: boolean;
  /** The command that records the current counts as the new baseline. */
  tightenCommand: string;
  failed: boolean;
  reasons: string[];
  updated: { added: string[]; removed: string[] } | null;
}

const dropCount = (runtime: RuntimeComparison) =>
  runtime.decreased.reduce((n, c) => n + c.baseline - c.current, 0) + runtime.stale.reduce((n, c) => n + c.baseline, 0);

export function summarizeDrops(outcome: GateOutcome): { warnings: number; sites: number } {
  const staticDrops = outcome.static?.dropped.reduce((n, d) => n + d.baseline - d.current, 0) ?? 0;
  return { warnings: dropCount(outcome.runtime) + staticDrops, sites: outcome.runtime.decreased.length + outcome.runtime.stale.length + (outcome.static?.dropped.length ?? 0) };
}

function testsLine(change: SiteChange): string {
  if (change.tests.size === 0) return '';
  return [...change.tests].sort(([a], [b]) => a.localeCompare(b)).map(([title, n]) => `${title} (${n})`).join('; ');
}

function splitSite(site: string): { file: string; line: string; col: string } {
  const match = /^(.*):(\d+):(\d+)$/.exec(site);
  return match ? { file: match[1]!, line: match[2]!, col: match[3]! } : { file: site, line: '1', col: '1' };
}

function recordedLines(outcome: GateOutcome, c: InstanceType<typeof Chalk>): string[] {
  const { runtime } = outcome;
  const current = [...runtime.added, ...runtime.increased, ...runtime.decreased, ...runtime.unchanged].sort((a, b) => compareSites(a.site, b.site));
  const lines = current.map((change) => `  ${c.bold(change.site)}  ${change.call}()  ${c.dim(change.code)}  ×${change.current}`);
  if (outcome.static) lines.push(`  ${outcome.static.total} static finding${outcome.static.total === 1 ? '' : 's'} (scan)`);
  return lines;
}

export function formatStylish(outcome: GateOutcome, useColor: boolean): string {
  const c = new Chalk({ level: useColor ? 1 : 0 });
  const out: string[] = [];
  const { runtime } = outcome;
  const sites = runtime.added.length + runtime.increased.length + runtime.decreased.length + runtime.unchanged.length;
  const against = outcome.max !== null && !outcome.baselineFile ? `max ${outcome.max}` : outcome.baselineExists ? `baseline ${outcome.baselineFile}` : `no baseline at ${outcome.baselineFile}`;
  const from = outcome.updated ? outcome.warningsFile : `${outcome.warningsFile}; ${against}`;
  out.push(`orm-migrate gate: ${runtime.total} deprecated call${runtime.total === 1 ? '' : 's'} recorded at ${sites} site${sites === 1 ? '' : 's'} (${from})`);
  if (outcome.ignoredRecords > 0) out.push(c.dim(`  (${outcome.ignoredRecords} record${outcome.ignoredRecords === 1 ? '' : 's'} from outside the latest test run ignored)`));
  if (outcome.updated) {
    // What was recorded, not a comparison: the baseline now says exactly this.
    out.push(...recordedLines(outcome, c));
    out.push(`Baseline written to ${outcome.baselineFile}${outcome.baselineExists ? '' : ' (a new file: commit it)'}.`);
    for (const added of outcome.updated.added) out.push(`  + ${added}`);
    for (const removed of outcome.updated.removed) out.push(`  - ${removed}`);
    return `${out.join('\n')}\n`;
  }
  const line = (mark: string, label: string, change: SiteChange, counts: string) => {
    out.push(`${mark} ${label} ${c.bold(change.site)}  ${change.call}()  ${c.dim(change.code)}  ${counts}${change.movedFrom ? c.dim(`  (was ${change.movedFrom})`) : ''}`);
    const tests = testsLine(change);
    if (tests) out.push(`    hit by: ${tests}`);
  };
  const runtimeKnown = !outcome.missingHalves.includes('runtime');
  if (runtimeKnown) {
    for (const change of runtime.added) line(c.red('✖'), 'new site', change, `×${change.current}`);
    for (const change of runtime.increased) line(c.red('✖'), 'more calls', change, `${change.baseline} → ${change.current}`);
  }
  const strictMark = outcome.strict ? c.red('✖') : c.green('↓');
  for (const change of runtime.decreased) line(strictMark, 'fewer calls', change, `${change.baseline} → ${change.current}`);
  for (const change of runtime.stale) line(strictMark, 'no longer hit', change, `${change.baseline} → 0`);
  if (outcome.static) {
    if (!outcome.missingHalves.includes('static')) for (const entry of outcome.static.added) out.push(`${c.red('✖')} static ${c.bold(entry.file)}  ${entry.rule}  ${entry.baseline} → ${entry.current}`);
    for (const entry of outcome.static.dropped) out.push(`${strictMark} static ${c.bold(entry.file)}  ${entry.rule}  ${entry.baseline} → ${entry.current}`);
  }
  const drops = summarizeDrops(outcome);
  if (drops.warnings > 0) {
    out.push(`${outcome.strict ? c.red('✖') : c.green('✔')} ${drops.warnings} fewer deprecated call${drops.warnings === 1 ? '' : 's'} than the baseline at ${drops.sites} site${drops.sites === 1 ? '' : 's'}. Lock in the progress with:`);
    out.push(`    ${outcome.tightenCommand}`);
  }
  for (const reason of outcome.reasons) out.push(c.red(`✖ ${reason}`));
  if (!outcome.failed) out.push(c.green('✔ gate passed'));
  return `${out.join('\n')}\n`;
}

const changeJson = (change: SiteChange) => ({
  site: change.site,
  code: change.code,
  call: change.call,
  baseline: change.baseline,
  current: change.current,
  ...(change.movedFrom ? { movedFrom: change.movedFrom } : {}),
  tests: Object.fromEntries([...change.tests].sort(([a], [b]) => a.localeCompare(b))),
});

export function formatJson(outcome: GateOutcome): string {
  const { runtime } = outcome;
  return `${JSON.stringify(
    {
      passed: !outcome.failed,
      reasons: outcome.reasons,
      warningsFile: outcome.warningsFile,
      ignoredRecords: outcome.ignoredRecords,
      missingHalves: outcome.missingHalves,
      baselineFile: outcome.baselineFile,
      total: runtime.total,
      max: outcome.max,
      added: runtime.added.map(changeJson),
      increased: runtime.increased.map(changeJson),
      decreased: runtime.decreased.map(changeJson),
      stale: runtime.stale.map(changeJson),
      static: outcome.static,
      dropped: summarizeDrops(outcome).warnings,
      tightenCommand: summarizeDrops(outcome).warnings > 0 ? outcome.tightenCommand : null,
      updated: outcome.updated,
    },
    null,
    2,
  )}\n`;
}

const escapeData = (text: string) => text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const escapeProperty = (text: string) => escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');

export function formatGithub(outcome: GateOutcome): string {
  const out: string[] = [];
  const annotate = (level: 'error' | 'notice', change: SiteChange, message: string) => {
    const { file, line, col } = splitSite(change.site);
    const tests = testsLine(change);
    out.push(`::${level} file=${escapeProperty(file)},line=${line},col=${col},title=${escapeProperty('orm-migrate gate')}::${escapeData(message + (tests ? ` (hit by: ${tests})` : ''))}`);
  };
  const runtimeKnown = !outcome.missingHalves.includes('runtime') && !outcome.updated;
  if (runtimeKnown) for (const change of outcome.runtime.added) annotate('error', change, `new deprecated call ${change.call}() (${change.code}) ×${change.current}: wrap it in newConnection()`);
  if (runtimeKnown) for (const change of outcome.runtime.increased) annotate('error', change, `${change.call}() (${change.code}) ran ${change.current} times, baseline ${change.baseline}`);
  const level = outcome.strict ? 'error' : 'notice';
  for (const change of [...outcome.runtime.decreased, ...outcome.runtime.stale]) annotate(level, change, `${change.call}() (${change.code}) dropped ${change.baseline} → ${change.current}`);
  if (!outcome.missingHalves.includes('static') && !outcome.updated) for (const entry of outcome.static?.added ?? []) out.push(`::error file=${escapeProperty(entry.file)}::${escapeData(`${entry.rule}: ${entry.current} findings, baseline ${entry.baseline}`)}`);
  const drops = summarizeDrops(outcome);
  if (drops.warnings > 0 && !outcome.updated) out.push(`::${level}::${escapeData(`${drops.warnings} fewer deprecated calls than the baseline; record it with: ${outcome.tightenCommand}`)}`);
  for (const reason of outcome.reasons) out.push(`::error::${escapeData(reason)}`);
  return out.length > 0 ? `${out.join('\n')}\n` : '';
}
