/**
 * Table-driven rule tests: every fixture under fixtures/rules is scanned once per mode and must
 * report exactly what its `// expect:` markers say (a file without markers: nothing).
 */
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { RULES, RULE_IDS, scan } from '../../src/codemods/index.js';
import type { AnalysisMode, ScanResult } from '../../src/codemods/index.js';
import { describeFindings, expectedFindings, hasMarkers } from '../support/expectations.js';

const fixturesRoot = fileURLToPath(new URL('../../fixtures/rules/', import.meta.url));
const SOURCE = /\.(?:[cm]?[jt]sx?)$/;

function fixtureFiles(directory: string): string[] {
  return readdirSync(directory)
    .flatMap((name) => {
      const path = join(directory, name);
      return statSync(path).isDirectory() ? fixtureFiles(path) : SOURCE.test(name) && !name.endsWith('.d.ts') ? [path] : [];
    })
    .sort();
}

const ruleDirectories = [...RULE_IDS, 'parse-error'];
const files = ruleDirectories.flatMap((rule) => fixtureFiles(join(fixturesRoot, rule)));

for (const mode of ['type-aware', 'syntactic'] as const satisfies readonly AnalysisMode[]) {
  describe(`rule fixtures (${mode})`, () => {
    let result: ScanResult;
    before(async () => {
      result = await scan({ cwd: fixturesRoot, paths: ruleDirectories, types: mode === 'type-aware' });
    });

    it(`runs in ${mode} mode`, () => {
      assert.equal(result.mode, mode, result.notes.join('\n'));
    });

    for (const file of files) {
      it(relative(fixturesRoot, file), () => {
        assert.deepEqual(describeFindings(result.findings, file), expectedFindings(file, mode));
      });
    }
  });
}

describe('rule fixture coverage', () => {
  for (const rule of ruleDirectories) {
    it(`${rule} has fixtures that expect it and fixtures that report nothing for it`, () => {
      const ruleFiles = fixtureFiles(join(fixturesRoot, rule));
      const expecting = ruleFiles.filter((file) => expectedFindings(file, 'type-aware').some((entry) => entry.endsWith(` ${rule}`)));
      assert.ok(expecting.length > 0, `no fixture expects ${rule}`);
      const quiet = ruleFiles.filter((file) => !hasMarkers(file));
      const decoyOrNegative = ruleFiles.some((file) => {
        const lines = expectedFindings(file, 'type-aware').length;
        return lines === 0 || quiet.includes(file);
      });
      assert.ok(decoyOrNegative || rule === 'parse-error' || ruleFiles.length > 1, `no negative fixture for ${rule}`);
    });
  }

  it('covers decoys, JSX, decorators, CommonJS, overloads and generics', () => {
    const names = files.map((file) => relative(fixturesRoot, file));
    for (const wanted of ['decoys.ts', '.tsx', 'decorators.ts', '.cjs', 'overloads.ts', 'generics.ts']) {
      assert.ok(names.some((name) => name.endsWith(wanted)), `no fixture ending in ${wanted}`);
    }
  });
});

describe('rule modules', () => {
  for (const rule of RULES) {
    it(`${rule.meta.id}: meta is complete and every message id it can report exists`, () => {
      assert.match(rule.meta.description, /\S/);
      assert.ok(rule.meta.help.length > 80, 'help text explains what to do');
      assert.ok(['error', 'warning'].includes(rule.meta.defaultSeverity));
      assert.ok(rule.nodeKinds.length > 0);
      for (const kind of rule.nodeKinds) assert.equal(typeof ts.SyntaxKind[kind], 'string');
      for (const template of Object.values<string>(rule.meta.messages)) assert.match(template, /\S/);
    });
  }

  it('default severities: errors for what breaks at run time, warnings for deprecations', () => {
    const severities = Object.fromEntries(RULES.map((rule) => [rule.meta.id, rule.meta.defaultSeverity]));
    assert.deepEqual(severities, {
      'async-outside-connection': 'warning',
      'sync-in-async-context': 'error',
      'sync-to-async-wrapper': 'warning',
      'allow-async-unsafe': 'warning',
      'floating-async-call': 'error',
    });
    const fixable = RULES.filter((rule) => rule.meta.fixable).map((rule) => rule.meta.id);
    assert.deepEqual(fixable, ['async-outside-connection', 'sync-in-async-context', 'sync-to-async-wrapper']);
  });
});
