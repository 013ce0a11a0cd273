/**
 * The gate end to end on the polls fixture: its own mocha suite runs under the orm-migrate/mocha
 * plugin with a warnings file, then `orm-migrate gate` runs as a child process.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/orm-migrate.js');
const plugin = join(root, 'dist/mocha/plugin.js');
const mochaBin = createRequire(import.meta.url).resolve('mocha/bin/mocha.js');

/** The handlers the polls suite calls, by file: their marked legacy calls are what must be recorded. */
const EXERCISED = { 'handlers/questions.ts': ['listQuestions', 'showQuestion', 'createQuestion'], 'handlers/votes.ts': ['vote'] };

/** `file:line` of every line marked `expect: async-outside-connection` inside the exercised functions. */
function markedLegacyLines(app: string): Set<string> {
  const lines = new Set<string>();
  for (const [file, functions] of Object.entries(EXERCISED)) {
    const source = readFileSync(join(app, file), 'utf8').split('\n');
    let current: string | null = null;
    source.forEach((text, index) => {
      const start = /^export async function (\w+)/.exec(text);
      if (start) current = start[1]!;
      // Calls inside aatomic() run on its own connection: they do not warn at run time.
      if (current && functions.includes(current) && /expect: .*async-outside-connection/.test(text)) lines.add(`${file}:${index + 1}`);
    });
  }
  return lines;
}

interface Recorded {
  site: string;
  method: string;
  test?: string;
}

/** The warning records of the file (not the run's header and end lines). */
function readRecords(file: string): Recorded[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Recorded & { kind?: string })
    .filter((record) => record.kind === undefined);
}

function tally(records: Recorded[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of records) counts.set(`${r.site} ${r.test}`, (counts.get(`${r.site} ${r.test}`) ?? 0) + 1);
  return counts;
}

