/**
 * scan and fix fail closed, run as a user runs them (the built CLI in a child process): input they
 * could not look at exits 2, fix refuses outside git, the config is found from the scanned path,
 * and FORCE_COLOR forces colour when piped.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MODELS_SOURCE, createTempProject } from '../support/temp-project.js';
import type { TempProject } from '../support/temp-project.js';

const bin = fileURLToPath(new URL('../../bin/orm-migrate.js', import.meta.url));
const ANSI = /\x1b\[[0-9;]*m/;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI; `bound` runs it without the capabilities that let root read every file (root
 * still owns the checkout, wherever and however privately CI cloned it, so only the files made
 * unreadable are).
 */
function cli(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}, bound = false): Run {
  const command = bound ? ['setpriv', '--bounding-set=-dac_override,-dac_read_search', process.execPath, bin, ...args] : [process.execPath, bin, ...args];
  const run = spawnSync(command[0]!, command.slice(1), { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '', FORCE_COLOR: undefined, ...env } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const handler = "import { Question } from './models.js';\nexport async function detail(id: number) {\n  return Question.objects.aget({ pk: id });\n}\n";

describe('scan and fix fail closed (child process)', () => {
  let project: TempProject;
  beforeEach(() => {
    project = createTempProject({ 'package.json': '{ "type": "module" }\n', 'models.ts': MODELS_SOURCE, 'detail.ts': handler });
  });
  afterEach(() => {
    chmodSync(project.dir, 0o700);
    project.remove();
  });

  it('a glob that matches nothing exits 2 naming it; --no-error-on-unmatched-pattern makes it a note', () => {
    const run = cli(project.dir, ['scan', 'src/**/*.ts', '--no-types']);
    assert.equal(run.status, 2, run.stdout + run.stderr);
    assert.match(run.stderr, /orm-migrate: error: no files match the pattern src\/\*\*\/\*\.ts/);
    const forgiven = cli(project.dir, ['scan', 'src/**/*.ts', '--no-types', '--no-error-on-unmatched-pattern']);
    assert.equal(forgiven.status, 0, forgiven.stderr);
    assert.match(forgiven.stderr, /orm-migrate: note: no files match the pattern src\/\*\*\/\*\.ts/);
    const fix = cli(project.dir, ['fix', 'src/**/*.ts', '--no-types']);
    assert.equal(fix.status, 2);
    assert.match(fix.stderr, /no files match the pattern src\/\*\*\/\*\.ts[\s\S]*Nothing was changed/);
  });

  it('an unreadable file, an unreadable directory and a dangling link are each reported, exit 2, flag or not', function () {
    const isRoot = process.getuid?.() === 0;
    const hasSetpriv = spawnSync('setpriv', ['--version']).status === 0;
    if (isRoot && !hasSetpriv) {
      console.log('    (skipped: running as root without setpriv, so no file can be made unreadable to the CLI)');
      this.skip();
    }
    project.write('secret.ts', handler);
    mkdirSync(project.path('locked'));
    project.write('locked/inside.ts', handler);
    symlinkSync('nowhere.ts', project.path('dangling.ts'));
    chmodSync(project.path('secret.ts'), 0o000);
    chmodSync(project.path('locked'), 0o000);
    try {
      for (const flags of [[], ['--no-error-on-unmatched-pattern']]) {
        const run = cli(project.dir, ['scan', '.', '--no-types', ...flags], { TMPDIR: tmpdir() }, isRoot);
        assert.equal(run.status, 2, run.stdout + run.stderr);
        assert.match(run.stderr, /orm-migrate: error: cannot read the file secret\.ts \(EACCES\)/);
        assert.match(run.stderr, /orm-migrate: error: cannot read the directory locked \(EACCES\)/);
        assert.match(run.stderr, /orm-migrate: error: cannot read the file dangling\.ts \(ENOENT\)/);
      }
    } finally {
      chmodSync(project.path('locked'), 0o755);
    }
  });

  it('fix outside a git working tree refuses without --force, naming the files, and changes nothing', () => {
    const before = project.read('detail.ts');
    const refused = cli(project.dir, ['fix', '--no-types']);
    assert.equal(refused.status, 2, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /refusing to rewrite 1 file outside a git working tree/);
    assert.match(refused.stderr, /^ {2}detail\.ts$/m);
    assert.match(refused.stderr, /or again with --force\. Nothing was changed\./);
    assert.equal(project.read('detail.ts'), before);
    const forced = cli(project.dir, ['fix', '--no-types', '--force']);
    assert.equal(forced.status, 0, forced.stdout + forced.stderr);
    assert.match(project.read('detail.ts'), /newConnection/);
  });

  it('scan /path/dir uses /path/dir/orm-migrate.config.json, names it in the json output, and rejects a malformed one', () => {
    project.write('orm-migrate.config.json', '{ "rules": { "async-outside-connection": "error" } }\n');
    const elsewhere = tmpdir();
    const run = cli(elsewhere, ['scan', project.dir, '--no-types', '--format', 'json']);
    assert.equal(run.status, 1, run.stderr);
    const document = JSON.parse(run.stdout) as { config: string | null; findings: Array<{ ruleId: string; severity: string }> };
    assert.ok(document.config?.endsWith('orm-migrate.config.json'), String(document.config));
    assert.deepEqual(document.findings.map((finding) => [finding.ruleId, finding.severity]), [['async-outside-connection', 'error']]);
    project.write('orm-migrate.config.json', '{ "rules": { "async-outside-connection": "loud" } }\n');
    const malformed = cli(elsewhere, ['scan', project.dir, '--no-types']);
    assert.equal(malformed.status, 2);
    assert.match(malformed.stderr, /orm-migrate\.config\.json: "rules\.async-outside-connection" must be "off", "warn" or "error"/);
  });

  it('FORCE_COLOR=1 colours piped output; FORCE_COLOR=0 does not', () => {
    assert.match(cli(project.dir, ['scan', '--no-types'], { FORCE_COLOR: '1' }).stdout, ANSI);
    assert.doesNotMatch(cli(project.dir, ['scan', '--no-types'], { FORCE_COLOR: '0' }).stdout, ANSI);
    assert.doesNotMatch(cli(project.dir, ['scan', '--no-types']).stdout, ANSI, 'piped, nothing forced: no colour');
  });

  it("scan's \"can be rewritten\" count is what fix's plan rewrites: fixable findings minus those fix leaves manual", () => {
    const polls = fileURLToPath(new URL('../../fixtures/polls', import.meta.url));
    const json = JSON.parse(cli(polls, ['scan', '.', '--format', 'json']).stdout) as { findings: Array<{ ruleId: string; fixable: boolean }>; summary: { fixable: number } };
    const dry = cli(polls, ['fix', '.', '--dry-run']);
    const manual = [...dry.stderr.matchAll(/^ {2}\S+:\d+:\d+ {2}.*\((?:async-outside-connection|sync-in-async-context|sync-to-async-wrapper)\)(?: \[(\d+) findings\])?$/gm)];
    assert.ok(manual.length > 0, dry.stderr);
    const leftByFix = manual.reduce((sum, match) => sum + Number(match[1] ?? 1), 0);
    const fixableByRule = json.findings.filter((finding) => ['async-outside-connection', 'sync-in-async-context', 'sync-to-async-wrapper'].includes(finding.ruleId)).length;
    assert.equal(json.summary.fixable, fixableByRule - leftByFix);
    // The per-finding flag agrees: only findings fix's plan rewrites are flagged fixable.
    assert.equal(json.findings.filter((finding) => finding.fixable).length, json.summary.fixable);
    assert.match(cli(polls, ['scan', '.']).stdout, new RegExp(`^ {2}${fixableByRule - leftByFix} problems can be rewritten by \`orm-migrate fix\`\\.$`, 'm'));
  });
});
