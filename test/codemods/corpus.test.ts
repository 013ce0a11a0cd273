/** The benchmark's synthetic corpus, small: a correct scan finds exactly the findings it was built with. */
import assert from 'node:assert/strict';
import { writeScanCorpus } from '../../bench/scan-corpus.js';
import { scan } from '../../src/codemods/index.js';
import { createTempProject } from '../support/temp-project.js';

describe('the benchmark corpus', () => {
  const project = createTempProject();
  const stats = writeScanCorpus(project.dir, { modules: 12 });
  after(() => project.remove());

  for (const types of [true, false]) {
    it(`${types ? 'type-aware' : '--no-types'}: every ORM call found, no decoy reported`, async () => {
      const result = await scan({ cwd: project.dir, types, typeAwareChunkBytes: 12_000 });
      assert.equal(result.mode, types ? 'type-aware' : 'syntactic');
      const counts: Record<string, number> = {};
      for (const finding of result.findings) counts[finding.ruleId] = (counts[finding.ruleId] ?? 0) + 1;
      assert.deepEqual(counts, stats.expectedFindings);
    });
  }

  it('has about 84 lines per module, as the full-size benchmark assumes', () => {
    assert.ok(stats.lines / 12 > 70 && stats.lines / 12 < 110, `${stats.lines} lines`);
  });
});
