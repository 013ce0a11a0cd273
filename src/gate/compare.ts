/** Groups recorded warnings by call site and code, and compares them with the baseline. */
import { compareSites } from './baseline.js';
import type { Baseline, BaselineEntry, SiteCounts } from './baseline.js';
import type { RecordedWarning } from './records.js';

export interface SiteTally {
  site: string;
  code: string;
  call: string;
  count: number;
  /** Test title → how many warnings it caused at this site (with the mocha plugin). */
  tests: Map<string, number>;
}

export function tallyBySite(records: readonly RecordedWarning[]): SiteTally[] {
  const tallies = new Map<string, SiteTally>();
  for (const record of records) {
    const key = `${record.site}\u0000${record.code}`;
    let tally = tallies.get(key);
    if (!tally) {
      tally = { site: record.site, code: record.code, call: record.model ? `${record.model}.${record.method}` : record.method, count: 0, tests: new Map() };
      tallies.set(key, tally);
    }
    tally.count++;
    if (record.test !== undefined) tally.tests.set(record.test, (tally.tests.get(record.test) ?? 0) + 1);
  }
  return [...tallies.values()].sort((a, b) => compareSites(a.site, b.site) || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
}

export interface SiteChange {
  site: string;
  code: string;
  call: string;
  baseline: number;
  current: number;
  /** Where the baseline had it when its line moved. */
  movedFrom?: string;
  tests: Map<string, number>;
}

export interface RuntimeComparison {
  /** Sites (or codes) the baseline does not have. */
  added: SiteChange[];
  /** Known sites whose count grew. */
  increased: SiteChange[];
  /** Known sites whose count dropped but are still hit. */
  decreased: SiteChange[];
  /** Baseline sites no test hit any more. */
  stale: SiteChange[];
  unchanged: SiteChange[];
  total: number;
}

function fileOf(site: string): string {
  return site.replace(/:\d+:\d+$/, '');
}

export function toSiteCounts(tallies: readonly SiteTally[]): SiteCounts {
  const counts: SiteCounts = new Map();
  for (const tally of tallies) {
    const perCode = counts.get(tally.site) ?? new Map<string, BaselineEntry>();
    perCode.set(tally.code, { call: tally.call, count: tally.count });
    counts.set(tally.site, perCode);
  }
  return counts;
}

export function compareWithBaseline(tallies: readonly SiteTally[], baseline: Baseline): RuntimeComparison {
  const result: RuntimeComparison = { added: [], increased: [], decreased: [], stale: [], unchanged: [], total: 0 };
  const remaining = new Map<string, { site: string; code: string; entry: BaselineEntry }>();
  for (const [site, codes] of baseline.runtime ?? []) {
    for (const [code, entry] of codes) if (entry.count > 0) remaining.set(`${site}\u0000${code}`, { site, code, entry });
  }
  const unmatched: SiteTally[] = [];
  const classify = (tally: SiteTally, baselineCount: number, movedFrom?: string) => {
    const change: SiteChange = { site: tally.site, code: tally.code, call: tally.call, baseline: baselineCount, current: tally.count, tests: tally.tests, ...(movedFrom ? { movedFrom } : {}) };
    if (tally.count > baselineCount) result.increased.push(change);
    else if (tally.count < baselineCount) result.decreased.push(change);
    else result.unchanged.push(change);
  };
  for (const tally of tallies) {
    result.total += tally.count;
    const key = `${tally.site}\u0000${tally.code}`;
    const known = remaining.get(key);
    if (known) {
      remaining.delete(key);
      classify(tally, known.entry.count);
    } else {
      unmatched.push(tally);
    }
  }
  // A site whose line moved (code edited above it) is the same call: same file, code and call.
  for (const tally of unmatched) {
    const moved = [...remaining.values()].find((r) => fileOf(r.site) === fileOf(tally.site) && r.code === tally.code && r.entry.call === tally.call);
    if (moved) {
      remaining.delete(`${moved.site}\u0000${moved.code}`);
      classify(tally, moved.entry.count, moved.site);
    } else {
      result.added.push({ site: tally.site, code: tally.code, call: tally.call, baseline: 0, current: tally.count, tests: tally.tests });
    }
  }
  for (const { site, code, entry } of remaining.values()) {
    result.stale.push({ site, code, call: entry.call, baseline: entry.count, current: 0, tests: new Map() });
  }
  const bySite = (a: SiteChange, b: SiteChange) => compareSites(a.site, b.site) || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0);
  for (const list of [result.added, result.increased, result.decreased, result.stale, result.unchanged]) list.sort(bySite);
  return result;
}
