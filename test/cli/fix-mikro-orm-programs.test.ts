/**
 * Issue 11 for the mikro-orm preset, "a fix never changes what a program means": small MikroORM
 * programs run on a real SQLite file (MikroORM 6 with @mikro-orm/better-sqlite, under tsx)
 * before and after `orm-migrate fix --preset mikro-orm` (the built CLI in a child process, both
 * modes). Before, the program runs the legacy way, with `allowGlobalContext: true`; after, it must
 * print the same, exit the same and leave the same rows — and it must do so with MikroORM's check
 * on too (`allowGlobalContext: false`, where the original throws its ValidationError). A second
 * fix changes nothing and tsc finds no new error.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTempProject } from '../support/temp-project.js';
import type { TempProject } from '../support/temp-project.js';
import { runCli } from '../support/cli.js';

const nodeModules = fileURLToPath(new URL('../../node_modules', import.meta.url));
const require = createRequire(import.meta.url);
const tscBin = require.resolve('typescript/bin/tsc');
const VALIDATION_ERROR = /Using global EntityManager instance methods for context specific actions is disallowed/;

const ENTITIES = `import { Collection, EntitySchema } from '@mikro-orm/core';
import type { Ref } from '@mikro-orm/core';

export class Author {
  id!: number;
  name!: string;
  books = new Collection<Book>(this);
}

export class Book {
  id!: number;
  title!: string;
  author!: Ref<Author>;
}

export const AuthorSchema = new EntitySchema<Author>({
  class: Author,
  properties: {
    id: { type: 'number', primary: true },
    name: { type: 'string' },
    books: { kind: '1:m', entity: () => Book, mappedBy: 'author' },
  },
});

export const BookSchema = new EntitySchema<Book>({
  class: Book,
  properties: {
    id: { type: 'number', primary: true },
    title: { type: 'string' },
    author: { kind: 'm:1', entity: () => Author, ref: true },
  },
});
`;

/** STRICT=1 turns MikroORM's global-context check on (the original then throws). */
const DB = `import { MikroORM } from '@mikro-orm/better-sqlite';
import { AuthorSchema, BookSchema } from './entities.js';

export async function initOrm(): Promise<MikroORM> {
  const orm = await MikroORM.init({ dbName: process.env.DB!, entities: [AuthorSchema, BookSchema], allowGlobalContext: process.env.STRICT !== '1', debug: false });
  await orm.schema.refreshDatabase();
  return orm;
}
`;

/** Starts the app on a free port, sends the requests in order, prints each response. */
function serve(requests: string): string {
  return `import { MikroORM } from '@mikro-orm/better-sqlite';
import { initOrm } from './db.js';
import { createApp } from './app.js';
import { Author } from './entities.js';

const orm: MikroORM = await initOrm();
await orm.em.fork().persistAndFlush(Object.assign(new Author(), { name: 'ann' }));
const server = createApp(orm).listen(0);
await new Promise((resolve) => server.once('listening', resolve));
const base = \`http://127.0.0.1:\${(server.address() as { port: number }).port}\`;
const send = async (method: string, path: string, user: string, body?: unknown) => {
  const res = await fetch(base + path, { method, headers: { 'content-type': 'application/json', 'x-user': user }, ...(body ? { body: JSON.stringify(body) } : {}) });
  console.log(method, path, res.status, await res.text());
};
${requests}
server.close();
await orm.close();
`;
}

interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
  rows: string;
}

function project(files: Record<string, string>): TempProject {
  const created = createTempProject({
    'package.json': `${JSON.stringify({ name: 'app', private: true, type: 'module', dependencies: { '@mikro-orm/core': '^6.6.0', '@mikro-orm/better-sqlite': '^6.6.0' } }, null, 2)}\n`,
    'tsconfig.json': `${JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, experimentalDecorators: true, types: ['node'] }, include: ['*.ts'] }, null, 2)}\n`,
    'entities.ts': ENTITIES,
    'db.ts': DB,
    ...files,
  });
  symlinkSync(nodeModules, join(created.dir, 'node_modules'), 'dir');
  return created;
}

