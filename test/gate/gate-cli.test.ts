import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
/** A finished test run's record, as the orm-migrate/mocha plugin and the runtime write it. */
const jsonl = (lines: Line[]) =>
  [
    { kind: 'run', run: 'r1', pid: 1, startedAt: '2026-01-01T00:00:00.000Z' },
    ...lines.map((l) => ({ code: 'ORM_ASYNC_NO_CONNECTION', method: 'aget', model: 'Question', pid: 1, run: 'r1', ...l })),
    { kind: 'run-end', run: 'r1', pid: 1 },
  ]
    .map((line) => JSON.stringify(line))
    .join('\n') + '\n';

describe('orm-migrate gate (child process)', function () {
  this.timeout(60_000); // several CLI runs per test on a shared 2-core machine
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
      version: 2,
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

  it('--update-baseline lists what changed in the file by line and column as numbers (8:69 before 17:51)', () => {
    const sites = ['app/views.ts:17:51', 'app/views.ts:8:69', 'app/views.ts:100:1', 'app/a.ts:9:12', 'app/a.ts:9:3'];
    writeFileSync(join(dir, 'w.jsonl'), jsonl(sites.map((site) => ({ site }))));
    const update = gate('--warnings', 'w.jsonl', '--update-baseline');
    assert.equal(update.status, 0, update.stderr);
    const listed = (text: string, sign: string) => [...text.matchAll(new RegExp(`^  \\${sign} (\\S+) `, 'gm'))].map((match) => match[1]);
    const order = ['app/a.ts:9:3', 'app/a.ts:9:12', 'app/views.ts:8:69', 'app/views.ts:17:51', 'app/views.ts:100:1'];
    assert.deepEqual(listed(update.stdout, '+'), order, update.stdout);
    writeFileSync(join(dir, 'w.jsonl'), jsonl([]));
    const emptied = gate('--warnings', 'w.jsonl', '--update-baseline');
    assert.equal(emptied.status, 0, emptied.stderr);
    assert.deepEqual(listed(emptied.stdout, '-'), order, emptied.stdout);
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
    assert.match(bad.stderr, /w\.jsonl:7: not valid JSON/);
    writeFileSync(join(dir, 'w.jsonl'), jsonl(base));
    writeFileSync(join(dir, 'b.json'), '{\n  "version": 1,\n  "runtime": {\n    "a.ts:1:1": { "X": { "call": "Q.aget", "count": -1 } }\n  }\n}\n');
    const badBaseline = gate('--warnings', 'w.jsonl', '--baseline', 'b.json');
    assert.equal(badBaseline.status, 2);
    assert.match(badBaseline.stderr, /b\.json:4: a\.ts:1:1 → X must be \{ "call": string, "count": integer >= 0 \}/);
  });

  it('--update-baseline prints what was recorded, not a failure list', () => {
    writeFileSync(join(dir, 'w.jsonl'), jsonl(base));
    const update = gate('--warnings', 'w.jsonl', '--update-baseline');
    assert.equal(update.status, 0, update.stderr);
    assert.doesNotMatch(update.stdout, /✖|new site|no baseline at/);
    assert.match(update.stdout, /^ {2}app\/views\.ts:10:5 {2}Question\.aget\(\) {2}ORM_ASYNC_NO_CONNECTION {2}×2$/m);
    assert.match(update.stdout, /^ {2}app\/views\.ts:20:9 {2}Question\.acount\(\) {2}ORM_ASYNC_NO_CONNECTION {2}×1$/m);
  });

  it('sites sort by file, then line and column as numbers', () => {
    writeFileSync(join(dir, 'w.jsonl'), jsonl([{ site: 'app/a.ts:17:51' }, { site: 'app/a.ts:8:69' }, { site: 'app/a.ts:8:7' }, { site: 'app/a.ts:100:1' }]));
    const json = gate('--warnings', 'w.jsonl', '--format', 'json');
    const order = ['app/a.ts:8:7', 'app/a.ts:8:69', 'app/a.ts:17:51', 'app/a.ts:100:1'];
    assert.deepEqual((JSON.parse(json.stdout) as { added: Array<{ site: string }> }).added.map((a) => a.site), order);
    gate('--warnings', 'w.jsonl', '--update-baseline');
    assert.deepEqual(Object.keys((JSON.parse(readFileSync(join(dir, '.orm-migrate/baseline.json'), 'utf8')) as { runtime: object }).runtime), order);
  });

  describe('one baseline file for both halves', () => {
    const source = [
      "import { defineModel, fields } from 'orm-migrate/runtime';",
      "export const Question = defineModel('Question', { table: 'q', fields: { id: fields.autoId() } });",
      'export async function detail(id: number) {',
      '  return Question.objects.aget({ pk: id });',
      '}',
      '',
    ].join('\n');
    const scanCli = (...args: string[]) => spawnSync(process.execPath, [bin, 'scan', ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });

    it('gate --scan against a baseline without a static part says so and how to record it', () => {
      writeFileSync(join(dir, 'app.ts'), source);
      writeFileSync(join(dir, 'w.jsonl'), jsonl(base));
      assert.equal(gate('--warnings', 'w.jsonl', '--update-baseline').status, 0);
      const run = gate('--warnings', 'w.jsonl', '--scan', '.');
      assert.equal(run.status, 1, run.stdout + run.stderr);
      assert.match(run.stdout, /the baseline \.orm-migrate\/baseline\.json has no static part \(it was recorded without --scan\): record it with npx orm-migrate gate --warnings w\.jsonl --scan \. --update-baseline/);
      assert.doesNotMatch(run.stdout, /✖ static/, 'not every finding listed as new');
    });

    it('scan --update-baseline and gate --update-baseline write the two halves of the same file, and both pass on it', () => {
      writeFileSync(join(dir, 'app.ts'), source);
      writeFileSync(join(dir, 'w.jsonl'), jsonl(base));
      const scanned = scanCli('.', '--no-types', '--update-baseline');
      assert.equal(scanned.status, 0, scanned.stdout + scanned.stderr);
      assert.match(scanned.stdout, /Baseline written to \.orm-migrate\/baseline\.json: 1 finding in 1 file\/rule entry\./);
      assert.equal(gate('--warnings', 'w.jsonl', '--update-baseline').status, 0);
      const saved = JSON.parse(readFileSync(join(dir, '.orm-migrate/baseline.json'), 'utf8')) as { version: number; runtime: object; static: object };
      assert.equal(saved.version, 2);
      assert.deepEqual(saved.static, { 'app.ts': { 'async-outside-connection': { count: 1 } } }, 'the gate kept the static half scan wrote');
      assert.deepEqual(Object.keys(saved.runtime), ['app/views.ts:10:5', 'app/views.ts:20:9']);
      assert.equal(scanCli('.', '--no-types', '--baseline', '.orm-migrate/baseline.json').status, 0);
      const both = gate('--warnings', 'w.jsonl', '--scan', '.');
      assert.equal(both.status, 0, both.stdout + both.stderr);
    });

    it('reads the older files (version 1, scan\'s suppressions shape) and names a file of unknown shape', () => {
      writeFileSync(join(dir, 'app.ts'), source);
      writeFileSync(join(dir, 'w.jsonl'), jsonl(base));
      mkdirSync(join(dir, 'ci'));
      writeFileSync(join(dir, 'ci/old-scan.json'), JSON.stringify({ '../app.ts': { 'async-outside-connection': { count: 1 } } }));
      assert.equal(scanCli('.', '--no-types', '--baseline', 'ci/old-scan.json').status, 0, 'paths relative to the old file still match');
      writeFileSync(
        join(dir, 'v1.json'),
        JSON.stringify({ version: 1, runtime: { 'app/views.ts:10:5': { ORM_ASYNC_NO_CONNECTION: { call: 'Question.aget', count: 2 } }, 'app/views.ts:20:9': { ORM_ASYNC_NO_CONNECTION: { call: 'Question.acount', count: 1 } } }, static: { 'app.ts': { 'async-outside-connection': 1 } } }),
      );
      const v1 = gate('--warnings', 'w.jsonl', '--baseline', 'v1.json', '--scan', '.');
      assert.equal(v1.status, 0, v1.stdout + v1.stderr);
      writeFileSync(join(dir, 'odd.json'), JSON.stringify({ sites: [1, 2] }));
      const odd = gate('--warnings', 'w.jsonl', '--baseline', 'odd.json');
      assert.equal(odd.status, 2);
      assert.match(odd.stderr, /odd\.json:1: not an orm-migrate baseline/);
      const oddScan = scanCli('.', '--no-types', '--baseline', 'odd.json');
      assert.equal(oddScan.status, 2);
      assert.match(oddScan.stderr, /odd\.json:1: not an orm-migrate baseline/);
    });
  });
});
