/**
 * Issue 13 through the real CLI (the built bin in a child process): `scan --preset mikro-orm` and
 * `"preset"` in the config on small projects in a temp directory, in both modes. The projects
 * import the installed @mikro-orm/core and express (node_modules is linked in).
 */
import assert from 'node:assert/strict';
import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTempProject } from '../support/temp-project.js';
import type { TempProject } from '../support/temp-project.js';
import { runCli } from '../support/cli.js';
import type { CliRun } from '../support/cli.js';

const nodeModules = fileURLToPath(new URL('../../node_modules', import.meta.url));
const nestStubs = fileURLToPath(new URL('../../fixtures/rules-mikro-orm/_support/nestjs/', import.meta.url));


const cli = (cwd: string, args: string[]): CliRun => runCli(cwd, args);

interface JsonReport {
  config: string | null;
  findings: { file: string; line: number; ruleId: string; message: string; roots?: { file: string; line: number; name: string | null }[] }[];
}

/** `file:line rule <- root(file:line name)` of every finding of a JSON scan. */
function findings(run: CliRun): string[] {
  assert.ok(run.status === 0 || run.status === 1, `exit ${run.status}\n${run.stdout}\n${run.stderr}`);
  const report = JSON.parse(run.stdout) as JsonReport;
  return report.findings.map((finding) => {
    const roots = finding.roots ? ` <- ${finding.roots.map((root) => `${root.file}:${root.line} ${root.name ?? '(anonymous)'}`).join(', ')}` : '';
    return `${finding.file}:${finding.line} ${finding.ruleId}${roots}`;
  });
}

const TSCONFIG = `${JSON.stringify(
  {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib: ['ES2023'],
      types: ['node'],
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      experimentalDecorators: true,
      paths: {
        '@nestjs/common': ['./stubs/common.d.ts'],
        '@mikro-orm/nestjs': ['./stubs/mikro-orm-nestjs.d.ts'],
      },
    },
    include: ['src/**/*.ts', 'stubs/*.d.ts'],
  },
  null,
  2,
)}\n`;

const ENTITIES = `export class User {
  id!: number;
  email!: string;
}
`;

/** A helper reached from a route under the request-context middleware and from a timer. */
const REPORT = `import type { EntityManager } from '@mikro-orm/core';
import { User } from './entities.js';

export async function countUsers(em: EntityManager): Promise<number> {
  return em.count(User);
}
`;

const JOBS = `import type { MikroORM } from '@mikro-orm/core';
import { countUsers } from './report.js';

export function schedule(orm: MikroORM): void {
  setInterval(async function nightly() {
    console.log(await countUsers(orm.em));
  }, 86_400_000);
}
`;

const JOBS_IN_CONTEXT = `import { RequestContext } from '@mikro-orm/core';
import type { MikroORM } from '@mikro-orm/core';
import { countUsers } from './report.js';

export function schedule(orm: MikroORM): void {
  setInterval(async function nightly() {
    await RequestContext.create(orm.em, async () => {
      console.log(await countUsers(orm.em));
    });
  }, 86_400_000);
}
`;

const APP = `import { RequestContext } from '@mikro-orm/core';
import type { MikroORM } from '@mikro-orm/core';
import express from 'express';
import { countUsers } from './report.js';

export function createApp(orm: MikroORM) {
  const app = express();
  app.use((_req, _res, next) => RequestContext.create(orm.em, next));
  app.get('/users/count', async (_req, res) => {
    res.json({ count: await countUsers(orm.em) });
  });
  return app;
}
`;

function shop(files: Record<string, string> = {}): TempProject {
  const project = createTempProject({
    'package.json': `${JSON.stringify({ name: 'shop', private: true, type: 'module' }, null, 2)}\n`,
    'tsconfig.json': TSCONFIG,
    'src/entities.ts': ENTITIES,
    'src/report.ts': REPORT,
    'src/jobs.ts': JOBS,
    'src/app.ts': APP,
    ...files,
  });
  symlinkSync(nodeModules, join(project.dir, 'node_modules'), 'dir');
  return project;
}

