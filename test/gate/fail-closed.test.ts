/**
 * The run-time recording and the gate fail closed, in a fresh user project: a real mocha run
 * with `--require orm-migrate/mocha`, then `orm-migrate gate`, each as a child process.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAppProject, legacyTestFile } from './support/app-project.js';
import type { AppProject } from './support/app-project.js';

const RECORD = 'ORM_MIGRATE_WARNINGS_FILE=.orm-migrate/warnings.jsonl npx mocha --require orm-migrate/mocha test/app.test.mjs';

describe('the recording and the gate fail closed (a fresh project, real mocha runs)', function () {
  this.timeout(60_000);
  let project: AppProject;
  beforeEach(() => {
    project = createAppProject({ 'test/app.test.mjs': legacyTestFile(2) });
  });
  afterEach(() => project.remove());

  it('a missing .orm-migrate/ directory is created: the user\'s deprecated calls still pass', () => {
    const run = project.sh(RECORD);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /2 passing/);
    const lines = readFileSync(join(project.dir, '.orm-migrate/warnings.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { kind?: string; run?: string });
    assert.equal(lines[0]?.kind, 'run');
    assert.equal(lines.at(-1)?.kind, 'run-end');
    assert.equal(lines.filter((line) => line.kind === undefined && line.run === lines[0]?.run).length, 2);
  });

  it('a recording that cannot be written prints one line naming the file, the tests pass, and the gate exits 2', () => {
    // A regular file where the directory should be: no user (root included) can create the warnings file.
    writeFileSync(join(project.dir, 'blocked'), '');
    const run = project.sh('ORM_MIGRATE_WARNINGS_FILE=blocked/warnings.jsonl npx mocha --require orm-migrate/mocha test/app.test.mjs');
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /2 passing/);
    const complaints = run.stderr.split('\n').filter((line) => line.startsWith('orm-migrate: cannot record'));
    assert.equal(complaints.length, 1, run.stderr);
    assert.match(complaints[0]!, /blocked\/warnings\.jsonl: (ENOTDIR|EEXIST)/);
    const gate = project.sh('npx orm-migrate gate --warnings blocked/warnings.jsonl');
    assert.equal(gate.status, 2, gate.stdout + gate.stderr);
    assert.match(gate.stderr, /blocked\/warnings\.jsonl/);
  });

  it('a warnings file that refuses every write (/dev/full): the tests pass, the gate exits 2', () => {
    // /dev/full accepts open() and fails every write(): the header is lost, and so is every line.
    symlinkSync('/dev/full', join(project.dir, 'full.jsonl'));
    const run = project.sh('ORM_MIGRATE_WARNINGS_FILE=full.jsonl npx mocha --require orm-migrate/mocha test/app.test.mjs');
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stderr, /orm-migrate: cannot record deprecated calls to .*full\.jsonl: ENOSPC/);
    const gate = project.sh('npx orm-migrate gate --warnings full.jsonl');
    assert.equal(gate.status, 2, gate.stdout + gate.stderr);
    assert.match(gate.stderr, /full\.jsonl is not a regular file/);
  });

  it('no warnings file, an empty one, or records without a run header: exit 2 naming the file and the likely cause', () => {
    const missing = project.sh('npx orm-migrate gate');
    assert.equal(missing.status, 2, missing.stdout);
    assert.match(missing.stderr, /\.orm-migrate\/warnings\.jsonl does not exist: no test run was recorded there \(was ORM_MIGRATE_WARNINGS_FILE set for the test run/);
    assert.doesNotMatch(missing.stdout, /0 deprecated calls|gate passed/);
    project.write('.orm-migrate/warnings.jsonl', '');
    const empty = project.sh('npx orm-migrate gate');
    assert.equal(empty.status, 2);
    assert.match(empty.stderr, /warnings\.jsonl is empty/);
    const plain = project.sh('ORM_MIGRATE_WARNINGS_FILE=.orm-migrate/warnings.jsonl npx mocha test/app.test.mjs');
    assert.equal(plain.status, 0, plain.stderr);
    const headless = project.sh('npx orm-migrate gate');
    assert.equal(headless.status, 2);
    assert.match(headless.stderr, /has 2 records but no run header/);
  });

  it('a failed-recording line or a run without its end is rejected', () => {
    const header = '{"kind":"run","run":"r1","pid":1,"startedAt":"2026-01-01T00:00:00.000Z"}\n';
    project.write('w.jsonl', `${header}{"kind":"recording-failed","run":"r1","pid":7,"error":"ENOSPC: no space left on device, write"}\n{"kind":"run-end","run":"r1","pid":1}\n`);
    const failed = project.sh('npx orm-migrate gate --warnings w.jsonl');
    assert.equal(failed.status, 2);
    assert.match(failed.stderr, /w\.jsonl:2: recording failed during the test run \(pid 7: ENOSPC/);
    project.write('w.jsonl', header);
    const cut = project.sh('npx orm-migrate gate --warnings w.jsonl');
    assert.equal(cut.status, 2);
    assert.match(cut.stderr, /the latest test run \(started 2026-01-01T00:00:00\.000Z\) has no end/);
  });

  it('each run counts once: a second run replaces the first, serial or --parallel', () => {
    assert.equal(project.sh(RECORD).status, 0);
    const update = project.sh('npx orm-migrate gate --update-baseline');
    assert.equal(update.status, 0, update.stdout + update.stderr);
    assert.equal(project.sh(RECORD).status, 0);
    const again = project.sh('npx orm-migrate gate');
    assert.equal(again.status, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /2 deprecated calls recorded at 1 site/);
    assert.equal(project.sh(`${RECORD} --parallel --jobs 2`).status, 0);
    const parallel = project.sh('npx orm-migrate gate');
    assert.equal(parallel.status, 0, parallel.stdout + parallel.stderr);
    assert.match(parallel.stdout, /2 deprecated calls recorded at 1 site/);
  });

  it('a run without deprecated calls is evidence too: 0 calls, gate passes', () => {
    project.write('test/app.test.mjs', legacyTestFile(0));
    assert.equal(project.sh(RECORD).status, 0);
    assert.ok(existsSync(join(project.dir, '.orm-migrate/warnings.jsonl')));
    const update = project.sh('npx orm-migrate gate --update-baseline');
    assert.equal(update.status, 0, update.stdout + update.stderr);
    const check = project.sh('npx orm-migrate gate');
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /0 deprecated calls recorded at 0 sites[\s\S]*gate passed/);
  });
});
