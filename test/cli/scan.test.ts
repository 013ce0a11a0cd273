/** `orm-migrate scan` as a user runs it: the built CLI in a child process (npm test builds first). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, unlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sarifErrors } from '../support/sarif-schema.js';
import { MODELS_SOURCE, createTempProject } from '../support/temp-project.js';
import type { TempProject } from '../support/temp-project.js';

const bin = fileURLToPath(new URL('../../bin/orm-migrate.js', import.meta.url));
const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));
const ANSI = /\x1b\[[0-9;]*m/;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cli(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const run = spawnSync(process.execPath, [bin, 'scan', ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '', ...env } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

describe('orm-migrate scan (child process)', function () {
  this.timeout(60_000); // several CLI runs per test on a shared 2-core machine
  it('scans the polls app: findings grouped by file, per-rule summary, exit 1 on errors', () => {
    const run = cli(repositoryRoot, ['fixtures/polls']);
    assert.equal(run.status, 1, run.stderr);
    assert.equal(run.stderr, '', 'type-aware: no fallback note');
    assert.doesNotMatch(run.stdout, ANSI, 'no colours when stdout is not a terminal');
    assert.match(run.stdout, /^fixtures\/polls\/handlers\/questions\.ts$/m);
    assert.match(run.stdout, /^ {2}40:12 +error +The promise of `question\.asave\(\)` is neither awaited/m);
    assert.match(run.stdout, /✖ 19 problems \(2 errors, 17 warnings\) in 5 files/);
    assert.match(run.stdout, /By rule:\n {4}allow-async-unsafe/);
  });

  it('--no-types says it fell back; json, sarif and github formats on stdout', () => {
    const json = cli(repositoryRoot, ['fixtures/polls', '--no-types', '--format', 'json']);
    assert.equal(json.status, 1);
    assert.match(json.stderr, /note: type information off \(--no-types\): ORM calls are matched by following imports from orm-migrate\/runtime syntactically/);
    const document = JSON.parse(json.stdout) as { mode: string; findings: unknown[]; notes: string[] };
    assert.equal(document.mode, 'syntactic');
    assert.equal(document.findings.length, 19);
    assert.equal(document.notes.length, 1);

    const sarif = cli(repositoryRoot, ['fixtures/polls', '--no-types', '-f', 'sarif']);
    assert.deepEqual(sarifErrors(JSON.parse(sarif.stdout)), []);

    const github = cli(repositoryRoot, ['fixtures/polls/legacy.ts', '--no-types', '--format', 'github'], { ORM_MIGRATE_TIMING: '1' });
    assert.equal(github.status, 0, 'warnings only');
    assert.match(github.stderr, /timing \(ms\): discover \d+, read \d+, syntax \d+, analysis \d+, fixable count \d+, report \d+/);
    assert.deepEqual(github.stdout.split('\n').filter((line) => line.startsWith('::')), [
      '::warning file=fixtures/polls/legacy.ts,line=6,col=10,endLine=6,endColumn=55,title=orm-migrate(sync-to-async-wrapper)::`syncToAsync(…)` wraps `Question.objects.count()`: write `await Question.objects.acount()` instead',
      '::warning file=fixtures/polls/legacy.ts,line=10,col=10,endLine=10,endColumn=75,title=orm-migrate(sync-to-async-wrapper)::`syncToAsync(…)` wraps `Question.objects.get()`: write `await Question.objects.aget({ questionText: text })` instead',
    ]);
  });

  it('colours on a terminal, none with NO_COLOR', function () {
    if (!hasScript) this.skip(); // needs util-linux `script` for a pseudo-terminal
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} scan fixtures/polls/legacy.ts --no-types`;
    const tty = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: repositoryRoot, encoding: 'utf8', env: { ...process.env, NO_COLOR: '' } });
    assert.match(tty.stdout, ANSI);
    const noColor = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: repositoryRoot, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    assert.match(noColor.stdout, /sync-to-async-wrapper/);
    assert.doesNotMatch(noColor.stdout, ANSI);
  });

  describe('the gate', () => {
    let project: TempProject;
    const handler = (name: string, calls: number): string =>
      [
        "import { Question } from './models.js';",
        `export async function ${name}() {`,
        ...Array.from({ length: calls }, (_, index) => `  await Question.objects.filter({ pk: ${index} }).aexists();`),
        '}',
        '',
      ].join('\n');
    beforeEach(() => {
      project = createTempProject({ 'package.json': '{ "type": "module" }\n', 'models.ts': MODELS_SOURCE, 'a.ts': handler('a', 2), 'b.ts': handler('b', 1) });
    });
    afterEach(() => project.remove());

    it('warnings pass; --max-warnings fails over the limit; --output-file writes the report there', () => {
      assert.equal(cli(project.dir, ['--no-types']).status, 0);
      const toFile = cli(project.dir, ['--no-types', '--format', 'sarif', '--output-file', 'reports/scan.sarif']);
      assert.equal(toFile.stdout, '');
      assert.deepEqual(sarifErrors(JSON.parse(project.read('reports/scan.sarif'))), []);
      assert.equal(cli(project.dir, ['--no-types', '--max-warnings', '3']).status, 0);
      const over = cli(project.dir, ['--no-types', '--max-warnings', '2']);
      assert.equal(over.status, 1);
      assert.match(over.stdout, /Too many warnings: 3 found, --max-warnings is 2\./);
      const strict = cli(project.dir, ['--no-types', '--rule', 'async-outside-connection:error']);
      assert.equal(strict.status, 1);
      assert.match(strict.stdout, /3 problems \(3 errors, 0 warnings\)/);
    });

    it('an --output-file that cannot be written is bad usage naming it (exit 2, no stack trace)', () => {
      const intoDirectory = cli(project.dir, ['--no-types', '--output-file', '.']);
      assert.equal(intoDirectory.status, 2, intoDirectory.stdout + intoDirectory.stderr);
      assert.match(intoDirectory.stderr, /^orm-migrate: --output-file \.: cannot write the report: EISDIR/m);
      const underAFile = cli(project.dir, ['--no-types', '--output-file', 'a.ts/report.txt']);
      assert.equal(underAFile.status, 2, underAFile.stdout + underAFile.stderr);
      assert.match(underAFile.stderr, /^orm-migrate: --output-file a\.ts\/report\.txt: cannot write the report: E(EXIST|NOTDIR)/m);
      assert.doesNotMatch(intoDirectory.stderr + underAFile.stderr, /crashed|\n +at /);
    });

    it('baseline: written, then new or increased counts fail, dropped counts print the command, stale entries are reported', () => {
      const written = cli(project.dir, ['--no-types', '--baseline', 'ci/baseline.json', '--update-baseline']);
      assert.equal(written.status, 0, written.stdout + written.stderr);
      assert.match(written.stdout, /Baseline written to ci\/baseline\.json: 3 findings in 2 file\/rule entries\./);
      // Paths relative to the working directory, as in the run-time half of the same file.
      assert.equal(
        project.read('ci/baseline.json'),
        '{\n  "version": 2,\n  "static": {\n    "a.ts": {\n      "async-outside-connection": {\n        "count": 2\n      }\n    },\n    "b.ts": {\n      "async-outside-connection": {\n        "count": 1\n      }\n    }\n  }\n}\n',
      );
      assert.equal(cli(project.dir, ['--no-types', '--baseline', 'ci/baseline.json']).status, 0);

      project.write('b.ts', handler('b', 2));
      project.write('c.ts', handler('c', 1));
      const worse = cli(project.dir, ['--no-types', '--baseline', 'ci/baseline.json']);
      assert.equal(worse.status, 1);
      assert.match(worse.stdout, /Increased: b\.ts › async-outside-connection: 2, baseline allows 1/);
      assert.match(worse.stdout, /New: c\.ts › async-outside-connection: 1 \(none recorded in the baseline\)/);
      assert.match(worse.stdout, /Gate failed: 2 findings over the baseline in 2 file\/rule entries\./);
      assert.doesNotMatch(worse.stdout, /^a\.ts$/m, 'findings within the baseline are not listed');

      project.write('a.ts', handler('a', 1));
      project.write('b.ts', handler('b', 1));
      unlinkSync(project.path('c.ts'));
      project.write('models.ts', `${MODELS_SOURCE}export const fixed = 1;\n`);
      const better = cli(project.dir, ['.', '--no-types', '--baseline', 'ci/baseline.json']);
      assert.equal(better.status, 0, better.stdout);
      assert.match(better.stdout, /1 finding fewer than the baseline records \(1 file\/rule entry dropped\)\. Tighten it with:\n {2}npx orm-migrate scan \. --no-types --baseline ci\/baseline\.json --update-baseline\n/);

      unlinkSync(project.path('b.ts'));
      const stale = cli(project.dir, ['--no-types', '--baseline', 'ci/baseline.json', '--format', 'json']);
      assert.equal(stale.status, 0);
      assert.match(stale.stderr, /Stale baseline entry: b\.ts › async-outside-connection \(recorded 1, file no longer exists\)/);
      const document = JSON.parse(stale.stdout) as { gate: { baseline: { stale: { file: string }[]; updateCommand: string } } };
      assert.deepEqual(document.gate.baseline.stale.map((entry) => entry.file), ['b.ts']);
      assert.equal(document.gate.baseline.updateCommand, 'npx orm-migrate scan . --no-types --baseline ci/baseline.json --update-baseline');

      assert.equal(cli(project.dir, ['--no-types', '--baseline', 'ci/baseline.json', '--update-baseline']).status, 0);
      assert.deepEqual(Object.keys((JSON.parse(project.read('ci/baseline.json')) as { static: object }).static), ['a.ts']);

      // Without --baseline, --update-baseline writes the one default baseline file.
      assert.equal(cli(project.dir, ['--no-types', '--update-baseline']).status, 0);
      assert.deepEqual(Object.keys((JSON.parse(project.read('.orm-migrate/baseline.json')) as { static: object }).static), ['a.ts']);
    });

    it('a file that does not parse is reported as an error and the scan goes on', () => {
      project.write('broken.ts', "import { Question } from './models.js';\nexport const q = Question.objects.aget({ pk: 1 };\n");
      const run = cli(project.dir, ['--no-types', '--format', 'json']);
      assert.equal(run.status, 1);
      const document = JSON.parse(run.stdout) as { findings: { file: string; ruleId: string; line: number; message: string }[] };
      assert.deepEqual(
        document.findings.map((finding) => [finding.file, finding.ruleId]),
        [
          ['a.ts', 'async-outside-connection'],
          ['a.ts', 'async-outside-connection'],
          ['b.ts', 'async-outside-connection'],
          ['broken.ts', 'parse-error'],
        ],
      );
      assert.match(document.findings[3]?.message ?? '', /^Parsing error: '\)' expected\./);
    });
  });

  describe('bad usage and bad config exit 2', () => {
    let project: TempProject;
    beforeEach(() => {
      project = createTempProject({ 'package.json': '{ "type": "module" }\n', 'a.ts': "import { x } from 'orm-migrate/runtime';\n" });
    });
    afterEach(() => project.remove());

    it('a bad config names the file and the key', () => {
      project.write('orm-migrate.config.json', '{ "rules": { "floating-async-call": "loud" } }\n');
      const run = cli(project.dir, []);
      assert.equal(run.status, 2);
      assert.equal(run.stdout, '');
      assert.equal(run.stderr, `orm-migrate: ${project.path('orm-migrate.config.json')}: "rules.floating-async-call" must be "off", "warn" or "error"\n`);
      const unknown = cli(project.dir, ['--config', 'other.json']);
      assert.equal(unknown.status, 2);
      assert.match(unknown.stderr, /other\.json: does not exist/);
    });

    it('bad flags, a missing path and a missing baseline', () => {
      const cases: [string[], RegExp][] = [
        [['--format', 'xml'], /--format.*xml/],
        [['--max-warnings', 'many'], /--max-warnings/],
        [['--rule', 'no-such-rule:warn'], /unknown rule "no-such-rule"/],
        [['--rule', 'floating-async-call'], /expected <rule-id>:<off\|warn\|error>/],
        [['no/such/dir'], /no such file or directory: no\/such\/dir/],
        [['--baseline', 'missing.json'], /missing\.json has no static part \(the file does not exist\): record it with npx orm-migrate scan \. --no-types --baseline missing\.json --update-baseline/],
      ];
      for (const [args, message] of cases) {
        const run = cli(project.dir, [...args, '--no-types']);
        assert.equal(run.status, 2, `${args.join(' ')}: ${run.stdout}${run.stderr}`);
        assert.match(run.stderr, message);
      }
      assert.equal(existsSync(project.path('missing.json')), false);
    });
  });
});