describe('the gate on the polls fixture (its own test suite under the mocha plugin)', function () {
  this.timeout(120_000);
  let app: string;
  let scratch: string;

  /** Runs the app's suite; returns the records it wrote. */
  function runSuite(warnings: string, ...extra: string[]): Recorded[] {
    rmSync(join(app, warnings), { force: true });
    const run = spawnSync(process.execPath, [mochaBin, '--require', plugin, ...extra], {
      cwd: app,
      encoding: 'utf8',
      env: { ...process.env, ORM_MIGRATE_WARNINGS_FILE: warnings, ORM_MIGRATE_WARNINGS: 'ignore', NODE_OPTIONS: '' },
    });
    assert.equal(run.status, 0, `the polls suite must pass:\n${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /5 passing/);
    return readRecords(join(app, warnings));
  }

  const gate = (...args: string[]) => spawnSync(process.execPath, [bin, 'gate', ...args], { cwd: app, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ORM_MIGRATE_WARNINGS_FILE: '' } });

  before(() => {
    // Inside the repository so the copy resolves 'orm-migrate/runtime' to this package; not in a
    // git-ignored directory, because scan (for --scan) skips ignored files as it should.
    scratch = join(root, `.gate-scratch-${process.pid}`);
    mkdirSync(scratch, { recursive: true });
    app = join(scratch, 'polls');
    cpSync(join(root, 'fixtures/polls'), app, { recursive: true });
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  let serial: Recorded[];

  it('records exactly the legacy call sites the suite executes, each with the test that hit it', () => {
    serial = runSuite('w.jsonl');
    const recordedLines = new Set(serial.map((r) => r.site.replace(/:\d+$/, '')));
    assert.deepEqual([...recordedLines].sort(), [...markedLegacyLines(app)].sort());
    for (const record of serial) assert.match(String(record.test), /^polls handlers \(legacy, against a temporary SQLite file\) /);
    // The same call has the same file:line:col in scan's findings and in the run-time record.
    const scanRun = spawnSync(process.execPath, [bin, 'scan', '.', '--format', 'json'], { cwd: app, encoding: 'utf8' });
    const findings = (JSON.parse(scanRun.stdout) as { findings: Array<{ file: string; line: number; column: number; ruleId: string }> }).findings;
    const scanSites = new Set(findings.filter((f) => f.ruleId === 'async-outside-connection').map((f) => `${f.file}:${f.line}:${f.column}`));
    for (const record of serial) assert.ok(scanSites.has(record.site), `${record.site} (${record.method}) is not a scan finding's position: ${[...scanSites].join(', ')}`);
    const voteSite = serial.find((r) => r.method === 'aatomic');
    assert.equal(voteSite?.test, 'polls handlers (legacy, against a temporary SQLite file) votes inside a transaction and returns the new total');
  });

  it('a --parallel run records the same counts as the serial run', () => {
    const parallel = runSuite('p.jsonl', '--parallel', '--jobs', '2');
    assert.deepEqual(tally(parallel), tally(serial));
    assert.ok(new Set(parallel.map((r) => (r as { pid?: number }).pid)).size >= 1);
  });

  it('passes against a baseline recorded from that run', () => {
    const update = gate('--warnings', 'w.jsonl', '--update-baseline');
    assert.equal(update.status, 0, update.stdout + update.stderr);
    const check = gate('--warnings', 'w.jsonl');
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /gate passed/);
  });

  it('one added legacy call fails the gate, naming that site and the test', () => {
    const file = join(app, 'handlers/questions.ts');
    const original = readFileSync(file, 'utf8');
    try {
      const anchor = '  const question = await Question.objects.aget({ pk: id }); // expect: async-outside-connection\n';
      assert.ok(original.includes(anchor));
      writeFileSync(file, original.replace(anchor, `${anchor}  await Question.objects.acount();\n`));
      const addedLine = original.slice(0, original.indexOf(anchor)).split('\n').length + 1;
      runSuite('w2.jsonl');
      const run = gate('--warnings', 'w2.jsonl');
      assert.equal(run.status, 1, run.stdout);
      assert.match(run.stdout, new RegExp(`new site handlers/questions\\.ts:${addedLine}:\\d+ {2}Question\\.acount\\(\\)`));
      assert.match(run.stdout, /hit by: polls handlers \(legacy, against a temporary SQLite file\) creates a question with choices and shows it \(1\)/);
      assert.doesNotMatch(run.stdout, /more calls|no longer hit/, 'the calls below the new line moved, they are not new');
    } finally {
      writeFileSync(file, original);
    }
  });

  it('one removed legacy call prints the tighten command, and fails with --strict', () => {
    const file = join(app, 'handlers/questions.ts');
    const original = readFileSync(file, 'utf8');
    try {
      // The migration itself: listQuestions reads inside a newConnection block.
      const legacy = "  for await (const question of Question.objects.orderBy('-pubDate').limit(5)) { // expect: async-outside-connection\n";
      assert.ok(original.includes(legacy));
      const migrated = original
        .replace(legacy, "  const rows = await newConnection(async () => { const out = []; for await (const q of Question.objects.orderBy('-pubDate').limit(5)) out.push(q); return out; });\n  for (const question of rows) {\n")
        .replace("import { Choice, Question } from '../models.js';", "import { newConnection } from 'orm-migrate/runtime';\nimport { Choice, Question } from '../models.js';");
      writeFileSync(file, migrated);
      runSuite('w3.jsonl');
      const run = gate('--warnings', 'w3.jsonl');
      assert.equal(run.status, 0, run.stdout);
      assert.match(run.stdout, /1 fewer deprecated call than the baseline at 1 site\. Lock in the progress with:\n {4}npx orm-migrate gate --warnings w3\.jsonl --update-baseline/);
      const strict = gate('--warnings', 'w3.jsonl', '--strict');
      assert.equal(strict.status, 1);
    } finally {
      writeFileSync(file, original);
    }
  });

  it('--scan adds the static findings of scan to the same report and baseline', () => {
    const update = gate('--warnings', 'w.jsonl', '--scan', '.', '--update-baseline');
    assert.equal(update.status, 0, update.stdout + update.stderr);
    const baseline = JSON.parse(readFileSync(join(app, '.orm-migrate/baseline.json'), 'utf8')) as { static?: Record<string, Record<string, { count: number }>> };
    assert.ok(baseline.static?.['handlers/questions.ts']?.['async-outside-connection']!.count! > 0, JSON.stringify(baseline.static));
    assert.equal(gate('--warnings', 'w.jsonl', '--scan', '.').status, 0);
    const file = join(app, 'handlers/questions.ts');
    const original = readFileSync(file, 'utf8');
    try {
      writeFileSync(file, `${original}\nexport async function extra() {\n  return Question.objects.acount();\n}\n`);
      const run = gate('--warnings', 'w.jsonl', '--scan', '.');
      assert.equal(run.status, 1, run.stdout);
      assert.match(run.stdout, /static handlers\/questions\.ts {2}async-outside-connection {2}\d+ → \d+/);
    } finally {
      writeFileSync(file, original);
    }
  });
});
