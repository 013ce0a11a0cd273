/**
 * Issue 11 items 9 and 10 through the real CLI: one pathologically deep file is that file's
 * `parse-error` (scan with and without types, fix), and a file that cannot hold a finding is
 * never parsed, so a Flow-typed or binary `.js` never fails the gate.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createTypedProject } from '../support/temp-project.js';
import type { TempProject } from '../support/temp-project.js';

const bin = fileURLToPath(new URL('../../bin/orm-migrate.js', import.meta.url));

interface Finding {
  file: string;
  ruleId: string;
  line: number;
  message: string;
}

function run(cwd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const child = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '' } });
  return { status: child.status, stdout: child.stdout, stderr: child.stderr };
}

function findings(cwd: string, args: string[]): Finding[] {
  const child = run(cwd, ['scan', '.', '--format', 'json', ...args]);
  assert.ok(child.status === 0 || child.status === 1, `scan exited ${child.status}: ${child.stderr}`);
  return (JSON.parse(child.stdout) as { findings: Finding[] }).findings;
}

/** 3,000 nested parentheses: TypeScript's recursive-descent parser runs out of stack on it. */
const DEEP_SOURCE = `import { Question } from './models.js';\nexport const x = ${'('.repeat(3000)}1${')'.repeat(3000)};\nexport async function g() {\n  return Question.objects.aget({ pk: 1 });\n}\n`;
const FINE_SOURCE = "import { Question } from './models.js';\nexport async function f() {\n  return Question.objects.aget({ pk: 1 });\n}\n";

describe('scan and fix on files that break parsers (child process)', () => {
  let project: TempProject;
  afterEach(() => project.remove());

  for (const mode of [[], ['--no-types']]) {
    it(`a file nested too deeply to parse is its own parse-error and the rest is scanned${mode.length ? ' (--no-types)' : ''}`, () => {
      project = createTypedProject({ 'deep.ts': DEEP_SOURCE, 'fine.ts': FINE_SOURCE });
      const found = findings(project.dir, mode).map((finding) => [finding.file, finding.ruleId, finding.line]);
      assert.deepEqual(found, [
        ['deep.ts', 'parse-error', 1],
        ['fine.ts', 'async-outside-connection', 3],
      ]);
      const stylish = run(project.dir, ['scan', '.', ...mode]);
      assert.equal(stylish.status, 1);
      assert.match(stylish.stdout, /^deep\.ts\n {2}1:1 +error +Parsing error: the file is nested too deeply to parse \(Maximum call stack size exceeded\)/m);
    });
  }

  it('a file the parser survives but the binder overflows on is isolated: the other files keep their types', () => {
    // 1,200 nested blocks: parsed, but binding them overflows the stack (in the syntactic walk too).
    const deepBlocks = `import { Question } from './models.js';\nexport function z(a: number) {\n${'if (a) {'.repeat(1200)}a++;${'}'.repeat(1200)}\n}\nexport async function g() {\n  return Question.objects.aget({ pk: 1 });\n}\n`;
    project = createTypedProject({ 'deep.ts': deepBlocks, 'fine.ts': FINE_SOURCE });
    const child = run(project.dir, ['scan', '.', '--format', 'json']);
    const report = JSON.parse(child.stdout) as { mode: string; notes: string[]; findings: Finding[] };
    assert.deepEqual(
      report.findings.map((finding) => [finding.file, finding.ruleId]),
      [
        ['deep.ts', 'parse-error'],
        ['fine.ts', 'async-outside-connection'],
      ],
    );
    assert.equal(report.mode, 'type-aware');
    assert.ok(report.notes.every((note) => !/fine\.ts|models\.ts|program of/.test(note)), report.notes.join('\n'));
  });

  it('fix rewrites the other files and names the deep file as an error of the run', () => {
    project = createTypedProject({ 'deep.ts': DEEP_SOURCE, 'fine.ts': FINE_SOURCE });
    const child = run(project.dir, ['fix', '--force']);
    assert.equal(child.status, 1, child.stderr);
    assert.match(`${child.stdout}${child.stderr}`, /deep\.ts:1:1: Parsing error: the file is nested too deeply to parse/);
    assert.match(child.stdout, /1 file changed, .*1 error/);
    assert.match(project.read('fine.ts'), /return newConnection\(async \(\) => \{/);
    assert.equal(project.read('deep.ts'), DEEP_SOURCE);
  });

  for (const mode of [[], ['--no-types']]) {
    it(`files that cannot hold a finding are never parsed: Flow-typed and binary .js pass the gate${mode.length ? ' (--no-types)' : ''}`, () => {
      project = createTypedProject({
        'flow.js': "// @flow\nimport type { Node } from 'react';\nimport { lookup } from './lookup';\nexport function first(map: Map<string, number>): ?number {\n  return lookup(map).get('a');\n}\n",
        'lookup.js': '// @flow\nexport function lookup<T>(value: T): T {\n  return value;\n}\n',
        'fine.ts': FINE_SOURCE,
      });
      // Random bytes that happen to contain ORM method names.
      const binary = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x7f, 0x80]), Buffer.from(' count( save( get( '), Buffer.from([0xc3, 0x28, 0x00, 0xa0])]);
      project.write('blob.js', binary.toString('latin1'));
      const found = findings(project.dir, mode).map((finding) => [finding.file, finding.ruleId]);
      assert.deepEqual(found, [['fine.ts', 'async-outside-connection']]);
    });
  }

  it('a file that imports the ORM and does not parse is still a parse-error', () => {
    project = createTypedProject({ 'broken.ts': "import { Question } from './models.js';\nexport async function f( {\n  return Question.objects.aget({ pk: 1 });\n}\n" });
    const found = findings(project.dir, []).map((finding) => [finding.file, finding.ruleId]);
    assert.deepEqual(found, [['broken.ts', 'parse-error']]);
  });

  for (const mode of [[], ['--no-types']]) {
    it(`an import of a name its module does not export, spelled like an Object member (toString, constructor), is not the ORM${mode.length ? ' (--no-types)' : ''}`, () => {
      // The export records used to be plain objects: `exports['toString']` found Object.prototype's and the scan crashed.
      project = createTypedProject({
        'lib.ts': "import { Question } from './models.js';\n// (names an ORM method, aget, so the scan reads this file's exports)\nexport const helper = Question;\n",
        'main.ts':
          "import { Question } from './models.js';\n// @ts-ignore: not exported\nimport { toString, constructor } from './lib.js';\nexport async function f() {\n  await toString.aget({ pk: 1 });\n  await constructor.acount();\n  return Question.objects.aget({ pk: 1 });\n}\n",
      });
      const found = findings(project.dir, mode).map((finding) => [finding.file, finding.ruleId, finding.line]);
      assert.deepEqual(found, [['main.ts', 'async-outside-connection', 7]]);
    });
  }
});
