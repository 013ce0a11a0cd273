/**
 * The fix fixtures (fixtures/fix/<case>/<name>.input.<ext> → <name>.output.<ext>) laid out as a
 * throwaway typed project: the inputs under their real names, `_support/`, the runtime stub.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RUNTIME_STUB, createTempProject } from '../../support/temp-project.js';
import type { TempProject } from '../../support/temp-project.js';

export const FIX_FIXTURES = fileURLToPath(new URL('../../../fixtures/fix/', import.meta.url));

export const INPUT = /^(.*)\.input(\.[cm]?[jt]sx?)$/;

export interface FixFixture {
  /** The case directory, e.g. `class-methods`. */
  caseName: string;
  /** Path in the temp project, e.g. `class-methods/controller.ts`. */
  path: string;
  input: string;
  /** What fix must write; undefined: the input must stay as it is. */
  expected: string | undefined;
  /** The expected output's path in the repository (written by UPDATE_FIX_FIXTURES=1). */
  outputFile: string;
}

export interface ManualExpectation {
  path: string;
  line: number;
  reason: string;
}

/** The input/output pairs of a fixture tree (`fixtures/fix/` by default; the mikro-orm fix has its own). */
export function fixFixtures(root: string = FIX_FIXTURES): FixFixture[] {
  const fixtures: FixFixture[] = [];
  for (const caseName of readdirSync(root).sort()) {
    const directory = join(root, caseName);
    if (caseName.startsWith('_') || !statSync(directory).isDirectory()) continue;
    for (const name of readdirSync(directory).sort()) {
      const match = INPUT.exec(name);
      if (!match) continue;
      const [, stem = '', extension = ''] = match;
      const outputFile = join(directory, `${stem}.output${extension}`);
      fixtures.push({
        caseName,
        path: `${caseName}/${stem}${extension}`,
        input: readFileSync(join(directory, name), 'utf8'),
        expected: existsSync(outputFile) ? readFileSync(outputFile, 'utf8') : undefined,
        outputFile,
      });
    }
  }
  return fixtures;
}

/** The manual items each case's `manual.json` lists. */
export function manualExpectations(root: string = FIX_FIXTURES): ManualExpectation[] {
  const expectations: ManualExpectation[] = [];
  for (const caseName of readdirSync(root).sort()) {
    const file = join(root, caseName, 'manual.json');
    if (!existsSync(file)) continue;
    for (const entry of JSON.parse(readFileSync(file, 'utf8')) as { file: string; line: number; reason: string }[]) {
      expectations.push({ path: `${caseName}/${entry.file}`, line: entry.line, reason: entry.reason });
    }
  }
  return expectations;
}

export const FIX_TSCONFIG = `${JSON.stringify(
  {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib: ['ES2023'],
      types: [],
      strict: true,
      noEmit: true,
      allowJs: true,
      checkJs: false,
      jsx: 'preserve',
      skipLibCheck: true,
      paths: { 'orm-migrate/runtime': ['./orm-runtime.d.ts'] },
    },
    include: ['**/*.ts', '**/*.tsx', '**/*.cjs'],
  },
  null,
  2,
)}\n`;

/** A temp project holding every fixture's input (or a chosen subset). */
export function createFixtureProject(fixtures: readonly FixFixture[] = fixFixtures()): TempProject {
  const project = createTempProject({
    'package.json': '{ "name": "fix-fixtures", "private": true, "type": "module" }\n',
    'tsconfig.json': FIX_TSCONFIG,
    'orm-runtime.d.ts': RUNTIME_STUB,
    '_support/models.ts': readFileSync(join(FIX_FIXTURES, '_support/models.ts'), 'utf8'),
    '_support/globals.d.ts': readFileSync(join(FIX_FIXTURES, '_support/globals.d.ts'), 'utf8'),
  });
  for (const fixture of fixtures) project.write(fixture.path, fixture.input);
  return project;
}
