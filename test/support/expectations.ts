/**
 * Expected findings written in fixtures as trailing comments on the line they belong to:
 * `// expect: rule-a, rule-b` (both modes), `// expect[types]: …`, `// expect[no-types]: …`.
 */
import { readFileSync } from 'node:fs';
import type { AnalysisMode, Finding } from '../../src/codemods/index.js';

const MARKER = /\/\/\s*expect(?:\[(types|no-types)\])?:\s*([\w\s,-]+?)\s*$/;

/** The findings a fixture file expects in one mode, sorted like `describeFindings`. */
export function expectedFindings(file: string, mode: AnalysisMode): string[] {
  const expected: string[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((text, index) => {
      const match = MARKER.exec(text);
      if (!match) return;
      const only = match[1];
      if (only === 'types' && mode !== 'type-aware') return;
      if (only === 'no-types' && mode !== 'syntactic') return;
      for (const ruleId of (match[2] ?? '').split(',').map((part) => part.trim()).filter(Boolean)) expected.push(`${index + 1} ${ruleId}`);
    });
  return expected.sort(compareEntries);
}

function compareEntries(a: string, b: string): number {
  const split = (entry: string): [number, string] => [Number(entry.slice(0, entry.indexOf(' '))), entry.slice(entry.indexOf(' ') + 1)];
  const [lineA, ruleA] = split(a);
  const [lineB, ruleB] = split(b);
  return lineA - lineB || (ruleA < ruleB ? -1 : ruleA > ruleB ? 1 : 0);
}

/** `"<line> <rule>"` for each finding of one file, sorted. */
export function describeFindings(findings: readonly Finding[], file: string): string[] {
  return findings
    .filter((finding) => finding.file === file)
    .map((finding) => `${finding.line} ${finding.ruleId}`)
    .sort(compareEntries);
}

/** Does a fixture file carry any marker at all (for either mode)? */
export function hasMarkers(file: string): boolean {
  return readFileSync(file, 'utf8').split('\n').some((line) => MARKER.test(line));
}
