/**
 * A fresh user project in a temp directory with orm-migrate "installed": node_modules holds a
 * symlink to this repository and to each of its own dependencies (offline, no npm install), and
 * node_modules/.bin has `mocha` and `orm-migrate`, so `npx mocha --require orm-migrate/mocha`
 * and `npx orm-migrate gate` run exactly as a user types them. Node keeps the symlinked paths
 * (--preserve-symlinks), so mocha resolves `orm-migrate/mocha` from the project, as after npm install.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

export interface AppProject {
  dir: string;
  write(relative: string, text: string): string;
  /** Runs a shell command line in the project (sh -c), with the project's bins on PATH. */
  sh(command: string, env?: NodeJS.ProcessEnv): { status: number | null; stdout: string; stderr: string };
  remove(): void;
}

export function createAppProject(files: Record<string, string> = {}): AppProject {
  const dir = mkdtempSync(join(tmpdir(), 'orm-migrate-app-'));
  const modules = join(dir, 'node_modules');
  mkdirSync(join(modules, '.bin'), { recursive: true });
  for (const name of readdirSync(join(repositoryRoot, 'node_modules'))) {
    if (name !== '.bin') symlinkSync(join(repositoryRoot, 'node_modules', name), join(modules, name));
  }
  symlinkSync(repositoryRoot, join(modules, 'orm-migrate'));
  const bin = (name: string, target: string) => {
    const file = join(modules, '.bin', name);
    writeFileSync(file, `#!/bin/sh\nexec "${process.execPath}" --preserve-symlinks --preserve-symlinks-main "$(dirname "$0")/${target}" "$@"\n`);
    chmodSync(file, 0o755);
  };
  bin('mocha', '../mocha/bin/mocha.js');
  bin('orm-migrate', '../orm-migrate/bin/orm-migrate.js');
  const project: AppProject = {
    dir,
    write: (relative, text) => {
      const file = join(dir, relative);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, text);
      return file;
    },
    sh: (command, env = {}) => {
      const run = spawnSync('sh', ['-c', command], {
        cwd: dir,
        encoding: 'utf8',
        env: {
          ...process.env,
          PATH: `${join(modules, '.bin')}:${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
          NODE_OPTIONS: '--preserve-symlinks',
          NO_COLOR: '1',
          ORM_MIGRATE_WARNINGS_FILE: '',
          npm_config_offline: 'true',
          ...env,
        },
      });
      return { status: run.status, stdout: run.stdout, stderr: run.stderr };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
  project.write('package.json', `${JSON.stringify({ name: 'app', private: true, type: 'module' }, null, 2)}\n`);
  for (const [relative, text] of Object.entries(files)) project.write(relative, text);
  return project;
}

/** A mocha test file making `calls` deprecated async calls (none when 0) against a SQLite file in the project. */
export function legacyTestFile(calls: number): string {
  return [
    "import assert from 'node:assert/strict';",
    "import { configure, defineModel, fields, migrate } from 'orm-migrate/runtime';",
    "configure({ databases: { default: { engine: 'sqlite', name: 'db.sqlite3' } } });",
    "const Q = defineModel('Q', { table: 'q', fields: { id: fields.autoId(), n: fields.integer() } });",
    'migrate();',
    "describe('app', () => {",
    `  it('counts', async () => { for (let i = 0; i < ${calls}; i++) assert.equal(await Q.objects.acount(), 0); });`,
    "  it('counts synchronously', () => { assert.equal(Q.objects.count(), 0); });",
    '});',
    '',
  ].join('\n');
}
