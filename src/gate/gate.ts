/** The gate: recorded warnings (and, with --scan, static findings) against the baseline or a max. */
import { relative } from 'node:path';
import { emptyBaseline, readBaseline, writeBaseline } from './baseline.js';
import type { Baseline } from './baseline.js';
import { compareWithBaseline, tallyBySite, toSiteCounts } from './compare.js';
import { readWarningsFile } from './records.js';
import type { GateOutcome, StaticComparison } from './report.js';

export const DEFAULT_WARNINGS_FILE = '.orm-migrate/warnings.jsonl';
export const DEFAULT_BASELINE_FILE = '.orm-migrate/baseline.json';

/** Static findings to count per file and rule (gate --scan). */
export type StaticCounts = Map<string, Map<string, number>>;

export interface GateOptions {
  warningsFile: string;
  /** null: --max alone, no baseline. */
  baselineFile: string | null;
  max: number | null;
  strict: boolean;
  updateBaseline: boolean;
  staticCounts: StaticCounts | null;
  /** The arguments that reproduce this run, for the tighten command. */
  commandArgs: string[];
}

function compareStatic(current: StaticCounts, baseline: Baseline): StaticComparison {
  const result: StaticComparison = { added: [], dropped: [], total: 0 };
  const files = new Set([...current.keys(), ...baseline.static.keys()]);
  for (const file of [...files].sort()) {
    const now = current.get(file) ?? new Map<string, number>();
    const before = baseline.static.get(file) ?? new Map<string, number>();
    for (const rule of [...new Set([...now.keys(), ...before.keys()])].sort()) {
      const entry = { file, rule, baseline: before.get(rule) ?? 0, current: now.get(rule) ?? 0 };
      result.total += entry.current;
      if (entry.current > entry.baseline) result.added.push(entry);
      else if (entry.current < entry.baseline) result.dropped.push(entry);
    }
  }
  return result;
}

function describeEntries(baseline: Baseline): Set<string> {
  const out = new Set<string>();
  for (const [site, codes] of baseline.runtime) for (const [code, { call, count }] of codes) if (count > 0) out.add(`${site} ${call}() ${code} ×${count}`);
  for (const [file, rules] of baseline.static) for (const [rule, count] of rules) if (count > 0) out.add(`${file} ${rule} ×${count} (static)`);
  return out;
}

export function runGate(options: GateOptions): GateOutcome {
  const tallies = tallyBySite(readWarningsFile(options.warningsFile));
  const { baseline, exists } = options.baselineFile ? readBaseline(options.baselineFile) : { baseline: emptyBaseline(), exists: false };
  const runtime = compareWithBaseline(tallies, baseline);
  const statics = options.staticCounts ? compareStatic(options.staticCounts, baseline) : null;
  const tightenCommand = ['npx', 'orm-migrate', 'gate', ...options.commandArgs, '--update-baseline'].join(' ');
  const outcome: GateOutcome = {
    warningsFile: relative(process.cwd(), options.warningsFile) || options.warningsFile,
    baselineFile: options.baselineFile ? relative(process.cwd(), options.baselineFile) || options.baselineFile : null,
    baselineExists: exists,
    runtime,
    static: statics,
    max: options.max,
    strict: options.strict,
    tightenCommand,
    failed: false,
    reasons: [],
    updated: null,
  };

  if (options.updateBaseline) {
    if (!options.baselineFile) throw new Error('--update-baseline needs a baseline file');
    const next: Baseline = { runtime: toSiteCounts(tallies), static: options.staticCounts ?? baseline.static };
    const before = describeEntries(baseline);
    const after = describeEntries(next);
    writeBaseline(options.baselineFile, next);
    outcome.updated = { added: [...after].filter((e) => !before.has(e)).sort(), removed: [...before].filter((e) => !after.has(e)).sort() };
    return outcome;
  }

  const total = runtime.total + (statics?.total ?? 0);
  if (options.max !== null && total > options.max) outcome.reasons.push(`${total} deprecated calls and findings, more than --max ${options.max}`);
  if (options.baselineFile) {
    const grew = runtime.added.length + runtime.increased.length + (statics?.added.length ?? 0);
    if (grew > 0) {
      outcome.reasons.push(
        exists
          ? `${grew} site${grew === 1 ? '' : 's'} above the baseline: wrap the new calls in newConnection() (npx orm-migrate fix)`
          : `no baseline at ${outcome.baselineFile}: record one with ${tightenCommand}`,
      );
    }
    const dropped = runtime.decreased.length + runtime.stale.length + (statics?.dropped.length ?? 0);
    if (options.strict && dropped > 0) outcome.reasons.push(`--strict: the baseline must match exactly; record the new counts with ${tightenCommand}`);
  }
  outcome.failed = outcome.reasons.length > 0;
  return outcome;
}
