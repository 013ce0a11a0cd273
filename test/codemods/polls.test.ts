/** The polls fixture app scanned end to end: every `// expect:` marker, nothing else, in both modes. */
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scan } from '../../src/codemods/index.js';
import type { ScanResult } from '../../src/codemods/index.js';
import { describeFindings, expectedFindings } from '../support/expectations.js';

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));
const pollsRoot = join(repositoryRoot, 'fixtures', 'polls');

function sources(directory: string): string[] {
  return readdirSync(directory)
    .flatMap((name) => {
      const path = join(directory, name);
      return statSync(path).isDirectory() ? sources(path) : /\.ts$/.test(name) ? [path] : [];
    })
    .sort();
}

describe('the polls fixture app, scanned end to end', () => {
  const files = sources(pollsRoot);
  const results = new Map<boolean, ScanResult>();
  before(async () => {
    // As the README runs it: from the repository root, `scan fixtures/polls`.
    results.set(true, await scan({ cwd: repositoryRoot, paths: ['fixtures/polls'] }));
    results.set(false, await scan({ cwd: repositoryRoot, paths: ['fixtures/polls'], types: false }));
  });

  it('is a small app: models, handlers, helpers, a legacy wrapper, a script and its own tests', () => {
    const names = files.map((file) => relative(pollsRoot, file));
    for (const expected of ['models.ts', 'handlers/questions.ts', 'handlers/votes.ts', 'services/votes.ts', 'legacy.ts', 'scripts/report.ts', 'test/handlers.test.ts']) {
      assert.ok(names.includes(expected), `missing ${expected}`);
    }
    assert.ok(files.length >= 6 && files.length <= 12);
  });

  it('type-aware with its own tsconfig.json, the runtime resolved through the package', () => {
    const result = results.get(true);
    assert.equal(result?.mode, 'type-aware');
    assert.deepEqual(result?.notes, []);
  });

  for (const types of [true, false]) {
    for (const file of sources(pollsRoot)) {
      it(`${types ? 'type-aware' : 'syntactic'}: ${relative(pollsRoot, file)}`, () => {
        const result = results.get(types);
        assert.ok(result);
        assert.deepEqual(describeFindings(result.findings, file), expectedFindings(file, types ? 'type-aware' : 'syntactic'));
      });
    }
  }

  it('every rule fires somewhere in the app, and the handlers are the roots of their helpers', () => {
    const result = results.get(true);
    assert.ok(result);
    assert.deepEqual([...new Set(result.findings.map((finding) => finding.ruleId))].sort(), [
      'allow-async-unsafe',
      'async-outside-connection',
      'floating-async-call',
      'sync-in-async-context',
      'sync-to-async-wrapper',
    ]);
    const helper = result.findings.find((finding) => finding.file.endsWith(join('services', 'votes.ts')) && finding.line === 5);
    assert.deepEqual(helper?.roots?.map((root) => root.name), ['vote']);
  });
});
