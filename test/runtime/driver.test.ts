import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('the database driver is an optional peer dependency', () => {
  it('without better-sqlite3 or pg installed, configure() says which package to install', () => {
    // The built package alone, with no node_modules anywhere above it.
    const dir = mkdtempSync(join(tmpdir(), 'orm-migrate-nodriver-'));
    try {
      const pkg = join(dir, 'node_modules', 'orm-migrate');
      cpSync(join(root, 'dist'), join(pkg, 'dist'), { recursive: true });
      cpSync(join(root, 'package.json'), join(pkg, 'package.json'));
      const script = [
        "import { defineModel, fields, configure } from 'orm-migrate/runtime';",
        "defineModel('Q', { table: 'q', fields: { id: fields.autoId() } });", // models load without a driver
        "try { configure({ databases: { default: { engine: 'sqlite', name: 'x.sqlite3' } } }); console.log('configured'); }",
        'catch (e) { console.log(e.name + ": " + e.message); }',
        "try { configure({ databases: { default: { engine: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/test' } } }); console.log('configured'); }",
        'catch (e) { console.log(e.name + ": " + e.message); }',
      ].join('\n');
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /^DriverNotInstalledError: The 'sqlite' engine needs the 'better-sqlite3' package, which is not installed\. .*npm install better-sqlite3/);
      assert.match(run.stdout, /\nDriverNotInstalledError: The 'postgres' engine needs the 'pg' package, which is not installed\. .*npm install pg\n/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
