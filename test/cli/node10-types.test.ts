/**
 * Issue 11 item 6: a project on `moduleResolution: "node"` (node10 ignores `exports`) finds the
 * types of `orm-migrate/runtime` through `typesVersions`, so scan stays type-aware there.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTempProject } from '../support/temp-project.js';

const bin = fileURLToPath(new URL('../../bin/orm-migrate.js', import.meta.url));
const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));

describe('orm-migrate/runtime types under moduleResolution "node" (child process)', () => {
  it('a node10-resolution project that imports orm-migrate/runtime is scanned with types', () => {
    const project = createTempProject({
      'package.json': '{ "name": "node10-app", "private": true }\n',
      'tsconfig.json': '{ "compilerOptions": { "module": "commonjs", "moduleResolution": "node", "target": "ES2022", "strict": true, "noEmit": true, "types": [], "skipLibCheck": true } }\n',
      'app.ts': [
        "import type { QuerySet } from 'orm-migrate/runtime';",
        '',
        'export async function total(qs: QuerySet<any>): Promise<number> {',
        '  return qs.acount();',
        '}',
        '',
      ].join('\n'),
    });
    try {
      // The installed package, as npm links it: node_modules/orm-migrate is this repository.
      mkdirSync(project.path('node_modules'));
      symlinkSync(repositoryRoot, join(project.dir, 'node_modules', 'orm-migrate'), 'dir');
      const child = spawnSync(process.execPath, [bin, 'scan', '.', '--format', 'json'], { cwd: project.dir, encoding: 'utf8' });
      assert.equal(child.status, 0, child.stderr);
      const report = JSON.parse(child.stdout) as { mode: string; notes: string[]; findings: { file: string; line: number; ruleId: string }[] };
      assert.equal(report.mode, 'type-aware');
      assert.deepEqual(report.notes, [], 'no "does not resolve" fallback note');
      assert.deepEqual(
        report.findings.map((finding) => `${finding.file}:${finding.line} ${finding.ruleId}`),
        ['app.ts:4 async-outside-connection'],
      );
    } finally {
      project.remove();
    }
  });
});