/** Runs main.ts on a fresh SQLite file; the rows of every table after it. */
function run(dir: TempProject, strict = false): Outcome {
  const db = dir.path(`db-${Math.random().toString(36).slice(2)}.sqlite`);
  const program = spawnSync(process.execPath, ['--import', 'tsx', 'main.ts'], {
    cwd: dir.dir,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, DB: db, STRICT: strict ? '1' : '0', NODE_NO_WARNINGS: '1' },
  });
  const dump = spawnSync(
    process.execPath,
    ['-e', `const D = require('better-sqlite3'); const db = new D(process.argv[1], { readonly: true }); for (const { name } of db.prepare("select name from sqlite_master where type = 'table' order by name").all()) console.log(name, JSON.stringify(db.prepare('select * from "' + name + '"').all()));`, db],
    { cwd: dir.dir, encoding: 'utf8' },
  );
  return { status: program.status, stdout: program.stdout, stderr: program.stderr, rows: dump.stdout + dump.stderr };
}

function typeErrors(dir: TempProject): string {
  const check = spawnSync(process.execPath, [tscBin, '--noEmit', '-p', 'tsconfig.json'], { cwd: dir.dir, encoding: 'utf8' });
  return check.status === 0 ? '' : check.stdout + check.stderr;
}

function fix(dir: TempProject, mode: readonly string[]): string {
  const result = runCli(dir.dir, ['fix', '--preset', 'mikro-orm', '--force', ...mode]);
  assert.ok(result.status === 0 || result.status === 1, `exit ${result.status}\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

const MODES: { name: string; args: string[] }[] = [
  { name: 'type-aware', args: [] },
  { name: '--no-types', args: ['--no-types'] },
];

/**
 * The program before (legacy, allowGlobalContext), the fix, the program after (both settings of
 * the check): same output, exit and rows; a second fix changes nothing; no new type error.
 */
function sameMeaning(files: Record<string, string>, mode: readonly string[], changed: readonly string[]): { fixed: Record<string, string>; output: string } {
  const dir = project(files);
  try {
    const before = run(dir);
    assert.equal(before.status, 0, before.stderr);
    assert.match(run(dir, true).stderr, VALIDATION_ERROR, 'the original should fail with MikroORM\'s check on');
    const output = fix(dir, mode);
    const fixed = Object.fromEntries(changed.map((file) => [file, dir.read(file)]));
    for (const file of changed) assert.notEqual(fixed[file], files[file], `${file} was not rewritten\n${output}`);
    fix(dir, mode);
    for (const file of changed) assert.equal(dir.read(file), fixed[file], `a second fix changed ${file}`);
    assert.equal(typeErrors(dir), '');
    for (const strict of [false, true]) {
      const after = run(dir, strict);
      assert.deepEqual({ status: after.status, stdout: after.stdout, rows: after.rows }, { status: before.status, stdout: before.stdout, rows: before.rows }, `after the fix (allowGlobalContext: ${!strict})\n${after.stderr}\n${Object.values(fixed).join('\n')}`);
    }
    return { fixed, output };
  } finally {
    dir.remove();
  }
}

describe('orm-migrate fix --preset mikro-orm keeps what a MikroORM program does (real SQLite, child process)', function () {
  this.timeout(180_000);

  for (const mode of MODES) {
    describe(mode.name, () => {
      it('an Express app without a context middleware: the auth middleware that loads req.author and calls next() gets the context, and the handler after it runs in that context (a context of its own lost the rename: its fork never saw req.author)', () => {
        const app = `import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { MikroORM } from '@mikro-orm/better-sqlite';
import { Author } from './entities.js';

type AuthedRequest = Request & { author?: Author };

export function createApp(orm: MikroORM) {
  const app = express();
  app.set('orm', orm);
  app.use(express.json());
  app.use(async (req: AuthedRequest, _res: Response, next: NextFunction) => {
    req.author = (await orm.em.findOne(Author, { name: String(req.headers['x-user']) })) ?? undefined;
    next();
  });
  app.post('/rename', async (req: AuthedRequest, res) => {
    if (!req.author) {
      res.status(401).end();
      return;
    }
    req.author.name = req.body.name;
    await orm.em.flush();
    const again = await orm.em.findOneOrFail(Author, { name: req.body.name });
    res.json({ same: again === req.author });
  });
  app.get('/me', me);
  return app;
}

async function me(req: AuthedRequest, res: Response): Promise<void> {
  const orm = req.app.get('orm') as MikroORM | undefined;
  res.json({ name: req.author?.name ?? null, count: orm ? await orm.em.count(Author) : -1 });
}
`;
        const main = serve(`await send('POST', '/rename', 'ann', { name: 'anne' });\nawait send('GET', '/me', 'anne');\nawait send('POST', '/rename', 'nobody', { name: 'x' });`);
        const { fixed } = sameMeaning({ 'app.ts': app, 'main.ts': main }, mode.args, ['app.ts']);
        // One context, opened by the middleware; the handlers after it are left alone.
        assert.equal(fixed['app.ts']?.match(/RequestContext\.create\(/g)?.length, 1, fixed['app.ts']);
        assert.match(fixed['app.ts'] ?? '', /return RequestContext\.create\(orm\.em, async \(\) => \{\n {6}req\.author = /);
      });

      it('a promise chain in a function that is not async (`loadAuthor(orm, name).then(async (author) => { …; await save(orm) })`): the head and the callback both stay manual, naming each other — a context each lost the rename (two forks)', () => {
        const service = `import { MikroORM } from '@mikro-orm/better-sqlite';
import { Author } from './entities.js';

export async function loadAuthor(orm: MikroORM, name: string): Promise<Author> {
  return orm.em.findOneOrFail(Author, { name });
}

export async function save(orm: MikroORM): Promise<void> {
  await orm.em.flush();
}
`;
        const main = `import { MikroORM } from '@mikro-orm/better-sqlite';
import { initOrm } from './db.js';
import { loadAuthor, save } from './service.js';

export function rename(orm: MikroORM, from: string, to: string): Promise<void> {
  return loadAuthor(orm, from).then(async (author) => {
    author.name = to;
    await save(orm);
  });
}

const orm: MikroORM = await initOrm();
await orm.em.fork().persistAndFlush(orm.em.fork().create('Author', { name: 'ann' }));
await rename(orm, 'ann', 'anne');
await orm.close();
`;
        const dir = project({ 'service.ts': service, 'main.ts': main });
        try {
          const result = runCli(dir.dir, ['fix', '--preset', 'mikro-orm', '--force', ...mode.args]);
          assert.equal(result.status, 1, result.stdout + result.stderr);
          assert.equal(dir.read('service.ts'), service);
          assert.equal(dir.read('main.ts'), main);
          assert.match(result.stdout, /main\.ts:6:\d+ +an anonymous function[^\n]*\n +it continues the promise of `loadAuthor\(\)` \(main\.ts:6\), which is a root of its own/);
          assert.match(result.stdout, /service\.ts:4:1 +`loadAuthor`[^\n]*\n +its promise is continued by another root, the callback at main\.ts:6/);
        } finally {
          dir.remove();
        }
      });

      it('a script whose top level creates the ORM and calls helpers that are roots of their own (`const a = await load(orm, …); a.name = …; await save(orm)`): the top level gets the one context and the helpers none (a context each lost the rename and then threw NotFoundError)', () => {
        const service = `import { MikroORM } from '@mikro-orm/better-sqlite';
import { Author } from './entities.js';

export async function load(orm: MikroORM, name: string): Promise<Author> {
  return orm.em.findOneOrFail(Author, { name });
}

export async function save(orm: MikroORM): Promise<void> {
  await orm.em.flush();
}
`;
        const main = `import { MikroORM } from '@mikro-orm/better-sqlite';
import { AuthorSchema, BookSchema, Author } from './entities.js';
import { load, save } from './service.js';

const orm = await MikroORM.init({ dbName: process.env.DB!, entities: [AuthorSchema, BookSchema], allowGlobalContext: process.env.STRICT !== '1' });
await orm.schema.refreshDatabase();
orm.em.create(Author, { name: 'ann' });
await orm.em.flush();
const a = await load(orm, 'ann');
a.name = 'anne';
await save(orm);
const b = await load(orm, 'anne');
console.log('same', a === b);
await orm.close();
`;
        const { fixed } = sameMeaning({ 'service.ts': service, 'main.ts': main }, mode.args, ['main.ts']);
        assert.match(fixed['main.ts'] ?? '', /^await RequestContext\.create\(orm\.em, async \(\) => \{$/m);
      });

      it('top-level code that imports the ORM and calls two roots (`load`, then `save`): both stay manual, naming the top level and each other — a context each lost the rename', () => {
        const dir = project({
          'orm.ts': `import { MikroORM } from '@mikro-orm/better-sqlite';\nimport { initOrm } from './db.js';\n\nexport const orm: MikroORM = await initOrm();\n`,
          'service.ts': `import { orm } from './orm.js';\nimport { Author } from './entities.js';\n\nexport async function load(name: string): Promise<Author> {\n  return orm.em.findOneOrFail(Author, { name });\n}\n\nexport async function save(): Promise<void> {\n  await orm.em.flush();\n}\n`,
          'main.ts': `import { orm } from './orm.js';\nimport { load, save } from './service.js';\n\nconst a = await load('ann');\na.name = 'anne';\nawait save();\nawait orm.close();\n`,
        });
        try {
          const service = dir.read('service.ts');
          const result = runCli(dir.dir, ['fix', '--preset', 'mikro-orm', '--force', ...mode.args]);
          assert.equal(result.status, 1, result.stdout + result.stderr);
          assert.equal(dir.read('service.ts'), service);
          assert.match(result.stdout, /service\.ts:4:1 +`load`[^\n]*\n +it is called by the top-level code of main\.ts, with `save` \(service\.ts:8\), another root/);
          assert.match(result.stdout, /service\.ts:8:1 +`save`[^\n]*\n +it is called by the top-level code of main\.ts, with `load` \(service\.ts:4\), another root/);
        } finally {
          dir.remove();
        }
      });

      it('a timer callback inside a root (`setTimeout(async () => { a.name = …; await orm.em.flush() })` in a script\'s main): it runs in the context the fix opens around it, so it gets none of its own and stays manual with the reason (a context of its own lost the rename: another fork)', () => {
        const main = `import { MikroORM } from '@mikro-orm/better-sqlite';
import { AuthorSchema, BookSchema, Author } from './entities.js';

export async function main(): Promise<void> {
  const orm = await MikroORM.init({ dbName: process.env.DB!, entities: [AuthorSchema, BookSchema], allowGlobalContext: process.env.STRICT !== '1' });
  await orm.schema.refreshDatabase();
  const a = orm.em.create(Author, { name: 'ann' });
  await orm.em.flush();
  await new Promise<void>((resolve) => {
    setTimeout(async () => {
      a.name = 'anne';
      await orm.em.flush();
      const again = await orm.em.findOneOrFail(Author, { name: 'anne' });
      console.log('same', again === a);
      resolve();
    }, 5);
  });
  await orm.close();
}

await main();
`;
        const { fixed, output } = sameMeaning({ 'main.ts': main }, mode.args, ['main.ts']);
        assert.equal(fixed['main.ts']?.match(/RequestContext\.create\(/g)?.length, 1, fixed['main.ts']);
        assert.match(output, /main\.ts:10:\d+ +an anonymous function[^\n]*\n +it is scheduled inside `main` \(main\.ts:4\), whose RequestContext it inherits at run time/);
      });

      it('named middleware and handler in one route call (`app.post(\'/rename\', auth, rename)`): auth gets the context, rename runs in it, and a second fix leaves rename alone (scan counts a context middleware earlier in the same call)', () => {
        const app = `import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { MikroORM } from '@mikro-orm/better-sqlite';
import { Author } from './entities.js';

type AuthedRequest = Request & { author?: Author };
let orm: MikroORM;

async function auth(req: AuthedRequest, _res: Response, next: NextFunction): Promise<void> {
  req.author = (await orm.em.findOne(Author, { name: String(req.headers['x-user']) })) ?? undefined;
  next();
}

async function rename(req: AuthedRequest, res: Response): Promise<void> {
  if (!req.author) {
    res.status(401).end();
    return;
  }
  req.author.name = req.body.name;
  await orm.em.flush();
  res.json({ ok: true });
}

export function createApp(given: MikroORM) {
  orm = given;
  const app = express();
  app.use(express.json());
  app.post('/rename', auth, rename);
  return app;
}
`;
        const main = serve(`await send('POST', '/rename', 'ann', { name: 'anne' });\nawait send('POST', '/rename', 'nobody', { name: 'x' });`);
        const { fixed } = sameMeaning({ 'app.ts': app, 'main.ts': main }, mode.args, ['app.ts']);
        assert.equal(fixed['app.ts']?.match(/RequestContext\.create\(/g)?.length, 1, fixed['app.ts']);
      });
    });
  }
});
