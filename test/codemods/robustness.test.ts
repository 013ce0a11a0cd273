/** One bad file never ends the scan: syntax errors and pathologically deep trees are reported per file. */
import assert from 'node:assert/strict';
import { scan } from '../../src/codemods/index.js';
import { MODELS_SOURCE, createTempProject } from '../support/temp-project.js';

describe('scan robustness', () => {
  it('a tree too deep to walk is reported as that file’s error and the other files are still scanned', async () => {
    const project = createTempProject({
      'models.ts': MODELS_SOURCE,
      'deep.ts': `import { Question } from './models.js';\nexport const total = ${Array.from({ length: 60_000 }, () => '1').join(' + ')};\nQuestion.objects.aget({ pk: 1 });\n`,
      'fine.ts': "import { Question } from './models.js';\nexport async function f() {\n  return Question.objects.aget({ pk: 1 });\n}\n",
    });
    try {
      const result = await scan({ cwd: project.dir, types: false });
      assert.deepEqual(
        result.findings.map((finding) => [finding.file.slice(project.dir.length + 1), finding.ruleId]),
        [
          ['deep.ts', 'parse-error'],
          ['fine.ts', 'async-outside-connection'],
        ],
      );
      assert.match(result.findings[0]?.message ?? '', /could not be analysed \(Maximum call stack size exceeded\)/);
    } finally {
      project.remove();
    }
  });
});
