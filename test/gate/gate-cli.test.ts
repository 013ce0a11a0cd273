import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/orm-migrate.js', import.meta.url));

interface Line {
  site: string;
  method?: string;
  model?: string;
  code?: string;
  test?: string;
}
const jsonl = (lines: Line[]) =>
  lines.map((l) => JSON.stringify({ code: 'ORM_ASYNC_NO_CONNECTION', method: 'aget', model: 'Question', pid: 1, ...l })).join('\n') + '\n';

describe('orm-migrate gate (child process)', () => {
  let dir: string;
  const gate = (...args: string[]) => spawnSync(process.execPath, [bin, 'gate', ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ORM_MIGRATE_WARNINGS_FILE: '' } });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'orm-migrate-gate-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const base = [
    { site: 'app/views.ts:10:5', test: 'views detail' },
    { site: 'app/views.ts:10:5', test: 'views detail' },
    { site: 'app/views.ts:20:9', method: 'acount', test: 'views index' },
  ];

  it('records a baseline, then passes on the same counts', () => {
    writeFileSync(join(dir, 'w.jsonl'), jsonl(base));
    const update = gate('--warnings', 'w.jsonl', '--update-baseline');
    assert.equal(update.status, 0, update.stderr);
    assert.match(update.stdout, /Baseline written to \.orm-migrate\/baseline\.json/);
    assert.match(update.stdout, /\+ app\/views\.ts:10:5 Question\.aget\(\) ORM_ASYNC_NO_CONNECTION ×2/);
    const saved = readFileSync(join(dir, '.orm-migrate/baseline.json'), 'utf8');
    assert.deepEqual(JSON.parse(saved), {
      version: 1,
      runtime: {
        'app/views.ts:10:5': { ORM_ASYNC_NO_CONNECTION: { call: 'Question.aget', count: 2 } },
        'app/views.ts:20:9': { ORM_ASYNC_NO_CONNECTION: { call: 'Question.acount', count: 1 } },
      },
    });
    const check = gate('--warnings', 'w.jsonl');
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /3 deprecated calls recorded at 2 sites/);
    assert.match(check.stdout, /gate passed/);
  });

  it('a new site or a grown count fails, naming the site and the test', () => {
    writeFileSync(join(dir, 'w.jsonl'), jsonl(base));
    gate('--warnings', 'w.jsonl', '--update-baseline');
    writeFileSync(join(dir, 'w.jsonl'), jsonl([...base, { site: 'app/new.ts:3:1', method: 'afirst', test: 'new feature works' }, { site: 'app/views.ts:20:9', method: 'acount', test: 'views list' }]));
    const run = gate('--warnings', 'w.jsonl');
    assert.equal(run.status, 1);
    assert.match(run.stdout, /new site app\/new\.ts:3:1 {2}Question\.afirst\(\)/);
    assert.match(run.stdout, /hit by: new feature works \(1\)/);
    assert.match(run.stdout, /more calls app\/views\.ts:20:9 .* 1 → 2/);
    assert.match(run.stdout, /hit by: views index \(1\); views list \(1\)/);
  });

  it('dropped counts pass with the tighten command, and fail with --strict', () => {
    writeFileSync(join(dir, 'w.jsonl'), jsonl(base));
    gate('--warnings', 'w.jsonl', '--update-baseline');
    writeFileSync(join(dir, 'w.jsonl'), jsonl(base.slice(0, 2)));
    const run = gate('--warnings', 'w.jsonl');
    assert.equal(run.status, 0, run.stdout);
    assert.match(run.stdout, /1 fewer deprecated call than the baseline at 1 site/);
    assert.match(run.stdout, /npx orm-migrate gate --warnings w\.jsonl --update-baseline/);
    const strict = gate('--warnings', 'w.jsonl', '--strict');
    assert.equal(strict.status, 1);
    assert.match(strict.stdout, /--strict: the baseline must match exactly/);
  });

  it('a call whose line moved is not a new site', () => {
    writeFileSync(join(dir, 'w.jsonl'), jsonl(base));
    gate('--warnings', 'w.jsonl', '--update-baseline');
    writeFileSync(join(dir, 'w.jsonl'), jsonl(base.map((l) => ({ ...l, site: l.site.replace(':10:5', ':12:5') }))));
    const run = gate('--warnings', 'w.jsonl');
    assert.equal(run.status, 0, run.stdout);
  });

  it('--max is a plain threshold', () => {
    writeFileSync(join(dir, 'w.jsonl'), jsonl(base));
    assert.equal(gate('--warnings', 'w.jsonl', '--max', '3').status, 0);
    const over = gate('--warnings', 'w.jsonl', '--max', '2');
    assert.equal(over.status, 1);
    assert.match(over.stdout, /3 deprecated calls and findings, more than --max 2/);
    assert.equal(gate('--warnings', 'w.jsonl', '--max', 'lots').status, 2);
  });

  it('json and github formats', () => {
    writeFileSync(join(dir, 'w.jsonl'), jsonl(base));
    const json = gate('--warnings', 'w.jsonl', '--format', 'json');
    assert.equal(json.status, 1, 'no baseline yet: everything is new');
    const parsed = JSON.parse(json.stdout) as { passed: boolean; added: Array<{ site: string; tests: Record<string, number> }> };
    assert.equal(parsed.passed, false);
    assert.deepEqual(parsed.added.map((a) => a.site), ['app/views.ts:10:5', 'app/views.ts:20:9']);
    assert.deepEqual(parsed.added[0]!.tests, { 'views detail': 2 });
    const github = gate('--warnings', 'w.jsonl', '--format', 'github');
    assert.match(github.stdout, /^::error file=app\/views\.ts,line=10,col=5,title=orm-migrate gate::new deprecated call Question\.aget\(\)/m);
  });

  it('a malformed warnings file or baseline exits 2 naming the file and line', () => {
    writeFileSync(join(dir, 'w.jsonl'), jsonl(base) + '{"code": "X", "method": "aget", "model": "Q", "site": "a.ts:1:1", "pid": 1}\nnot json\n');
    const bad = gate('--warnings', 'w.jsonl');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /w\.jsonl:5: not valid JSON/);
    writeFileSync(join(dir, 'w.jsonl'), jsonl(base));
    writeFileSync(join(dir, 'b.json'), '{\n  "version": 1,\n  "runtime": {\n    "a.ts:1:1": { "X": { "call": "Q.aget", "count": -1 } }\n  }\n}\n');
    const badBaseline = gate('--warnings', 'w.jsonl', '--baseline', 'b.json');
    assert.equal(badBaseline.status, 2);
    assert.match(badBaseline.stderr, /b\.json:4: a\.ts:1:1 → X must be \{ "call": string, "count": integer >= 0 \}/);
  });
});
