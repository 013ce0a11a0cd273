/** Throwaway projects for scan tests: a temp directory with files, removed afterwards. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface TempProject {
  dir: string;
  path(relative: string): string;
  write(relative: string, text: string): string;
  read(relative: string): string;
  remove(): void;
}

export function createTempProject(files: Record<string, string> = {}): TempProject {
  const dir = mkdtempSync(join(tmpdir(), 'orm-migrate-scan-'));
  const project: TempProject = {
    dir,
    path: (relative) => join(dir, relative),
    write: (relative, text) => {
      const file = join(dir, relative);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, text);
      return file;
    },
    read: (relative) => readFileSync(join(dir, relative), 'utf8'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
  for (const [relative, text] of Object.entries(files)) project.write(relative, text);
  return project;
}

/** The stand-in runtime declaration the rule fixtures use, and a tsconfig mapping the ORM specifier to it. */
export const RUNTIME_STUB = readFileSync(new URL('../../fixtures/rules/_support/orm-runtime.d.ts', import.meta.url), 'utf8');

export const STUB_TSCONFIG = `${JSON.stringify(
  {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib: ['ES2023'],
      types: [],
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      paths: { 'orm-migrate/runtime': ['./orm-runtime.d.ts'] },
    },
  },
  null,
  2,
)}\n`;

export const MODELS_SOURCE = `import { defineModel, fields } from 'orm-migrate/runtime';

export const Question = defineModel('Question', {
  table: 'polls_question',
  fields: { id: fields.autoId(), questionText: fields.string({ maxLength: 200 }), pubDate: fields.datetime() },
});
`;

/** A small typed project: package.json (ESM), tsconfig with the runtime stub, models. */
export function createTypedProject(files: Record<string, string> = {}): TempProject {
  return createTempProject({
    'package.json': '{ "name": "scan-test", "private": true, "type": "module" }\n',
    'tsconfig.json': STUB_TSCONFIG,
    'orm-runtime.d.ts': RUNTIME_STUB,
    'models.ts': MODELS_SOURCE,
    ...files,
  });
}
