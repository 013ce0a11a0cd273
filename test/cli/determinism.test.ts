/**
 * Issue 11 item 1: findings do not depend on how files are split into programs. The same project
 * is scanned whole, file by file, and with type-aware programs of several sizes (the internal
 * ORM_MIGRATE_CHUNK_BYTES); the findings must be the same sorted JSON every time.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createTempProject } from '../support/temp-project.js';
import type { TempProject } from '../support/temp-project.js';

const bin = fileURLToPath(new URL('../../bin/orm-migrate.js', import.meta.url));

interface Finding {
  file: string;
  line: number;
  column: number;
  ruleId: string;
  message: string;
}

function findingsOf(project: TempProject, paths: string[], env: NodeJS.ProcessEnv = {}): Finding[] {
  const child = spawnSync(process.execPath, [bin, 'scan', ...paths, '--format', 'json'], { cwd: project.dir, encoding: 'utf8', env: { ...process.env, ...env } });
  assert.ok(child.status === 0 || child.status === 1, `scan ${paths.join(' ')} exited ${child.status}: ${child.stderr}`);
  return (JSON.parse(child.stdout) as { findings: Finding[] }).findings.map(({ file, line, column, ruleId, message }) => ({ file, line, column, ruleId, message }));
}

function sorted(findings: Finding[]): string {
  return JSON.stringify([...findings].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))), null, 1);
}

/** A local ORM module: its entry re-exports a QuerySet declared in a second file, which some files import directly. */
const ORM_FILES: Record<string, string> = {
  'orm/index.ts': "export * from './queryset.js';\nexport * from './connection.js';\n",
  'orm/queryset.ts': [
    'export class QuerySet {',
    '  async acount(): Promise<number> { return 0; }',
    '  count(): number { return 0; }',
    '}',
    '',
  ].join('\n'),
  'orm/connection.ts': 'export async function newConnection<T>(work: () => Promise<T>): Promise<T> {\n  return work();\n}\n',
};

describe('findings do not depend on how files are split (child process)', () => {
  let project: TempProject;
  afterEach(() => project.remove());

  it('whole, file by file and in programs of different sizes: the same findings', () => {
    project = createTempProject({
      ...ORM_FILES,
      'package.json': '{ "name": "split", "private": true, "type": "module" }\n',
      'tsconfig.json': '{ "compilerOptions": { "module": "NodeNext", "moduleResolution": "NodeNext", "target": "ES2022", "strict": true, "noEmit": true, "types": [] } }\n',
      'orm-migrate.config.json': '{ "ormModules": ["./orm/index.ts"], "connection": { "module": "./orm/index.ts", "name": "newConnection" }, "exclude": ["orm/**"] }\n',
      // Imports the QuerySet from inside the ORM module, never its entry.
      'a.ts': "import { QuerySet } from './orm/queryset.js';\n\nexport async function a(qs: QuerySet): Promise<number> {\n  return qs.acount();\n}\n",
      'b.ts': "import { QuerySet, newConnection } from './orm/index.js';\n\nexport async function b(qs: QuerySet): Promise<number> {\n  return qs.acount();\n}\n\nexport async function inside(qs: QuerySet): Promise<number> {\n  return newConnection(async () => qs.count());\n}\n",
      // A decoy with the ORM's method names, in a file that never imports the ORM.
      'c.ts': 'class Counter {\n  async acount(): Promise<number> { return 1; }\n}\n\nexport async function c(counter: Counter): Promise<number> {\n  return counter.acount();\n}\n',
    });
    const whole = findingsOf(project, ['.']);
    assert.deepEqual(
      whole.map((finding) => `${finding.file}:${finding.line} ${finding.ruleId}`),
      ['a.ts:4 async-outside-connection', 'b.ts:4 async-outside-connection', 'b.ts:8 sync-in-async-context'],
    );
    const fileByFile = ['a.ts', 'b.ts', 'c.ts'].flatMap((file) => findingsOf(project, [file]));
    assert.equal(sorted(fileByFile), sorted(whole), 'file by file');
    for (const bytes of ['1', '150', '400', '100000000']) {
      assert.equal(sorted(findingsOf(project, ['.'], { ORM_MIGRATE_CHUNK_BYTES: bytes })), sorted(whole), `programs of at most ${bytes} bytes`);
    }
  });
});
