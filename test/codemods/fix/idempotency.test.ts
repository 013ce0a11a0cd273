/**
 * A second `orm-migrate fix` changes nothing (issue 11): over every fix fixture (fixtures/fix) and
 * the polls app, with the default config and with a custom `ormModules` that lists a local module
 * first and has no "connection" key, in both modes. The built CLI runs in a child process.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFixtureProject } from './fixtures.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const bin = join(root, 'bin/orm-migrate.js');

function fix(cwd: string, ...args: string[]) {
  return spawnSync(process.execPath, [bin, 'fix', '--force', ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sources(path);
    return /\.[cm]?[jt]sx?$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every module a fixed file imports newConnection from. */
function connectionImports(dir: string): string[] {
  const found = new Set<string>();
  for (const file of sources(dir)) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?:import|const)\s*\{[^}]*\bnewConnection\b[^}]*\}\s*(?:from|=\s*require\()\s*['"]([^'"]+)['"]/g)) found.add(match[1] as string);
  }
  return [...found].sort();
}

interface Setup {
  name: string;
  /** Creates the project; returns its directory and a cleanup. */
  create(): { dir: string; remove(): void };
  /** A local module of the project to list first in a custom ormModules. */
  localModule: string;
}

const setups: Setup[] = [
  {
    name: 'the fix fixtures',
    create: () => {
      const project = createFixtureProject();
      return { dir: project.dir, remove: () => project.remove() };
    },
    localModule: './_support/models.ts',
  },
  {
    name: 'the polls app',
    create: () => {
      // Inside the repository, so 'orm-migrate/runtime' resolves to this package (as in fix-polls).
      const scratch = join(root, `.fix-idempotency-${process.pid}`);
      mkdirSync(scratch, { recursive: true });
      const dir = join(scratch, 'polls');
      cpSync(join(root, 'fixtures/polls'), dir, { recursive: true });
      return { dir, remove: () => rmSync(scratch, { recursive: true, force: true }) };
    },
    localModule: './models.ts',
  },
];

const configs: { name: string; config?: (setup: Setup) => object }[] = [
  { name: 'the default config' },
  { name: 'a custom ormModules (a local module first, no "connection" key)', config: (setup) => ({ ormModules: [setup.localModule, 'orm-migrate/runtime'] }) },
];

describe('orm-migrate fix is idempotent: a second fix changes nothing (child process)', function () {
  this.timeout(180_000);
  for (const setup of setups) {
    for (const { name, config } of configs) {
      for (const types of [true, false]) {
        it(`${setup.name}, ${name}, ${types ? 'type-aware' : '--no-types'}`, () => {
          const project = setup.create();
          try {
            if (config) writeFileSync(join(project.dir, 'orm-migrate.config.json'), `${JSON.stringify(config(setup))}\n`);
            const mode = types ? [] : ['--no-types'];
            const first = fix(project.dir, ...mode);
            assert.ok(first.status === 0 || first.status === 1, first.stdout + first.stderr);
            assert.match(first.stdout, /^[1-9]\d* files? changed, \d+ unchanged, \d+ manual, 0 errors$/m, first.stdout + first.stderr);
            // Never from a module that does not export it (the local module first in ormModules does not).
            assert.deepEqual(connectionImports(project.dir).filter((module) => module !== 'orm-migrate/runtime'), []);
            const manual = /(\d+) manual/.exec(first.stdout)?.[1];
            const second = fix(project.dir, '--dry-run', ...mode);
            assert.equal(second.stdout.includes('\n--- a/') || second.stdout.startsWith('--- a/'), false, `the second fix would change:\n${second.stdout}`);
            assert.match(second.stderr + second.stdout, new RegExp(`^0 files would change, \\d+ unchanged, ${manual} manual, 0 errors`, 'm'), second.stdout + second.stderr);
          } finally {
            project.remove();
          }
        });
      }
    }
  }

  it('covers every fixture directory', () => {
    const cases = readdirSync(join(root, 'fixtures/fix')).filter((name) => !name.startsWith('_') && statSync(join(root, 'fixtures/fix', name)).isDirectory());
    const project = createFixtureProject();
    try {
      const laidOut = new Set(sources(project.dir).map((file) => relative(project.dir, file).split('/')[0]));
      for (const name of cases) assert.ok(laidOut.has(name), `fixture case ${name} is not in the project`);
    } finally {
      project.remove();
    }
  });
});
