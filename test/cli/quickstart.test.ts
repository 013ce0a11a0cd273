/** The README's first minutes: examples/quickstart.mts runs as a user runs it (tsx, child process). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readmeBlock } from '../gate/support/readme.js';

const example = fileURLToPath(new URL('../../examples/quickstart.mts', import.meta.url));
const tsxCli = join(createRequire(import.meta.url).resolve('tsx/package.json'), '../dist/cli.mjs');

describe('examples/quickstart.mts (child process)', function () {
  this.timeout(60_000);
  it('is the README\'s runtime example, word for word', () => {
    assert.equal(readmeBlock('quickstart'), readFileSync(example, 'utf8'));
  });

  it('runs to the end: the fallback warns once, and the SynchronousOnlyOperation is caught and printed on purpose', () => {
    const dir = mkdtempSync(join(tmpdir(), 'orm-migrate-quickstart-'));
    try {
      const run = spawnSync(process.execPath, [tsxCli, example], { cwd: dir, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '', ORM_MIGRATE_WARNINGS: '' } });
      assert.equal(run.status, 0, run.stdout + run.stderr);
      assert.match(run.stdout, /aget\(\) without a block \(deprecated fallback\): What's new\?/);
      assert.match(run.stdout, /aexists\(\) in a block \(native\): true/);
      assert.match(run.stdout, /caught, as intended: SynchronousOnlyOperation: Question\.count\(\) is a sync ORM call inside a newConnection\(\) block/);
      assert.equal(run.stderr.match(/PendingDeprecationWarning: Question\.aget\(\)/g)?.length, 1, run.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
