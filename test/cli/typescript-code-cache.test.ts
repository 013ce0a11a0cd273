/**
 * The CLI loads TypeScript through a V8 code cache in a per-user directory of the temp dir: the
 * cache must be written, then used, and must never change what a scan reports — not when it is
 * garbage, not when the directory is writable by others (then it is not used), not when
 * NODE_DISABLE_COMPILE_CACHE turns it off.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/orm-migrate.js');
const polls = join(root, 'fixtures/polls');

describe('the TypeScript code cache of the CLI', function () {
  this.timeout(60_000);
  let temp: string;
  let cacheDir: string;

  function scan(extraEnv: Record<string, string> = {}): unknown {
    const run = spawnSync(process.execPath, [bin, 'scan', '.', '--format', 'json'], {
      cwd: polls,
      encoding: 'utf8',
      env: { ...process.env, TMPDIR: temp, NODE_DISABLE_COMPILE_CACHE: '', ...extraEnv },
    });
    assert.ok(run.status === 0 || run.status === 1, `scan failed (${run.status}): ${run.stderr}`);
    const report = JSON.parse(run.stdout) as { findings: unknown[]; stats: unknown };
    assert.ok(report.findings.length > 0, 'the polls app has findings');
    return report.findings;
  }

  const cacheFiles = (): string[] => readdirSync(cacheDir).filter((name) => name.endsWith('.bin'));

  before(() => {
    temp = mkdtempSync(join(tmpdir(), 'orm-migrate-cache-test-'));
    // POSIX: the directory is named after the user, as the loader names it.
    cacheDir = join(temp, `orm-migrate-compile-cache-${process.getuid?.() ?? ''}`);
  });

  after(() => rmSync(temp, { recursive: true, force: true }));

  it('is written on the first run, in a directory only this user can use, then read without rewriting it', () => {
    const first = scan();
    assert.equal(statSync(cacheDir).mode & 0o777, 0o700);
    const [file] = cacheFiles();
    assert.ok(file, 'a cache file was written');
    const written = statSync(join(cacheDir, file));
    assert.ok(written.size > 100_000, `the cache holds compiled code (${written.size} bytes)`);
    assert.deepEqual(scan(), first);
    assert.equal(statSync(join(cacheDir, file)).mtimeMs, written.mtimeMs, 'an accepted cache is not rewritten');
  });

  it('garbage in the cache file is rejected and replaced, and the scan reports the same', () => {
    const expected = scan();
    const [file] = cacheFiles();
    assert.ok(file);
    const garbage = Buffer.alloc(4096, 7);
    writeFileSync(join(cacheDir, file), garbage);
    assert.deepEqual(scan(), expected);
    assert.notDeepEqual(readFileSync(join(cacheDir, file)), garbage, 'the rejected cache was rewritten');
  });

  it('is not used when others can write its directory, nor with NODE_DISABLE_COMPILE_CACHE', () => {
    const expected = scan();
    for (const file of cacheFiles()) rmSync(join(cacheDir, file));
    assert.deepEqual(scan({ NODE_DISABLE_COMPILE_CACHE: '1' }), expected);
    assert.deepEqual(cacheFiles(), []);
    chmodSync(cacheDir, 0o777);
    try {
      assert.deepEqual(scan(), expected);
      assert.deepEqual(cacheFiles(), [], 'nothing is written to a directory others can write');
    } finally {
      chmodSync(cacheDir, 0o700);
    }
  });
});
