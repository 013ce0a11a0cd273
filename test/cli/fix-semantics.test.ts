/**
 * Issue 11, "a fix never changes what a program means": scan and fix as a user runs them (the
 * built CLI in a child process) on small programs written the way people write them, in both
 * modes (type-aware and --no-types).
 */
import assert from 'node:assert/strict';
import { RUNTIME_STUB, createTypedProject } from '../support/temp-project.js';
import type { TempProject } from '../support/temp-project.js';
import { runCli } from '../support/cli.js';
import type { CliRun } from '../support/cli.js';



const cli = (cwd: string, args: string[]): CliRun => runCli(cwd, args);

interface JsonFinding {
  file: string;
  line: number;
  ruleId: string;
  roots?: { file: string; line: number; name?: string }[];
}

/** `file:line rule` of every finding (and `← root` lines for async-outside-connection). */
function findings(cwd: string, ...args: string[]): string[] {
  const run = cli(cwd, ['scan', '--format', 'json', ...args]);
  assert.ok(run.status === 0 || run.status === 1, run.stderr);
  const report = JSON.parse(run.stdout) as { findings: JsonFinding[] };
  return report.findings.map((finding) => {
    const roots = finding.roots ? ` <- ${finding.roots.map((root) => `${root.file}:${root.line}`).join(',')}` : '';
    return `${finding.file}:${finding.line} ${finding.ruleId}${roots}`;
  });
}

const MODES: { name: string; args: string[] }[] = [
  { name: 'type-aware', args: [] },
  { name: '--no-types', args: ['--no-types'] },
];

