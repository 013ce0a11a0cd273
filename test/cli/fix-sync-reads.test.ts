/**
 * Issue 11, "a fix never changes what a program means": sync queries other than a sync call or
 * a for…of — a QuerySet iterated by `[...qs]`, `Array.from(qs)`, `const [a, b] = qs` …, and a
 * foreign key read lazily (`choice.question`) — throw SynchronousOnlyOperation inside a block
 * just the same. Scan reports them inside blocks; fix
 * leaves a root manual when its wrap would put one inside the block, naming where and what to
 * write instead. Checked with the real CLI in both modes, and by running a program with the real
 * runtime on a real SQLite file before and after fix.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTypedProject } from '../support/temp-project.js';
import type { TempProject } from '../support/temp-project.js';
import { runCli } from '../support/cli.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tscBin = createRequire(import.meta.url).resolve('typescript/bin/tsc');

const MODES: { name: string; args: string[] }[] = [
  { name: 'type-aware', args: [] },
  { name: '--no-types', args: ['--no-types'] },
];

const MODELS = `import { defineModel, fields } from 'orm-migrate/runtime';

export const Question = defineModel('Question', {
  table: 'polls_question',
  fields: {
    id: fields.autoId(),
    questionText: fields.string({ maxLength: 200 }),
    pubDate: fields.datetime(),
  },
});

export const Choice = defineModel('Choice', {
  table: 'polls_choice',
  fields: {
    id: fields.autoId(),
    question: fields.foreignKey(() => Question, { onDelete: 'cascade' }),
    choiceText: fields.string({ maxLength: 200 }),
    votes: fields.integer({ default: 0 }),
  },
});
`;

/** `file:line rule message` of every finding. */
function findings(cwd: string, ...args: string[]): string[] {
  const run = runCli(cwd, ['scan', '--format', 'json', ...args]);
  assert.ok(run.status === 0 || run.status === 1, run.stderr);
  const report = JSON.parse(run.stdout) as { findings: { file: string; line: number; ruleId: string; message: string }[] };
  return report.findings.map((finding) => `${finding.file}:${finding.line} ${finding.ruleId} ${finding.message}`);
}

