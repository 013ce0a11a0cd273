/**
 * Issue 11 on a monorepo shaped like the large repositories scanned by hand (jest: 55 tsconfigs,
 * 42 of them said "orm-migrate/runtime does not resolve" although no file imports it): the
 * fallback note is for a tsconfig whose files lead to the ORM, not for every tsconfig.
 */
import assert from 'node:assert/strict';
import { createTempProject } from '../support/temp-project.js';
import type { TempProject } from '../support/temp-project.js';
import { runCli } from '../support/cli.js';

const TSCONFIG = '{ "compilerOptions": { "module": "NodeNext", "strict": true, "noEmit": true, "types": [] } }\n';

describe('scan notes on a monorepo where the ORM does not resolve (child process)', function () {
  this.timeout(60_000);
  let project: TempProject | undefined;
  afterEach(() => {
    project?.remove();
    project = undefined;
  });

  it('notes "does not resolve" for the package whose files import the ORM, and nothing for the packages that never do', () => {
    project = createTempProject({
      'package.json': '{ "name": "mono", "private": true, "type": "module" }\n',
      'packages/app/tsconfig.json': TSCONFIG,
      'packages/app/models.ts': "import { defineModel } from 'orm-migrate/runtime';\nexport const Question = defineModel('Question', { fields: {} });\n",
      'packages/app/views.ts': "import { Question } from './models.js';\nexport async function detail() {\n  return Question.objects.aget({ pk: 1 });\n}\n",
      'packages/utils/tsconfig.json': TSCONFIG,
      'packages/utils/cache.ts': 'export const cache = new Map<string, number>();\nexport async function aget(key: string) {\n  return cache.get(key);\n}\n',
      'packages/docs/tsconfig.json': TSCONFIG,
      'packages/docs/index.ts': "export const title = 'docs';\n",
    });
    const run = runCli(project.dir, ['scan', '--format', 'json']);
    assert.equal(run.status, 0, `exit ${run.status}\n${run.stdout}\n${run.stderr}`);
    const report = JSON.parse(run.stdout) as { notes: string[]; findings: { file: string; line: number; ruleId: string }[] };
    assert.deepEqual(report.notes, ['packages/app/tsconfig.json: orm-migrate/runtime does not resolve, so types cannot tell the ORM apart; receivers are matched by following imports syntactically']);
    assert.deepEqual(report.findings.map((finding) => `${finding.file}:${finding.line} ${finding.ruleId}`), ['packages/app/views.ts:3 async-outside-connection']);
  });
});