describe('orm-migrate scan/fix keep what a program means (issue 11, child process)', function () {
  this.timeout(60_000);
  let project: TempProject;
  afterEach(() => project?.remove());

  describe('for…of counts only over a QuerySet', () => {
    const LOOPS = `import { newConnection } from 'orm-migrate/runtime';
import type { InstanceOf } from 'orm-migrate/runtime';
import { Question } from './models.js';

type Row = InstanceOf<typeof Question>;

export async function letters(id: number): Promise<number> {
  return newConnection(async () => {
    const question = await Question.objects.aget({ pk: id });
    let total = 0;
    for (const letter of question.questionText) total += letter.length;
    for (const tag of question.tags) total += String(tag).length;
    return total;
  });
}

export async function ids(rows: Row | Row[]): Promise<number[]> {
  return newConnection(async () => {
    const found: number[] = [];
    for (const row of Array.isArray(rows) ? rows : [rows]) found.push(row.id);
    return found;
  });
}

export async function votes(): Promise<number> {
  return newConnection(async () => {
    let total = 0;
    const recent = Question.objects.filter({ id: 1 }).orderBy('-pubDate');
    for (const question of recent) total += question.id;
    return total;
  });
}
`;
    const JSON_MODELS = `import { defineModel, fields } from 'orm-migrate/runtime';

export const Question = defineModel('Question', {
  table: 'polls_question',
  fields: { id: fields.autoId(), questionText: fields.string({ maxLength: 200 }), tags: fields.json<any>(), pubDate: fields.datetime() },
});
`;
    for (const mode of MODES) {
      it(`${mode.name}: a string field, a json field and a Row | Row[] parameter are not QuerySets; fix leaves those loops alone`, () => {
        project = createTypedProject({ 'models.ts': JSON_MODELS, 'loops.ts': LOOPS });
        assert.deepEqual(findings(project.dir, ...mode.args), ['loops.ts:29 sync-in-async-context']);
        const run = cli(project.dir, ['fix', '--force', ...mode.args]);
        assert.equal(run.status, 0, run.stdout + run.stderr);
        const fixed = project.read('loops.ts');
        assert.equal(fixed, LOOPS.replace('for (const question of recent)', 'for await (const question of recent)'));
      });
    }
  });

  describe('a function handed to a call that runs it later is its own root', () => {
    const SERVER = `import { Question } from './models.js';

declare const emitter: { on(event: string, listener: () => Promise<void>): void };
declare const router: { get(path: string, handler: (id: number) => Promise<unknown>): void };
declare function setTimeout(callback: () => void, ms: number): unknown;

export async function show(id: number) {
  return Question.objects.aget({ pk: id });
}

export async function start(): Promise<void> {
  await Question.objects.acount();
  setTimeout(async () => {
    await Question.objects.aget({ pk: 1 });
  }, 10);
  emitter.on('vote', async () => {
    await Question.objects.acount();
  });
  router.get('/questions/:id', show);
  const all = await Promise.all([1, 2].map(async (pk) => Question.objects.aget({ pk })));
  if (all.length !== 2) throw new Error('two questions');
}
`;
    const SERVER_FIXED = `import { Question } from './models.js';
import { newConnection } from 'orm-migrate/runtime';

declare const emitter: { on(event: string, listener: () => Promise<void>): void };
declare const router: { get(path: string, handler: (id: number) => Promise<unknown>): void };
declare function setTimeout(callback: () => void, ms: number): unknown;

export async function show(id: number) {
  return newConnection(async () => {
    return Question.objects.aget({ pk: id });
  });
}

export async function start(): Promise<void> {
  return newConnection(async () => {
    await Question.objects.acount();
    setTimeout(async () => {
      return newConnection(async () => {
        await Question.objects.aget({ pk: 1 });
      });
    }, 10);
    emitter.on('vote', async () => {
      return newConnection(async () => {
        await Question.objects.acount();
      });
    });
    router.get('/questions/:id', show);
    const all = await Promise.all([1, 2].map(async (pk) => Question.objects.aget({ pk })));
    if (all.length !== 2) throw new Error('two questions');
  });
}
`;
    const SUITE = `import { Question } from '../models.js';

declare function describe(name: string, body: () => void): void;
declare function it(name: string, body: () => Promise<void>): void;
declare function before(body: () => Promise<void>): void;

describe('questions', () => {
  before(async () => {
    await Question.objects.acreate({ questionText: 'Why?' });
  });

  it('counts', async () => {
    if ((await Question.objects.acount()) !== 1) throw new Error('one question');
  });
});
`;
    for (const mode of MODES) {
      it(`${mode.name}: setTimeout, emitter.on and router.get callbacks and mocha's it/before callbacks are roots (not the function or describe that registers them)`, () => {
        project = createTypedProject({ 'server.ts': SERVER, 'test/questions.test.ts': SUITE });
        assert.deepEqual(findings(project.dir, ...mode.args), [
          'server.ts:8 async-outside-connection <- server.ts:7',
          'server.ts:12 async-outside-connection <- server.ts:11',
          'server.ts:14 async-outside-connection <- server.ts:13',
          'server.ts:17 async-outside-connection <- server.ts:16',
          'server.ts:20 async-outside-connection <- server.ts:11',
          'test/questions.test.ts:9 async-outside-connection <- test/questions.test.ts:8',
          'test/questions.test.ts:13 async-outside-connection <- test/questions.test.ts:12',
        ]);
        const run = cli(project.dir, ['fix', '--force', ...mode.args]);
        assert.equal(run.status, 0, run.stdout + run.stderr);
        assert.equal(project.read('server.ts'), SERVER_FIXED);
        const suite = project.read('test/questions.test.ts');
        assert.match(suite, /^describe\('questions', \(\) => \{\n  before\(async \(\) => \{\n    return newConnection\(async \(\) => \{$/m);
        assert.match(suite, /^  it\('counts', async \(\) => \{\n    return newConnection\(async \(\) => \{$/m);
        assert.equal(cli(project.dir, ['fix', '--force', ...mode.args]).stdout.trim().split('\n').pop(), '0 files changed, 3 unchanged, 0 manual, 0 errors');
      });
    }
  });

  describe('the connection function is always a real one, imported from a module that exports it', () => {
    /** A local ORM module: the runtime's declarations without newConnection. */
    const LOCAL_ORM = RUNTIME_STUB.split('\n').filter((line) => !line.includes('newConnection')).join('\n');
    const SHOW = `import { Question } from './models.js';

export async function show(id: number) {
  return Question.objects.aget({ pk: id });
}
`;
    const localProject = (config: object, files: Record<string, string> = {}): TempProject =>
      createTypedProject({
        'lib/db.d.ts': LOCAL_ORM,
        'models.ts': "import { defineModel, fields } from './lib/db.js';\n\nexport const Question = defineModel('Question', { table: 'q', fields: { id: fields.autoId() } });\n",
        'orm-migrate.config.json': `${JSON.stringify(config)}\n`,
        'show.ts': SHOW,
        ...files,
      });

    for (const mode of MODES) {
      it(`${mode.name}: ormModules names a local module without newConnection: fix imports it from orm-migrate/runtime, and a second fix changes nothing`, () => {
        project = localProject({ ormModules: ['./lib/db.js'] });
        const first = cli(project.dir, ['fix', '--force', ...mode.args]);
        assert.equal(first.status, 0, first.stdout + first.stderr);
        assert.equal(project.read('show.ts'), SHOW.replace("import { Question } from './models.js';\n", "import { Question } from './models.js';\nimport { newConnection } from 'orm-migrate/runtime';\n").replace('  return Question.objects.aget({ pk: id });', '  return newConnection(async () => {\n    return Question.objects.aget({ pk: id });\n  });'));
        const second = cli(project.dir, ['fix', '--force', ...mode.args]);
        assert.match(second.stdout, /^0 files changed, 2 unchanged, 0 manual, 0 errors$/m, second.stdout + second.stderr);
        assert.deepEqual(findings(project.dir, ...mode.args), []);
      });

      it(`${mode.name}: an import of newConnection from a module that does not export it is not the connection function`, () => {
        project = localProject({ ormModules: ['./lib/db.js'] }, { 'show.ts': `import { newConnection } from './lib/db.js';\n${SHOW.replace('  return Question.objects.aget({ pk: id });', '  return newConnection(async () => Question.objects.aget({ pk: id }));')}` });
        assert.deepEqual(findings(project.dir, ...mode.args), ['show.ts:5 async-outside-connection <- show.ts:4']);
      });

      it(`${mode.name}: a configured connection module that does not export the function leaves the roots manual, naming it`, () => {
        project = localProject({ ormModules: ['./lib/db.js'], connection: { module: './lib/db.js' } });
        const run = cli(project.dir, ['fix', '--force', ...mode.args]);
        assert.equal(run.status, 1, run.stdout + run.stderr);
        assert.match(run.stdout, /the connection function `newConnection` is not exported by \.\/lib\/db\.js/);
        assert.equal(project.read('show.ts'), SHOW);
      });
    }
  });

  describe('imports the fix adds match the file\'s own relative imports', () => {
    const BUNDLER_TSCONFIG = `${JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2023'], types: [], strict: true, noEmit: true, skipLibCheck: true } })}\n`;
    const handler = (models: string) => `import { Question } from '${models}';

export async function show(id: number) {
  return Question.objects.aget({ pk: id });
}
`;
    for (const mode of MODES) {
      it(`${mode.name}: extensionless imports get '../lib' (no /index, no .js); .js imports get '../lib/index.js'`, () => {
        project = createTypedProject({
          'tsconfig.json': BUNDLER_TSCONFIG,
          'lib/index.d.ts': RUNTIME_STUB,
          'models.ts': "import { defineModel, fields } from './lib';\n\nexport const Question = defineModel('Question', { table: 'q', fields: { id: fields.autoId() } });\n",
          'orm-migrate.config.json': '{ "ormModules": ["./lib"] }\n',
          'handlers/bare.ts': handler('../models'),
          'handlers/dotted.ts': handler('../models.js'),
        });
        const run = cli(project.dir, ['fix', '--force', ...mode.args]);
        assert.equal(run.status, 0, run.stdout + run.stderr);
        assert.match(project.read('handlers/bare.ts'), /^import \{ Question \} from '\.\.\/models';\nimport \{ newConnection \} from '\.\.\/lib';$/m);
        assert.match(project.read('handlers/dotted.ts'), /^import \{ Question \} from '\.\.\/models\.js';\nimport \{ newConnection \} from '\.\.\/lib\/index\.js';$/m);
        assert.match(cli(project.dir, ['fix', '--force', ...mode.args]).stdout, /^0 files changed, 3 unchanged, 0 manual, 0 errors$/m);
      });
    }
  });

  describe('"connection": { "callbackArgument" } says which argument is the callback', () => {
    const TX = `import { newConnection } from 'orm-migrate/runtime';

export function transaction<R>(isolation: string, work: () => Promise<R>): Promise<R> {
  return newConnection(work);
}
`;
    const REPORT = `import { transaction } from './lib/tx.js';
import { Question } from './models.js';

export async function report(): Promise<number> {
  return transaction('READ UNCOMMITTED', async () => {
    await Question.objects.aget({ pk: 1 });
    return Question.objects.count();
  });
}

export async function show(id: number) {
  return Question.objects.aget({ pk: id });
}
`;
    const config = { connection: { module: './lib/tx.js', name: 'transaction', callbackArgument: 1 } };
    for (const mode of MODES) {
      it(`${mode.name}: scan sees the callback at that index inside; fix makes the count async there and leaves roots manual (it cannot choose the leading arguments)`, () => {
        project = createTypedProject({ 'lib/tx.ts': TX, 'report.ts': REPORT, 'orm-migrate.config.json': `${JSON.stringify(config)}\n` });
        assert.deepEqual(findings(project.dir, ...mode.args), ['report.ts:7 sync-in-async-context', 'report.ts:12 async-outside-connection <- report.ts:11']);
        const run = cli(project.dir, ['fix', '--force', ...mode.args]);
        assert.equal(run.status, 1, run.stdout + run.stderr);
        assert.match(run.stdout, /report\.ts:11:1 +`show` +\(async-outside-connection\)\n +the connection function `transaction` takes its callback as argument 2/);
        assert.equal(project.read('report.ts'), REPORT.replace('return Question.objects.count();', 'return await Question.objects.acount();'));
      });
    }

    it('a bad callbackArgument exits 2 naming the key', () => {
      for (const bad of [-1, '1', 1.5, 99]) {
        project = createTypedProject({ 'report.ts': REPORT, 'orm-migrate.config.json': `${JSON.stringify({ connection: { name: 'transaction', callbackArgument: bad } })}\n` });
        const run = cli(project.dir, ['scan']);
        assert.equal(run.status, 2, `${JSON.stringify(bad)}: ${run.stdout}${run.stderr}`);
        assert.match(run.stderr, /orm-migrate\.config\.json: "connection\.callbackArgument" must be the 0-based index of the callback argument/);
        project.remove();
      }
    });
  });

  it('a callback that runs later and is not async stays manual, saying why', () => {
    project = createTypedProject({
      'timer.ts': `import { Question } from './models.js';

declare function setTimeout(callback: () => void, ms: number): unknown;

export async function start(): Promise<void> {
  setTimeout(() => Question.objects.aget({ pk: 1 }), 10);
}
`,
    });
    const run = cli(project.dir, ['fix', '--force']);
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /timer\.ts:6:14 +an anonymous function +\(async-outside-connection\)\n +it is a callback that runs later \(its caller does not wait for it\) and is not async/);
  });

  describe('a root that calls itself', () => {
    const TREE = `import { Question } from './models.js';

export async function depth(n: number): Promise<number> {
  const here = await Question.objects.filter({ pk__gte: n }).acount();
  return n === 0 ? here : here + (await depth(n - 1));
}

export async function ping(n: number): Promise<number> {
  await Question.objects.aexists();
  return n <= 0 ? 0 : pong(n - 1);
}

async function pong(n: number): Promise<number> {
  return ping(n);
}

export async function flat(): Promise<number> {
  return Question.objects.acount();
}
`;
    for (const mode of MODES) {
      it(`${mode.name}: stays manual, saying why: a block of its own would open one more block, on a connection of its own, at every level`, () => {
        project = createTypedProject({ 'tree.ts': TREE });
        const run = cli(project.dir, ['fix', '--force', ...mode.args]);
        assert.equal(run.status, 1, run.stdout + run.stderr);
        assert.match(run.stdout, /tree\.ts:3:1 +`depth` +\(async-outside-connection\)\n +it calls itself \(recursion outside every block\): a block of its own would open another block, with a connection of its own, at every level/);
        assert.match(run.stdout, /tree\.ts:13:1 +`pong` +\(async-outside-connection\)\n +it calls itself/);
        const text = project.read('tree.ts');
        assert.match(text, /export async function flat\(\): Promise<number> \{\n  return newConnection\(async \(\) => \{/, 'a root that does not recurse is still wrapped');
        assert.equal(text.replace(/^import \{ newConnection \} from 'orm-migrate\/runtime';\n/m, '').replace(/  return newConnection\(async \(\) => \{\n    return Question\.objects\.acount\(\);\n  \}\);/, '  return Question.objects.acount();'), TREE, 'the recursive roots are not wrapped');
        const again = cli(project.dir, ['fix', '--force', ...mode.args]);
        assert.match(again.stdout, /0 files changed/);
      });
    }
  });

  describe('a sync call that only the checker knows is the ORM, in a function a wrap puts inside a block', () => {
    const RENAME = `import { Question } from './models.js';

export async function renameAll(text: string): Promise<number> {
  const items = [];
  for await (const question of Question.objects.all()) items.push(question);
  for (const question of items) {
    question.questionText = text;
    question.save();
  }
  return items.length;
}
`;
    it('type-aware: the first fix makes it async with the wrap (it threw SynchronousOnlyOperation inside the new block, and a second fix rewrote it)', () => {
      project = createTypedProject({ 'rename.ts': RENAME });
      const run = cli(project.dir, ['fix', '--force']);
      assert.equal(run.status, 0, run.stdout + run.stderr);
      const text = project.read('rename.ts');
      assert.match(text, /  return newConnection\(async \(\) => \{\n/);
      assert.match(text, /\n      await question\.asave\(\);\n/);
      assert.doesNotMatch(text, /question\.save\(\)/);
      assert.match(cli(project.dir, ['fix', '--force']).stdout, /0 files changed/);
      assert.deepEqual(findings(project.dir), [], 'nothing left to report');
    });
  });

  describe('a helper that a root reaches and a sync function also calls', () => {
    const HELPERS = `import { Question } from './models.js';

export async function getQuestion(id: number) {
  return Question.objects.aget({ pk: id });
}
`;
    const VIEWS = `import { aatomic } from 'orm-migrate/runtime';
import { getQuestion } from './helpers.js';

export async function detail(id: number) {
  return aatomic(async () => getQuestion(id));
}

export function legacy(id: number) {
  return getQuestion(id);
}
`;
    for (const mode of MODES) {
      it(`${mode.name}: fix wraps the root and leaves the helper manual, naming the root: a block of its own would move its query out of the root's transaction`, () => {
        project = createTypedProject({ 'helpers.ts': HELPERS, 'views.ts': VIEWS });
        assert.deepEqual(findings(project.dir, ...mode.args), ['helpers.ts:4 async-outside-connection <- helpers.ts:3,views.ts:4', 'views.ts:5 async-outside-connection <- views.ts:4']);
        const run = cli(project.dir, ['fix', '--force', ...mode.args]);
        assert.equal(run.status, 1, run.stdout + run.stderr);
        assert.equal(project.read('helpers.ts'), HELPERS, 'the helper is not wrapped');
        assert.match(project.read('views.ts'), /export async function detail\(id: number\) \{\n  return newConnection\(async \(\) => \{\n    return aatomic\(async \(\) => getQuestion\(id\)\);\n  \}\);\n\}/);
        assert.match(run.stdout, /helpers\.ts:3:1 +`getQuestion` +\(async-outside-connection\)\n +it is also reached from `detail` \(views\.ts:4\), whose block would contain it/);
        const again = cli(project.dir, ['fix', '--force', ...mode.args]);
        assert.match(again.stdout, /0 files changed/);
        assert.match(again.stdout, /helpers\.ts:3:1 +`getQuestion` +\(async-outside-connection\)\n +it is also called inside a newConnection\(\) block \(from the callback at views\.ts:6\)/);
        assert.equal(project.read('helpers.ts'), HELPERS, 'a second fix does not wrap the helper either');
      });
    }
  });

  describe('recursion is not "inside a block"', () => {
    const WALK = `import { newConnection } from 'orm-migrate/runtime';
import { Question } from './models.js';

export function walk(depth: number): number {
  if (depth === 0) return Question.objects.count();
  return walk(depth - 1);
}

export function ping(n: number): number {
  return n <= 0 ? Question.objects.count() : pong(n - 1);
}

function pong(n: number): number {
  return ping(n);
}

export async function awalk(depth: number): Promise<number> {
  if (depth === 0) return Question.objects.acount();
  return awalk(depth - 1);
}

function inner(depth: number): number {
  if (depth === 0) return Question.objects.count();
  return inner(depth - 1);
}

export async function grounded(): Promise<number> {
  return newConnection(async () => inner(3));
}
`;
    for (const mode of MODES) {
      it(`${mode.name}: a self- or mutually recursive function without a block caller is outside; recursion under a block stays inside`, () => {
        project = createTypedProject({ 'walk.ts': WALK });
        assert.deepEqual(findings(project.dir, ...mode.args), [
          'walk.ts:18 async-outside-connection <- walk.ts:17',
          'walk.ts:23 sync-in-async-context',
        ]);
      });
    }
  });
});