const MODES: { name: string; args: string[] }[] = [
  { name: 'type-aware', args: [] },
  { name: '--no-types', args: ['--no-types'] },
];

const HELPER_FROM_TIMER = 'src/report.ts:5 async-outside-connection <- src/jobs.ts:5 nightly';

describe('orm-migrate scan --preset mikro-orm (issue 13, child process)', function () {
  this.timeout(60_000);
  let project: TempProject | undefined;
  afterEach(() => {
    project?.remove();
    project = undefined;
  });

  for (const mode of MODES) {
    describe(mode.name, () => {
      it('reports the helper the timer reaches outside any RequestContext, names the context and the root, and exits 1', () => {
        project = shop();
        const text = cli(project.dir, ['scan', '--preset', 'mikro-orm', ...mode.args, '.']);
        assert.equal(text.status, 1, text.stdout + text.stderr);
        assert.match(text.stdout, /src\/report\.ts/);
        assert.match(text.stdout, /RequestContext/);
        assert.match(text.stdout, /nightly/, 'the message names the root to wrap');
        assert.doesNotMatch(text.stdout, /newConnection|worker thread/);
        assert.deepEqual(findings(cli(project.dir, ['scan', '--preset', 'mikro-orm', '--format', 'json', ...mode.args, '.'])), [HELPER_FROM_TIMER]);
      });

      it('"preset": "mikro-orm" in the config does the same; --preset runtime overrides it', () => {
        project = shop({ 'orm-migrate.config.json': '{ "preset": "mikro-orm" }\n' });
        const run = cli(project.dir, ['scan', '--format', 'json', ...mode.args]);
        assert.equal(run.status, 1, run.stderr);
        assert.equal((JSON.parse(run.stdout) as JsonReport).config, 'orm-migrate.config.json');
        assert.deepEqual(findings(run), [HELPER_FROM_TIMER]);
        const runtime = cli(project.dir, ['scan', '--preset', 'runtime', '--format', 'json', ...mode.args]);
        assert.equal(runtime.status, 0, runtime.stdout + runtime.stderr);
        assert.deepEqual(findings(runtime), []);
      });

      it('without a preset the default (our runtime) sees no ORM in a MikroORM project: exit 0', () => {
        project = shop();
        const run = cli(project.dir, ['scan', '--format', 'json', ...mode.args]);
        assert.equal(run.status, 0, run.stdout + run.stderr);
        assert.deepEqual(findings(run), []);
      });

      it('the timer that opens a RequestContext itself: exit 0', () => {
        project = shop({ 'src/jobs.ts': JOBS_IN_CONTEXT });
        const run = cli(project.dir, ['scan', '--preset', 'mikro-orm', ...mode.args]);
        assert.equal(run.status, 0, run.stdout + run.stderr);
        assert.match(run.stdout, /No problems found/);
      });

      it('allowGlobalContext: true in MikroORM.init is allow-async-unsafe', () => {
        project = shop({
          'src/db.ts': `import { MikroORM } from '@mikro-orm/core';
import { User } from './entities.js';

export const connect = () =>
  MikroORM.init({ entities: [User], dbName: 'shop.sqlite', allowGlobalContext: true });
`,
        });
        assert.deepEqual(findings(cli(project.dir, ['scan', '--preset', 'mikro-orm', '--format', 'json', ...mode.args])), [
          'src/db.ts:5 allow-async-unsafe',
          HELPER_FROM_TIMER,
        ]);
      });

      it('a project that imports only a driver package that is not installed (MikroORM\'s NestJS example with only @mikro-orm/core present): still reported', () => {
        project = shop({
          'src/report.ts': '',
          'src/jobs.ts': '',
          'src/app.ts': '',
          'src/entities.ts': '',
          'src/config.ts': `// @ts-expect-error -- not installed
import { defineConfig } from '@mikro-orm/mysql';

export default defineConfig({
  dbName: 'shop',
  allowGlobalContext: true,
});
`,
          'src/job.ts': `// @ts-expect-error -- not installed
import { EntityManager } from '@mikro-orm/mysql';

export function schedule(em: EntityManager): void {
  setInterval(async function hourly() {
    console.log(await em.count('User'));
  }, 3_600_000);
}
`,
        });
        assert.deepEqual(findings(cli(project.dir, ['scan', '--preset', 'mikro-orm', '--format', 'json', ...mode.args])), [
          'src/config.ts:6 allow-async-unsafe',
          'src/job.ts:6 async-outside-connection <- src/job.ts:5 hourly',
        ]);
      });

      it('repositories of a registry typed with a driver package that is not installed, on a router without the middleware (MikroORM\'s Express example without its middleware line): every call reported', () => {
        project = shop({
          'src/report.ts': '',
          'src/jobs.ts': '',
          'src/app.ts': '',
          'src/server.ts': `import express from 'express';
// @ts-expect-error -- not installed
import { EntityManager, EntityRepository, MikroORM } from '@mikro-orm/mongodb';
import { User } from './entities.js';
import { usersRouter } from './users.router.js';

export const DI = {} as { orm: MikroORM; em: EntityManager; users: EntityRepository<User> };

export async function start(): Promise<void> {
  DI.orm = await MikroORM.init({ entities: [User] });
  DI.em = DI.orm.em;
  DI.users = DI.orm.em.getRepository(User);
  const app = express();
  app.use('/users', usersRouter);
  app.listen(3000);
}
`,
          'src/users.router.ts': `import { Router } from 'express';
import { DI } from './server.js';

export const usersRouter = Router();

usersRouter.get('/', async (_req, res) => {
  res.json(await DI.users.findAll({ limit: 20 }));
});

usersRouter.post('/', async (req, res) => {
  const user = DI.users.create({ email: String(req.body.email) });
  await DI.em.flush();
  res.json(user);
});
`,
        });
        assert.deepEqual(findings(cli(project.dir, ['scan', '--preset', 'mikro-orm', '--format', 'json', ...mode.args])), [
          'src/users.router.ts:7 async-outside-connection <- src/users.router.ts:6 (anonymous)',
          'src/users.router.ts:11 async-outside-connection <- src/users.router.ts:10 (anonymous)',
          'src/users.router.ts:12 async-outside-connection <- src/users.router.ts:10 (anonymous)',
        ]);
      });

      it('Koa: routers mounted with `router.routes()` on an app after the context middleware (MikroORM\'s Koa example) are inside; mounted before it, outside', () => {
        const server = (middlewareFirst: boolean): string => {
          const middleware = '  app.use((ctx, next) => RequestContext.create(DI.orm.em, next));\n';
          const mount = '  app.use(api.routes());\n';
          return `import Koa from 'koa';
import Router from 'koa-router';
import { MikroORM, RequestContext } from '@mikro-orm/core';
import { User } from './entities.js';
import { usersRouter } from './users.router.js';

export const DI = {} as { orm: MikroORM };
export const app = new Koa();
const api = new Router();
api.use('/users', usersRouter.routes());

export async function start(): Promise<void> {
  DI.orm = await MikroORM.init({ entities: [User] });
${middlewareFirst ? middleware + mount : mount + middleware}  app.listen(3000);
}
`;
        };
        const files = {
          'src/report.ts': '',
          'src/jobs.ts': '',
          'src/app.ts': '',
          'src/users.router.ts': `import Router from 'koa-router';
import { DI } from './server.js';
import { User } from './entities.js';

export const usersRouter = new Router();

usersRouter.get('/', async (ctx) => {
  ctx.body = await DI.orm.em.find(User, {});
});
`,
        };
        project = shop({ ...files, 'src/server.ts': server(true) });
        assert.deepEqual(findings(cli(project.dir, ['scan', '--preset', 'mikro-orm', '--format', 'json', ...mode.args])), []);
        project.remove();
        project = shop({ ...files, 'src/server.ts': server(false) });
        assert.deepEqual(findings(cli(project.dir, ['scan', '--preset', 'mikro-orm', '--format', 'json', ...mode.args])), [
          'src/users.router.ts:8 async-outside-connection <- src/users.router.ts:7 (anonymous)',
        ]);
      });

      it('Fastify: a request hook added after the context hook (MikroORM\'s guide: the auth hook) is inside; added before it, or an onClose hook, outside', () => {
        const app = (contextFirst: boolean): string => {
          const context = '  app.addHook(\'onRequest\', (request, reply, done) => {\n    RequestContext.create(orm.em, done);\n  });\n';
          const auth = '  app.addHook(\'onRequest\', async (request) => {\n    console.log(await orm.em.findOne(User, { id: 1 }));\n  });\n';
          return `import { RequestContext } from '@mikro-orm/core';
import type { MikroORM } from '@mikro-orm/core';
import { fastify } from 'fastify';
import { User } from './entities.js';

export function build(orm: MikroORM) {
  const app = fastify();
${contextFirst ? context + auth : auth + context}  app.addHook('onClose', async () => {
    console.log(await orm.em.count(User));
  });
  return app;
}
`;
        };
        const files = { 'src/report.ts': '', 'src/jobs.ts': '', 'src/app.ts': '' };
        project = shop({ ...files, 'src/server.ts': app(true) });
        assert.deepEqual(findings(cli(project.dir, ['scan', '--preset', 'mikro-orm', '--format', 'json', ...mode.args])), [
          'src/server.ts:15 async-outside-connection <- src/server.ts:14 (anonymous)',
        ]);
        project.remove();
        project = shop({ ...files, 'src/server.ts': app(false) });
        assert.deepEqual(findings(cli(project.dir, ['scan', '--preset', 'mikro-orm', '--format', 'json', ...mode.args])), [
          'src/server.ts:9 async-outside-connection <- src/server.ts:8 (anonymous)',
          'src/server.ts:15 async-outside-connection <- src/server.ts:14 (anonymous)',
        ]);
      });

      it('a NestJS controller is inside when MikroOrmModule registers the request context, outside with registerRequestContext: false', () => {
        const stubs = Object.fromEntries(['common.d.ts', 'mikro-orm-nestjs.d.ts'].map((name) => [`stubs/${name}`, readFileSync(join(nestStubs, name), 'utf8')]));
        const controller = `import { EntityManager } from '@mikro-orm/core';
import { Controller, Get } from '@nestjs/common';
import { User } from './entities.js';

@Controller('users')
export class UsersController {
  constructor(private readonly em: EntityManager) {}

  @Get()
  async list() {
    return this.em.find(User, {});
  }
}
`;
        const module = (options: string) => `import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Module } from '@nestjs/common';
import { UsersController } from './users.controller.js';

@Module({ imports: [MikroOrmModule.forRoot(${options})], controllers: [UsersController] })
export class AppModule {}
`;
        const files = { ...stubs, 'src/users.controller.ts': controller, 'src/report.ts': '', 'src/jobs.ts': '', 'src/app.ts': '' };
        project = shop({ ...files, 'src/app.module.ts': module("{ dbName: 'shop.sqlite' }") });
        assert.deepEqual(findings(cli(project.dir, ['scan', '--preset', 'mikro-orm', '--format', 'json', ...mode.args])), []);
        project.remove();
        project = shop({ ...files, 'src/app.module.ts': module("{ dbName: 'shop.sqlite', registerRequestContext: false }") });
        assert.deepEqual(findings(cli(project.dir, ['scan', '--preset', 'mikro-orm', '--format', 'json', ...mode.args])), [
          'src/users.controller.ts:11 async-outside-connection <- src/users.controller.ts:9 list',
        ]);
      });
    });
  }

  describe('no @mikro-orm package resolves (MikroORM\'s guide app before `npm install`): custom repositories', () => {
    // An interface-typed registry returned by a function (`db.accounts` of `initServices()`) holds a
    // custom repository; only the checker links `db.accounts.dormant()` to its method.
    const guideShaped = (): TempProject =>
      createTempProject({
        'package.json': `${JSON.stringify({ name: 'guide', private: true, type: 'module' }, null, 2)}\n`,
        'tsconfig.json': `${JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true } }, null, 2)}\n`,
        'src/accounts.ts': `import { EntityRepository } from '@mikro-orm/sqlite';

export class AccountRepository extends EntityRepository<{ id: number; active: boolean }> {
  async dormant() {
    return this.find({ active: false });
  }

  async recent() {
    return this.findAll({ limit: 10 });
  }
}
`,
        'src/db.ts': `import { MikroORM, type EntityManager } from '@mikro-orm/sqlite';
import { AccountRepository } from './accounts.js';

export interface Services {
  em: EntityManager;
  accounts: AccountRepository;
}

export function initServices(orm: MikroORM): Services {
  return { em: orm.em, accounts: orm.em.getRepository('Account') as AccountRepository };
}
`,
        'src/jobs.ts': `import type { MikroORM } from '@mikro-orm/sqlite';
import { initServices } from './db.js';

export function schedule(orm: MikroORM): void {
  const db = initServices(orm);
  setInterval(async function nightly() {
    console.log(await db.accounts.dormant());
  }, 86_400_000);
}
`,
      });

    it('type-aware: the timer\'s call through the registry is linked and reported with its root; the method nothing visible calls is not a root', () => {
      project = guideShaped();
      const run = cli(project.dir, ['scan', '--preset', 'mikro-orm', '--format', 'json']);
      assert.deepEqual(findings(run), ['src/accounts.ts:5 async-outside-connection <- src/jobs.ts:6 nightly']);
    });

    it('--no-types: following imports cannot link that call, and no repository method is a root of its own: nothing reported', () => {
      project = guideShaped();
      assert.deepEqual(findings(cli(project.dir, ['scan', '--preset', 'mikro-orm', '--format', 'json', '--no-types'])), []);
    });
  });

  describe('bad presets are usage errors (exit 2)', () => {
    for (const command of ['scan', 'fix', 'gate']) {
      it(`${command} --preset nope names the valid presets`, () => {
        project = shop();
        const run = cli(project.dir, [command, '--preset', 'nope']);
        assert.equal(run.status, 2, run.stdout + run.stderr);
        assert.match(run.stderr, /nope/);
        assert.match(run.stderr, /runtime/);
        assert.match(run.stderr, /mikro-orm/);
      });
    }

    it('"preset": 5 in the config is a ConfigError naming the file and the key', () => {
      project = shop({ 'orm-migrate.config.json': '{ "preset": 5 }\n' });
      const run = cli(project.dir, ['scan']);
      assert.equal(run.status, 2, run.stdout + run.stderr);
      assert.match(run.stderr, /orm-migrate\.config\.json/);
      assert.match(run.stderr, /"?preset"?/);
      assert.match(run.stderr, /mikro-orm/, 'names the valid presets');
      assert.doesNotMatch(run.stderr, /not a known key/);
    });

    it('"preset": "prisma" in package.json "ormMigrate" names ormMigrate.preset', () => {
      project = shop({ 'package.json': `${JSON.stringify({ name: 'shop', type: 'module', ormMigrate: { preset: 'prisma' } })}\n` });
      const run = cli(project.dir, ['scan']);
      assert.equal(run.status, 2, run.stdout + run.stderr);
      assert.match(run.stderr, /package\.json/);
      assert.match(run.stderr, /ormMigrate\.preset/);
      assert.match(run.stderr, /prisma/);
      assert.match(run.stderr, /mikro-orm/, 'names the valid presets');
      assert.doesNotMatch(run.stderr, /not a known key/);
    });
  });
});
