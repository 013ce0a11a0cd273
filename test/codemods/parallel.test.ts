/** Worker threads (syntactic mode on large scans) must find exactly what the main thread finds. */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { scan } from '../../src/codemods/index.js';
import type { Finding } from '../../src/codemods/index.js';

const fixturesRoot = fileURLToPath(new URL('../../fixtures/rules/', import.meta.url));

function comparable(findings: readonly Finding[]) {
  return findings.map(({ file, line, column, ruleId, message, roots }) => ({ file, line, column, ruleId, message, roots: roots?.map((root) => root.id) }));
}

describe('parallel syntactic analysis', () => {
  it('two worker threads and one thread report the same findings', async () => {
    const single = await scan({ cwd: fixturesRoot, types: false, workers: 1 });
    const parallel = await scan({ cwd: fixturesRoot, types: false, workers: 2 });
    assert.ok(single.findings.length > 20);
    assert.deepEqual(comparable(parallel.findings), comparable(single.findings));
  });
});
