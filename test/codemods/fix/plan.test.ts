/** planFix as a library: the configured connection function, rule selection, nothing written. */
import assert from 'node:assert/strict';
import { planFix } from '../../../src/codemods/index.js';
import { createTypedProject } from '../../support/temp-project.js';

const HANDLER = `import { Question } from '../models.js';

export async function show(id: number) {
  return Question.objects.aget({ pk: id });
}
`;

describe('planFix', () => {
  it('wraps with the configured connection function, imported from its module by a relative path', async () => {
    const project = createTypedProject({
      'orm-migrate.config.json': JSON.stringify({ connection: { module: './lib/db.ts', name: 'withDb' } }),
      'lib/db.ts': "export { newConnection as withDb } from 'orm-migrate/runtime';\n",
      'src/handler.ts': HANDLER,
    });
    try {
      const plan = await planFix({ cwd: project.dir });
      assert.deepEqual(plan.errors, []);
      assert.equal(plan.files.length, 1);
      assert.equal(
        plan.files[0]?.fixed,
        `import { Question } from '../models.js';\nimport { withDb } from '../lib/db.js';\n\nexport async function show(id: number) {\n  return withDb(async () => {\n    return Question.objects.aget({ pk: id });\n  });\n}\n`,
      );
      assert.equal(project.read('src/handler.ts'), HANDLER, 'planning writes nothing');
    } finally {
      project.remove();
    }
  });

  it('applies only the selected rules, and none the config turns off', async () => {
    const inBlock = `import { newConnection } from 'orm-migrate/runtime';\nimport { Question } from '../models.js';\n\nexport async function count() {\n  return newConnection(async () => Question.objects.count());\n}\n`;
    const project = createTypedProject({ 'src/handler.ts': HANDLER, 'src/count.ts': inBlock, 'orm-migrate.config.json': '{ "rules": { "async-outside-connection": "off" } }\n' });
    try {
      const byConfig = await planFix({ cwd: project.dir });
      assert.deepEqual(byConfig.files.map((file) => file.rewrites), [{ 'sync-in-async-context': 1 }]);
      const selected = await planFix({ cwd: project.dir, rules: ['async-outside-connection'] });
      assert.deepEqual(selected.files.map((file) => file.rewrites), [{ 'async-outside-connection': 1 }]);
    } finally {
      project.remove();
    }
  });
});