describe('sync iterations of a QuerySet besides for…of (issue 11, child process)', function () {
  this.timeout(120_000);

  describe('scan and fix with the CLI', () => {
    let project: TempProject;
    afterEach(() => project?.remove());

    const REPORT = `import { newConnection } from 'orm-migrate/runtime';
import { Choice, Question } from './models.js';

function allChoices() {
  return [...Choice.objects.all()];
}

export async function report(): Promise<number> {
  const questions = await Question.objects.acount();
  return questions + allChoices().length;
}

export async function firstTwo(): Promise<string[]> {
  const questions = await Question.objects.acount();
  const [first, second] = Choice.objects.orderBy('id');
  return [String(questions), first?.choiceText ?? '', second?.choiceText ?? ''];
}

export async function texts(): Promise<string[]> {
  return newConnection(async () => Array.from(Choice.objects.all(), (choice) => choice.choiceText));
}

export async function counted(ids: number[]): Promise<number> {
  const unique = [...new Set(ids)];
  return Question.objects.filter({ id__in: unique }).acount();
}
`;
    for (const mode of MODES) {
      it(`${mode.name}: scan reports the one inside a block; fix leaves the roots whose wrap would bring one inside manual, naming file:line and what to write`, () => {
        project = createTypedProject({ 'models.ts': MODELS, 'report.ts': REPORT });
        const inside = findings(project.dir, ...mode.args).filter((line) => line.includes('sync-in-async-context'));
        assert.deepEqual(inside, [
          'report.ts:20 sync-in-async-context `Array.from(Choice.objects.all(), (choice) => choi…` iterates an ORM QuerySet synchronously inside a newConnection() block: it throws SynchronousOnlyOperation; collect the rows with `for await (const row of qs) rows.push(row)` first (Node 20 has no Array.fromAsync)',
        ]);
        const run = runCli(project.dir, ['fix', '--force', ...mode.args]);
        assert.equal(run.status, 1, run.stdout + run.stderr);
        assert.match(run.stdout, /report\.ts:8:1 +`report` +\(async-outside-connection\)\n +wrapping it would run a sync iteration of a QuerySet \(`\[\.\.\.Choice\.objects\.all\(\)\]`\) \(report\.ts:5\) inside the block, where sync ORM calls throw SynchronousOnlyOperation: it iterates the QuerySet synchronously and no async form keeps its meaning on Node 20 \(`Array\.fromAsync` needs Node 22\): collect the rows first \(`const rows = \[\]; for await \(const row of qs\) rows\.push\(row\);`\) and use `rows` there/);
        assert.match(run.stdout, /report\.ts:13:1 +`firstTwo` +\(async-outside-connection\)\n +wrapping it would run a sync iteration of a QuerySet \(`\[first, second\] = Choice\.objects\.orderBy\('id'\)`\) \(report\.ts:15\)/);
        assert.match(run.stdout, /report\.ts:20:\d+ +a sync iteration of a QuerySet \(`Array\.from/);
        const text = project.read('report.ts');
        assert.match(text, /export async function counted\(ids: number\[\]\): Promise<number> \{\n  return newConnection\(async \(\) => \{\n    const unique = \[\.\.\.new Set\(ids\)\];/, 'a spread of an array is no QuerySet: that root is wrapped');
        assert.match(text, /export async function report\(\): Promise<number> \{\n  const questions = await Question\.objects\.acount\(\);/, 'report is not wrapped');
        assert.match(text, /export async function firstTwo\(\): Promise<string\[\]> \{\n  const questions = await Question\.objects\.acount\(\);/, 'firstTwo is not wrapped');
        assert.match(runCli(project.dir, ['fix', '--force', ...mode.args]).stdout, /0 files changed/);
      });
    }
  });

  describe('lazy foreign-key reads, with the CLI', () => {
    let project: TempProject;
    afterEach(() => project?.remove());

    const READS = `import { newConnection } from 'orm-migrate/runtime';
import type { InstanceOf } from 'orm-migrate/runtime';
import { Choice, Question } from './models.js';

type ChoiceRow = InstanceOf<typeof Choice>;

function questionText(choice: ChoiceRow): string {
  return choice.question.questionText;
}

export async function describeChoice(id: number): Promise<string> {
  const choice = await Choice.objects.aget({ pk: id });
  return \`\${choice.choiceText} (\${questionText(choice)})\`;
}

export async function inBlock(id: number): Promise<number> {
  return newConnection(async () => {
    const choice = await Choice.objects.aget({ pk: id });
    return choice.question.id;
  });
}

export async function relink(id: number, questionId: number): Promise<number> {
  const choice = await Choice.objects.aget({ pk: id });
  choice.question = await Question.objects.aget({ pk: questionId });
  await choice.asave();
  return choice.questionId + choice.votes;
}
`;
    for (const mode of MODES) {
      it(`${mode.name}: scan reports the read inside a block; fix leaves the root whose wrap would bring one inside manual, and wraps the one that only writes the key`, () => {
        project = createTypedProject({ 'models.ts': MODELS, 'reads.ts': READS });
        const inside = findings(project.dir, ...mode.args).filter((line) => line.includes('sync-in-async-context'));
        assert.deepEqual(inside, [
          'reads.ts:19 sync-in-async-context `choice.question` reads a foreign key lazily inside a newConnection() block: unless the related object is cached it runs a sync query, which throws SynchronousOnlyOperation; use `await Question.objects.aget({ pk: choice.questionId })`',
        ]);
        const run = runCli(project.dir, ['fix', '--force', ...mode.args]);
        assert.equal(run.status, 1, run.stdout + run.stderr);
        assert.match(run.stdout, /reads\.ts:11:1 +`describeChoice` +\(async-outside-connection\)\n +wrapping it would run a lazy foreign-key read \(`choice\.question`\) \(reads\.ts:8\) inside the block, where sync ORM calls throw SynchronousOnlyOperation: unless the related object is cached, reading the foreign key runs a sync query: fetch it with `await Question\.objects\.aget\(\{ pk: choice\.questionId \}\)` and use that/);
        assert.match(run.stdout, /reads\.ts:19:\d+ +a lazy foreign-key read \(`choice\.question`\)/);
        const text = project.read('reads.ts');
        assert.match(text, /export async function relink\(id: number, questionId: number\): Promise<number> \{\n  return newConnection\(async \(\) => \{/, 'a write of the key and `questionId` are no lazy reads: that root is wrapped');
        assert.match(text, /export async function describeChoice\(id: number\): Promise<string> \{\n  const choice = await Choice\.objects\.aget/, 'describeChoice is not wrapped');
        assert.match(runCli(project.dir, ['fix', '--force', ...mode.args]).stdout, /0 files changed/);
      });
    }
  });

  describe('a program run with the real runtime on SQLite before and after fix', () => {
    let scratch: string;
    let app: string;
    const APP = `import { Choice, Question } from './models.js';

type ChoiceRow = Awaited<ReturnType<typeof Choice.objects.aget>>;

/** The first two choices and every choice's text, read with sync iterations outside any block. */
export async function summary(): Promise<string> {
  const questions = await Question.objects.acount();
  const [first, second] = Choice.objects.orderBy('id');
  const texts = [...Choice.objects.all()].map((choice) => choice.choiceText);
  const unique = new Set(Array.from(Choice.objects.all(), (choice) => choice.votes));
  return \`\${questions} question(s); first two: \${first?.choiceText}, \${second?.choiceText}; all: \${texts.join(',')}; votes: \${[...unique].join(',')}\`;
}

export async function total(): Promise<number> {
  return Choice.objects.acount();
}

function questionText(choice: ChoiceRow): string {
  return choice.question.questionText;
}

/** A lazy foreign-key read in a helper (a sync get() outside any block). */
export async function describeChoice(id: number): Promise<string> {
  const choice = await Choice.objects.aget({ pk: id });
  return \`\${choice.choiceText} (\${questionText(choice)})\`;
}

/** Writes the key, reads \`questionId\`: no lazy read. */
export async function relink(id: number, questionId: number): Promise<number> {
  const choice = await Choice.objects.aget({ pk: id });
  choice.question = await Question.objects.aget({ pk: questionId });
  await choice.asave();
  return choice.questionId;
}
`;
    const RUN = `import { configure, migrate } from 'orm-migrate/runtime';
import { Choice, Question } from './app/models.js';
import { describeChoice, relink, summary, total } from './app/app.js';

configure({ databases: { default: { engine: 'sqlite', name: process.env.DB as string } } });
migrate();
const question = Question.objects.create({ questionText: 'Best?', pubDate: new Date('2024-01-01T00:00:00Z') });
for (const [text, votes] of [['a', 1], ['b', 2], ['c', 2]] as const) Choice.objects.create({ question, choiceText: text, votes });
const other = Question.objects.create({ questionText: 'Worst?', pubDate: new Date('2024-01-02T00:00:00Z') });
console.log(await summary());
console.log(await total());
console.log(await describeChoice(2));
console.log(await relink(3, other.id));
console.log(await describeChoice(3));
`;

    before(() => {
      // Inside the repository, without a package.json of its own, so 'orm-migrate/runtime' resolves to this package (and tsx is found).
      scratch = join(root, `.fix-sync-reads-${process.pid}`);
      app = join(scratch, 'app');
      const write = (path: string, text: string): void => {
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, text);
      };
      write(join(scratch, 'run.ts'), RUN);
      write(join(app, 'tsconfig.json'), `${JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2023'], types: [], strict: true, noEmit: true, skipLibCheck: true }, include: ['**/*.ts'] }, null, 2)}\n`);
      write(join(app, 'models.ts'), MODELS);
    });
    after(() => rmSync(scratch, { recursive: true, force: true }));

    function runProgram(name: string): { status: number | null; stdout: string; stderr: string } {
      const db = join(scratch, `${name}.sqlite3`);
      rmSync(db, { force: true });
      const run = spawnSync(process.execPath, ['--import', 'tsx', join(scratch, 'run.ts')], { cwd: scratch, encoding: 'utf8', env: { ...process.env, DB: db, NODE_OPTIONS: '', ORM_MIGRATE_WARNINGS: '' } });
      return { status: run.status, stdout: run.stdout, stderr: run.stderr };
    }

    for (const mode of MODES) {
      it(`${mode.name}: the output is the same after fix (summary and describeChoice stay manual, total and relink are wrapped)`, () => {
        writeFileSync(join(app, 'app.ts'), APP);
        const before = runProgram(`before-${mode.name}`);
        assert.equal(before.status, 0, before.stdout + before.stderr);
        assert.equal(before.stdout, '2 question(s); first two: a, b; all: a,b,c; votes: 1,2\n3\nb (Best?)\n2\nc (Worst?)\n');
        const fix = runCli(app, ['fix', '--force', ...mode.args]);
        assert.equal(fix.status, 1, fix.stdout + fix.stderr);
        const after = runProgram(`after-${mode.name}`);
        assert.equal(after.status, 0, after.stdout + after.stderr);
        assert.doesNotMatch(after.stderr, /SynchronousOnlyOperation/);
        assert.equal(after.stdout, before.stdout);
        assert.match(fix.stdout, /app\.ts:6:1 +`summary` +\(async-outside-connection\)\n +wrapping it would run a sync iteration of a QuerySet \(`\[first, second\] = Choice\.objects\.orderBy\('id'\)`\) \(app\.ts:8\) inside the block/);
        const fixed = readFileSync(join(app, 'app.ts'), 'utf8');
        assert.match(fixed, /export async function total\(\): Promise<number> \{\n  return newConnection\(async \(\) => \{/);
        assert.match(fix.stdout, /app\.ts:\d+:1 +`describeChoice` +\(async-outside-connection\)\n +wrapping it would run a lazy foreign-key read \(`choice\.question`\) \(app\.ts:\d+\) inside the block/);
        assert.match(fixed, /export async function relink\(id: number, questionId: number\): Promise<number> \{\n  return newConnection\(async \(\) => \{/);
        const typeCheck = spawnSync(process.execPath, [tscBin, '--noEmit', '-p', app], { encoding: 'utf8' });
        assert.equal(typeCheck.status, 0, `the fixed program type-checks:\n${typeCheck.stdout}`);
      });
    }
  });
});
