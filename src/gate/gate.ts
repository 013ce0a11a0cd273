/** The gate: recorded warnings (and, with --scan, static findings) against the baseline or a max. */
import { relative } from 'node:path';
import { compareWithBaseline as compareStaticWithBaseline, countFindings, updatedStaticCounts } from '../codemods/report/baseline.js';
import type { Finding } from '../codemods/engine/types.js';
import { compareSites, emptyBaseline, readBaseline, writeBaseline } from './baseline.js';
import type { Baseline } from './baseline.js';
import { compareWithBaseline, tallyBySite, toSiteCounts } from './compare.js';
import { readWarningsFile } from './records.js';
import type { GateOutcome, StaticComparison } from './report.js';

export { DEFAULT_BASELINE_FILE } from './baseline.js';
export const DEFAULT_WARNINGS_FILE = '.orm-migrate/warnings.jsonl';

/** What `orm-migrate scan` found (gate --scan). */
export interface StaticScan {
  findings: readonly Finding[];
  files: readonly string[];
}

export interface GateOptions {
  cwd: string;
  warningsFile: string;
  /** null: --max alone, no baseline. */
  baselineFile: string | null;
  max: number | null;
  strict: boolean;
  updateBaseline: boolean;
  scan: StaticScan | null;
  /** The arguments that reproduce this run, for the tighten command. */
  commandArgs: string[];
}

function compareStatic(scan: StaticScan, baseline: Baseline, baselineFile: string, cwd: string): StaticComparison {
  const comparison = compareStaticWithBaseline(scan.findings, baseline.static ?? new Map(), baselineFile, scan.files, cwd);
  const total = [...countFindings(scan.findings, cwd).values()].reduce((sum, rules) => sum + [...rules.values()].reduce((a, b) => a + b, 0), 0);
  const entry = (change: { file: string; rule: string; recorded: number; current: number }) => ({ file: change.file, rule: change.rule, baseline: change.recorded, current: change.current });
  return { added: comparison.increased.map(entry), dropped: [...comparison.decreased, ...comparison.stale].map(entry), total };
}

/** Each entry's line in the "what changed" listing, mapped to its site (or file) for ordering. */
function describeEntries(baseline: Baseline): Map<string, string> {
  const out = new Map<string, string>();
  for (const [site, codes] of baseline.runtime ?? []) for (const [code, { call, count }] of codes) if (count > 0) out.set(`${site} ${call}() ${code} ×${count}`, site);
  for (const [file, rules] of baseline.static ?? []) for (const [rule, count] of rules) if (count > 0) out.set(`${file} ${rule} ×${count} (static)`, file);
  return out;
}

/** The entries of `from` missing in `other`, by site as the report orders them (a.ts:8:69 before a.ts:17:51). */
function entriesNotIn(from: Map<string, string>, other: Map<string, string>): string[] {
  return [...from]
    .filter(([entry]) => !other.has(entry))
    .sort(([entryA, siteA], [entryB, siteB]) => compareSites(siteA, siteB) || (entryA < entryB ? -1 : entryA > entryB ? 1 : 0))
    .map(([entry]) => entry);
}

export function runGate(options: GateOptions): GateOutcome {
  const shown = (path: string) => relative(options.cwd, path) || path;
  const run = readWarningsFile(options.warningsFile, shown(options.warningsFile));
  const tallies = tallyBySite(run.records);
  const { baseline, exists } = options.baselineFile ? readBaseline(options.baselineFile, options.cwd) : { baseline: emptyBaseline(), exists: false };
  const runtime = compareWithBaseline(tallies, baseline);
  const statics = options.scan && options.baselineFile ? compareStatic(options.scan, baseline, options.baselineFile, options.cwd) : null;
  const tightenCommand = ['npx', 'orm-migrate', 'gate', ...options.commandArgs, '--update-baseline'].join(' ');
  const outcome: GateOutcome = {
    warningsFile: shown(options.warningsFile),
    baselineFile: options.baselineFile ? shown(options.baselineFile) : null,
    baselineExists: exists,
    ignoredRecords: run.ignored,
    runtime,
    static: statics,
    missingHalves: [],
    max: options.max,
    strict: options.strict,
    tightenCommand,
    failed: false,
    reasons: [],
    updated: null,
  };

  if (options.updateBaseline) {
    if (!options.baselineFile) throw new Error('--update-baseline needs a baseline file');
    const next: Baseline = {
      runtime: toSiteCounts(tallies),
      static: options.scan ? updatedStaticCounts(baseline.static, options.scan.findings, options.cwd, options.scan.files) : baseline.static,
    };
    const before = describeEntries(baseline);
    const after = describeEntries(next);
    writeBaseline(options.baselineFile, next);
    outcome.updated = { added: entriesNotIn(after, before), removed: entriesNotIn(before, after) };
    return outcome;
  }

  const total = runtime.total + (statics?.total ?? 0);
  if (options.max !== null && total > options.max) outcome.reasons.push(`${total} deprecated calls and findings, more than --max ${options.max}`);
  if (options.baselineFile) {
    if (!exists) {
      outcome.reasons.push(`no baseline at ${outcome.baselineFile}: record one with ${tightenCommand}`);
    } else {
      // A half the baseline never recorded cannot be compared: say so instead of calling everything new.
      if (baseline.runtime === null) outcome.missingHalves.push('runtime');
      if (statics && baseline.static === null) outcome.missingHalves.push('static');
      for (const half of outcome.missingHalves) {
        outcome.reasons.push(
          half === 'static'
            ? `the baseline ${outcome.baselineFile} has no static part (it was recorded without --scan): record it with ${tightenCommand}`
            : `the baseline ${outcome.baselineFile} has no run-time part (only scan wrote it): record it with ${tightenCommand}`,
        );
      }
      const grew =
        (baseline.runtime === null ? 0 : runtime.added.length + runtime.increased.length) + (statics && baseline.static !== null ? statics.added.length : 0);
      if (grew > 0) outcome.reasons.push(`${grew} site${grew === 1 ? '' : 's'} above the baseline: wrap the new calls in newConnection() (npx orm-migrate fix)`);
    }
    const dropped = runtime.decreased.length + runtime.stale.length + (statics?.dropped.length ?? 0);
    if (options.strict && dropped > 0) outcome.reasons.push(`--strict: the baseline must match exactly; record the new counts with ${tightenCommand}`);
  }
  outcome.failed = outcome.reasons.length > 0;
  return outcome;
}
