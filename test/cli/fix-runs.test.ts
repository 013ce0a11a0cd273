/**
 * Issue 11, "a fix never changes what a program means", checked by running the program: a small
 * app written the way people write them is run with the real runtime on a SQLite file before and
 * after `orm-migrate fix` (the built CLI in a child process, both modes); its output, exit code
 * and every table row must be the same, and a second fix must change nothing. The programs live
 * in a directory of this repository without a package.json of their own, so they resolve
 * 'orm-migrate/runtime' to this package (CommonJS ones by their .cjs extension).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { runCli } from '../support/cli.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

const MODELS = `import { defineModel, fields } from 'orm-migrate/runtime';

export const Question = defineModel('Question', {
  table: 'polls_question',
  fields: { id: fields.autoId(), questionText: fields.string({ maxLength: 200 }), pubDate: fields.datetime() },
});

export const AuditLog = defineModel('AuditLog', {
  table: 'audit_log',
  fields: { id: fields.autoId(), path: fields.string({ maxLength: 200 }), status: fields.integer({ default: 0 }) },
});
`;

const TSCONFIG = `${JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2023'], types: ['node'], strict: true, noEmit: true, skipLibCheck: true } }, null, 2)}\n`;

/** What a run of the program shows: its stdout, its exit code and every row of every table. */
function runProgram(dir: string, entry: string): string {
  for (const file of ['app.sqlite3', 'app.sqlite3-wal', 'app.sqlite3-shm']) rmSync(join(dir, file), { force: true });
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--disable-warning=PendingDeprecationWarning', entry], { cwd: dir, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' }, timeout: 30_000 });
  assert.ok(existsSync(join(dir, 'app.sqlite3')), `the program did not start:\n${run.stdout}${run.stderr}`);
  const db = new Database(join(dir, 'app.sqlite3'), { readonly: true });
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[];
  const rows = tables.map(({ name }) => `${name}: ${JSON.stringify(db.prepare(`SELECT * FROM "${name}" ORDER BY rowid`).all())}`);
  db.close();
  return `${run.stdout}exit ${run.status}\n${rows.join('\n')}`;
}

const MODES: { name: string; args: string[] }[] = [
  { name: 'type-aware', args: [] },
  { name: '--no-types', args: ['--no-types'] },
];

