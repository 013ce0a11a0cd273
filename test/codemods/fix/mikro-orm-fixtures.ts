/**
 * The mikro-orm fix fixtures (fixtures/fix-mikro-orm/<case>/<name>.input.ts → .output.ts) laid
 * out as a throwaway project: inputs under their real names, `_support/`, a tsconfig with legacy
 * decorators, the mikro-orm preset, and node_modules linked to ours (the real @mikro-orm/core types).
 */
import { cpSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTempProject } from '../../support/temp-project.js';
import type { TempProject } from '../../support/temp-project.js';
import { INPUT, fixFixtures, manualExpectations } from './fixtures.js';
import type { FixFixture, ManualExpectation } from './fixtures.js';

export const MIKRO_ORM_FIXTURES = fileURLToPath(new URL('../../../fixtures/fix-mikro-orm/', import.meta.url));
const NODE_MODULES = fileURLToPath(new URL('../../../node_modules', import.meta.url));

export type MikroOrmFixture = FixFixture;

export const mikroOrmFixtures = (): FixFixture[] => fixFixtures(MIKRO_ORM_FIXTURES);
export const mikroOrmManualExpectations = (): ManualExpectation[] => manualExpectations(MIKRO_ORM_FIXTURES);

export const MIKRO_ORM_TSCONFIG = `${JSON.stringify(
  {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib: ['ES2023'],
      types: ['node'],
      strict: true,
      noEmit: true,
      experimentalDecorators: true,
      skipLibCheck: true,
    },
    include: ['**/*.ts'],
  },
  null,
  2,
)}\n`;

/** The fixtures as a project (type-aware: tsconfig, real @mikro-orm/core types through a node_modules link). */
export function createMikroOrmProject(fixtures: readonly MikroOrmFixture[], config: Record<string, unknown> = { preset: 'mikro-orm' }): TempProject {
  const project = createTempProject({
    'tsconfig.json': MIKRO_ORM_TSCONFIG,
    'package.json': `${JSON.stringify({ name: 'mikro-orm-fix-fixtures', private: true, type: 'module' }, null, 2)}\n`,
    'orm-migrate.config.json': `${JSON.stringify(config, null, 2)}\n`,
  });
  cpSync(join(MIKRO_ORM_FIXTURES, '_support'), project.path('_support'), { recursive: true });
  symlinkSync(NODE_MODULES, project.path('node_modules'), 'dir');
  for (const fixture of fixtures) project.write(fixture.path, fixture.input);
  // A case's other files (its own tsconfig.json) come as they are.
  for (const caseName of new Set(fixtures.map((fixture) => fixture.caseName))) {
    for (const name of readdirSync(join(MIKRO_ORM_FIXTURES, caseName))) {
      if (INPUT.test(name) || /\.output\.[cm]?[jt]sx?$/.test(name) || name === 'manual.json') continue;
      cpSync(join(MIKRO_ORM_FIXTURES, caseName, name), project.path(`${caseName}/${name}`));
    }
  }
  return project;
}
