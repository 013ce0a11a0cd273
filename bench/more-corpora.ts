/**
 * Two more shapes for `npm run bench:scan` (issue 11):
 * - the density corpus: every function makes two awaited ORM calls beside same-named decoys;
 * - a monorepo that never imports the ORM: packages with their own tsconfig.json, full of classes
 *   with `get`/`count`/`save`/`filter` methods of their own, importing each other.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CorpusStats } from './scan-corpus.js';
import { writeCorpusBase } from './scan-corpus.js';

function lineCount(text: string): number {
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

const FUNCTIONS_PER_DENSE_MODULE = 13;

function denseModule(index: number): string {
  const parts = [`import { Choice, Question } from './models.js';`, `import { cache, registry } from './decoys.js';`, ''];
  for (let fn = 0; fn < FUNCTIONS_PER_DENSE_MODULE; fn += 1) {
    parts.push(
      `export async function handle${index}_${fn}(id: number): Promise<number> {`,
      `  const question = await Question.objects.aget({ pk: id });`,
      `  const hit = await cache.aget(String(id));`,
      `  const total = await Choice.objects.filter({ questionId: question.id }).acount();`,
      `  const known = await registry.aexists(String(total));`,
      `  return total + (hit ? 1 : 0) + (known ? 1 : 0);`,
      `}`,
      '',
    );
  }
  return parts.join('\n');
}

/** `modules` dense modules; 2 async-outside-connection findings per function. */
export function writeDensityCorpus(root: string, modules: number): CorpusStats {
  let lines = writeCorpusBase(root);
  for (let index = 0; index < modules; index += 1) {
    const text = denseModule(index);
    writeFileSync(join(root, 'src', `dense${index}.ts`), text);
    lines += lineCount(text);
  }
  return { files: modules + 5, lines, expectedFindings: { 'async-outside-connection': 2 * FUNCTIONS_PER_DENSE_MODULE * modules } };
}

function storeFile(pkg: number, file: number, files: number, packages: number): string {
  const parts: string[] = [];
  if (file > 0) parts.push(`import { Store${pkg}_${file - 1} } from './store${file - 1}.js';`);
  if (pkg > 0) parts.push(`import { Store${pkg - 1}_${file % files} } from '../../p${pkg - 1}/src/store${file % files}.js';`);
  parts.push('');
  for (let cls = 0; cls < 6; cls += 1) {
    const name = cls === 0 ? `Store${pkg}_${file}` : `Store${pkg}_${file}_${cls}`;
    parts.push(
      `export class ${name}<T extends { id: number }> {`,
      `  private readonly rows = new Map<number, T>();`,
      `  get(id: number): T | undefined {`,
      `    return this.rows.get(id);`,
      `  }`,
      `  count(): number {`,
      `    return this.rows.size;`,
      `  }`,
      `  save(row: T): void {`,
      `    this.rows.set(row.id, row);`,
      `  }`,
      `  filter(test: (row: T) => boolean): T[] {`,
      `    return [...this.rows.values()].filter(test);`,
      `  }`,
      `  async aget(id: number): Promise<T | undefined> {`,
      `    return this.get(id);`,
      `  }`,
      `  async exists(id: number): Promise<boolean> {`,
      `    const found = await this.aget(id);`,
      `    return found !== undefined && this.count() > 0;`,
      `  }`,
      `}`,
      '',
    );
  }
  const previous = file > 0 ? `Store${pkg}_${file - 1}` : pkg > 0 ? `Store${pkg - 1}_${file % files}` : undefined;
  parts.push(
    `export async function use${pkg}_${file}(id: number): Promise<number> {`,
    `  const store = new Store${pkg}_${file}<{ id: number }>();`,
    `  store.save({ id });`,
    previous ? `  const other = new ${previous}<{ id: number }>();` : `  const other = store;`,
    `  other.save({ id: id + 1 });`,
    `  return store.count() + other.count() + ((await store.exists(id)) ? 1 : 0) + store.filter((row) => row.id > ${packages}).length;`,
    `}`,
    '',
  );
  return parts.join('\n');
}

/** `packages` packages of `files` files each, every package with its own tsconfig.json; no ORM anywhere. */
export function writeNoOrmMonorepo(root: string, packages: number, files: number): CorpusStats {
  let lines = 0;
  const write = (path: string, text: string): void => {
    writeFileSync(path, text);
    lines += lineCount(text);
  };
  write(join(root, 'package.json'), `${JSON.stringify({ name: 'no-orm-monorepo', private: true, type: 'module' }, null, 2)}\n`);
  const tsconfig = { compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2023'], types: [], strict: true, noEmit: true, skipLibCheck: true }, include: ['src/**/*.ts'] };
  for (let pkg = 0; pkg < packages; pkg += 1) {
    const dir = join(root, 'packages', `p${pkg}`);
    mkdirSync(join(dir, 'src'), { recursive: true });
    write(join(dir, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, 2)}\n`);
    for (let file = 0; file < files; file += 1) write(join(dir, 'src', `store${file}.ts`), storeFile(pkg, file, files, packages));
  }
  return { files: packages * files, lines, expectedFindings: {} };
}