describe('orm-migrate fix keeps what a program does (run before and after, real runtime, child processes)', function () {
  this.timeout(120_000);
  let scratch: string;
  before(() => {
    // Inside the repository so the program resolves 'orm-migrate/runtime' and tsx to this package.
    scratch = join(root, `.fix-runs-${process.pid}`);
    mkdirSync(scratch, { recursive: true });
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  /** Writes the program, runs it, fixes a copy per mode and runs that; returns each mode's fix output. */
  function checkProgram(name: string, files: Record<string, string>, entry = 'main.ts'): Record<string, string> {
    const original = join(scratch, name);
    for (const [relative, text] of Object.entries({ 'tsconfig.json': TSCONFIG, 'models.ts': MODELS, ...files })) {
      mkdirSync(dirname(join(original, relative)), { recursive: true });
      writeFileSync(join(original, relative), text);
    }
    const expected = runProgram(original, entry);
    const fixes: Record<string, string> = {};
    for (const mode of MODES) {
      const copy = join(scratch, `${name}-${mode.name.replace(/\W/g, '')}`);
      cpSync(original, copy, { recursive: true });
      const first = runCli(copy, ['fix', '--force', ...mode.args]);
      assert.ok(first.status === 0 || first.status === 1, first.stderr);
      fixes[mode.name] = first.stdout;
      assert.equal(runProgram(copy, entry), expected, `${mode.name}: the fixed program must do what it did:\n${first.stdout}`);
      const second = runCli(copy, ['fix', '--force', ...mode.args]);
      assert.match(second.stdout, /^0 files changed, /m, `${mode.name}: a second fix changes nothing:\n${second.stdout}`);
    }
    return fixes;
  }

  it('a base class runs a subclass override through `this` inside its transaction: the override gets no block of its own', () => {
    // Before: AuditedService.afterHandle, which nothing calls by name, was wrapped as a root: its
    // block nested in main's, on a connection of its own, waited for main's transaction (database is locked).
    const fixes = checkProgram('override', {
      'base.ts': `import { aatomic } from 'orm-migrate/runtime';
import { AuditLog } from './models.js';

export abstract class Service {
  async handle(path: string): Promise<number> {
    return aatomic(async () => {
      await AuditLog.objects.acreate({ path, status: 1 });
      await this.afterHandle(path);
      return AuditLog.objects.acount();
    });
  }
  protected abstract afterHandle(path: string): Promise<void>;
}
`,
      'audit.ts': `import { Service } from './base.js';
import { AuditLog } from './models.js';

export class AuditedService extends Service {
  protected override async afterHandle(path: string): Promise<void> {
    await AuditLog.objects.acreate({ path: \`after:\${path}\`, status: 2 });
  }
}
`,
      'main.ts': `import { closeAllConnections, configure, migrate } from 'orm-migrate/runtime';
import { AuditedService } from './audit.js';

configure({ databases: { default: { engine: 'sqlite', name: 'app.sqlite3', timeout: 500 } } });
migrate();

export async function main(): Promise<void> {
  console.log(await new AuditedService().handle('audited'));
}
try {
  await main();
} catch (error) {
  console.log('error', (error as Error).message);
}
await closeAllConnections();
`,
    });
    for (const mode of MODES) assert.match(fixes[mode.name] as string, /^1 file changed, 3 unchanged, 0 manual, 0 errors$/m, `${mode.name}:\n${fixes[mode.name]}`);
  });

  it('an ORM call in a root\'s parameter default stays manual, naming it: it runs before the body, outside a block around it', () => {
    // Before: fix wrapped the body, the call stayed outside, and every further fix wrapped it once more.
    const fixes = checkProgram('default-parameter', {
      'stats.ts': `import { Question } from './models.js';

export async function tally(prefix: string, total = Question.objects.filter({ questionText__startswith: prefix }).acount()): Promise<string> {
  return \`\${prefix}: \${await total}\`;
}
`,
      'main.ts': `import { closeAllConnections, configure, migrate } from 'orm-migrate/runtime';
import { Question } from './models.js';
import { tally } from './stats.js';

configure({ databases: { default: { engine: 'sqlite', name: 'app.sqlite3' } } });
migrate();
Question.objects.create({ questionText: 'What?', pubDate: new Date('2024-01-01T00:00:00Z') });

console.log(await tally('What'));
await closeAllConnections();
`,
    });
    for (const mode of MODES) {
      assert.match(fixes[mode.name] as string, /^ {2}stats\.ts:3:1 {2}`tally` {2}\(async-outside-connection\)\n {4}`Question\.objects\.filter\(.*\(\)` \(stats\.ts:3\) is in its parameters \(a default value\), which run before its body, outside a block around it: move the call into the body, then run fix again$/m, `${mode.name}:\n${fixes[mode.name]}`);
      assert.match(fixes[mode.name] as string, /^0 files changed, 3 unchanged, 1 manual, 0 errors$/m, `${mode.name}:\n${fixes[mode.name]}`);
    }
  });

  it('a root that sets a timer whose callback makes a sync ORM call stays manual, naming the call: the callback runs in the block\'s context, where it throws', () => {
    // Before: \`handle\` was wrapped and the timer's create() threw SynchronousOnlyOperation after
    // the block ended (the callback inherits the block as its AsyncLocalStorage context). A timer
    // whose callback is async and awaits the ORM gets a block of its own, and its scheduler one too.
    const fixes = checkProgram('timer', {
      'main.ts': `import { closeAllConnections, configure, migrate } from 'orm-migrate/runtime';
import { EventEmitter } from 'node:events';
import { AuditLog } from './models.js';

configure({ databases: { default: { engine: 'sqlite', name: 'app.sqlite3' } } });
migrate();
const done = new EventEmitter();

export async function handle(path: string): Promise<number> {
  const n = await AuditLog.objects.acount();
  setTimeout(() => {
    AuditLog.objects.create({ path: \`later:\${path}\`, status: n });
    done.emit('written');
  }, 20);
  return n;
}

export async function handleAsync(path: string): Promise<number> {
  const n = await AuditLog.objects.acount();
  setTimeout(async () => {
    await AuditLog.objects.acreate({ path: \`async:\${path}\`, status: n });
    done.emit('written');
  }, 20);
  return n;
}

console.log(await handle('a'));
await new Promise((resolve) => done.once('written', resolve));
console.log(await handleAsync('b'));
await new Promise((resolve) => done.once('written', resolve));
console.log(AuditLog.objects.count());
await closeAllConnections();
`,
    });
    for (const mode of MODES) {
      const output = fixes[mode.name] as string;
      assert.match(output, /^ {2}main\.ts:9:1 {2}`handle` {2}\(async-outside-connection\)\n {4}it hands a callback to a call that runs it later \(a timer, a listener\), which inherits its block as async context, and `AuditLog\.objects\.create\(\)` \(main\.ts:12\) runs there with no block of its own: a sync ORM call throws SynchronousOnlyOperation there, in the block or after it ended; .*$/m, `${mode.name}:\n${output}`);
      assert.match(output, /^fixed main\.ts \(2 blocks added\)$/m, `${mode.name}:\n${output}`);
    }
  });

  it('CommonJS: `service.add()` on `const service = require(\'./service.cjs\')` calls that module\'s export, so it gets no block of its own inside its caller\'s transaction', () => {
    // Before: without types the call was not linked (addQuestion got a block of its own, which
    // waited for main's transaction: database is locked); with types `exports.countAll = async
    // function` was not (its own block read outside main's transaction: 0 rows instead of 1).
    const fixes = checkProgram(
      'commonjs',
      {
        'tsconfig.json': `${JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2023'], types: ['node'], strict: true, noEmit: true, skipLibCheck: true, allowJs: true } }, null, 2)}\n`,
        'models.cjs': `const { defineModel, fields } = require('orm-migrate/runtime');

const Question = defineModel('Question', {
  table: 'polls_question',
  fields: { id: fields.autoId(), questionText: fields.string({ maxLength: 200 }), pubDate: fields.datetime() },
});
module.exports = { Question };
`,
        'service.cjs': `const { aatomic } = require('orm-migrate/runtime');
const { Question } = require('./models.cjs');

/** @param {string} text */
async function addQuestion(text) {
  return aatomic(async () => (await Question.objects.acreate({ questionText: text, pubDate: new Date('2024-01-01T00:00:00Z') })).id);
}

module.exports.addQuestion = addQuestion;
exports.countAll = async function countAll() {
  return Question.objects.acount();
};
`,
        'main.cjs': `const { aatomic, closeAllConnections, configure, migrate } = require('orm-migrate/runtime');
const service = require('./service.cjs');

configure({ databases: { default: { engine: 'sqlite', name: 'app.sqlite3', timeout: 500 } } });
migrate();

async function main() {
  const result = await aatomic(async () => {
    await service.addQuestion('one');
    return service.countAll();
  });
  console.log(result);
}

main()
  .catch((error) => console.log('error', error.message))
  .finally(() => closeAllConnections());
`,
      },
      'main.cjs',
    );
    for (const mode of MODES) assert.match(fixes[mode.name] as string, /^fixed main\.cjs \(1 block added\)\n\n1 file changed, 3 unchanged, 0 manual, 0 errors$/m, `${mode.name}:\n${fixes[mode.name]}`);
  });

  it('`bus.emit(\'created\')` runs the listeners of \'created\' in place: a listener emitted inside a root\'s transaction gets no block of its own', () => {
    // Before: the listener was wrapped as a root of its own, so its write left the emitter's
    // transaction and survived its rollback (3 rows instead of 2).
    const fixes = checkProgram('emit', {
      'events.ts': `import { EventEmitter } from 'node:events';
import { AuditLog } from './models.js';

export const bus = new EventEmitter();

bus.on('created', async (path: string) => {
  await AuditLog.objects.acreate({ path: \`event:\${path}\`, status: 9 });
});
`,
      'main.ts': `import { aatomic, closeAllConnections, configure, migrate } from 'orm-migrate/runtime';
import { AuditLog } from './models.js';
import { bus } from './events.js';

configure({ databases: { default: { engine: 'sqlite', name: 'app.sqlite3', timeout: 1000 } } });
migrate();

export async function create(path: string, fail: boolean): Promise<void> {
  try {
    await aatomic(async () => {
      await AuditLog.objects.acreate({ path, status: 1 });
      bus.emit('created', path);
      await new Promise((resolve) => setTimeout(resolve, 50));
      if (fail) throw new Error('rollback');
    });
  } catch (error) {
    console.log('caught', (error as Error).message);
  }
}

await create('/a', false);
await create('/b', true);
await new Promise((resolve) => setTimeout(resolve, 200));
console.log(AuditLog.objects.count());
await closeAllConnections();
`,
    });
    for (const mode of MODES) {
      const output = fixes[mode.name] as string;
      assert.match(output, /^ {2}events\.ts:6:19 {2}an anonymous function {2}\(async-outside-connection\)\n {4}it is also reached from `create` \(main\.ts:8\), whose block would contain it/m, `${mode.name}:\n${output}`);
      assert.match(output, /^fixed main\.ts \(1 block added\)$/m, `${mode.name}:\n${output}`);
    }
  });
});
