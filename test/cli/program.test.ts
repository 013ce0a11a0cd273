import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/orm-migrate.js', import.meta.url));
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

function cli(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
}

describe('orm-migrate CLI (child process)', () => {
  it('--version prints the package version and exits 0', () => {
    const run = cli('--version');
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), pkg.version);
  });

  it('--help lists the scan and fix commands and exits 0', () => {
    const run = cli('--help');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /\bscan\b/);
    assert.match(run.stdout, /\bfix\b/);
  });

  it('fix --help says what --rule defaults to in words, not as an empty array', () => {
    const run = cli('fix', '--help');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /--rule <id>[\s\S]*\(default: all of them\)/);
    assert.doesNotMatch(run.stdout, /default: \[\]/);
  });

  it('an unknown option is bad usage: exit 2 naming the option', () => {
    const run = cli('--frobnicate');
    assert.equal(run.status, 2);
    assert.match(run.stderr, /--frobnicate/);
  });
});
