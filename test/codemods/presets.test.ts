/** Presets: the config key, the --preset override, the keys a preset rejects, and what each preset runs. */
import assert from 'node:assert/strict';
import { readFileSync, symlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, defaultConfig, loadConfig, scan, validateConfig } from '../../src/codemods/index.js';
import { PRESET_NAMES, presetByName } from '../../src/codemods/presets/index.js';
import { createTempProject } from '../support/temp-project.js';
import type { TempProject } from '../support/temp-project.js';

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error;
  }
  assert.fail('expected a ConfigError');
}

describe('presets: config', () => {
  it('defaults to the runtime preset, whose defaults are today’s', () => {
    const config = validateConfig({}, 'x.json');
    assert.equal(config.preset, 'runtime');
    assert.deepEqual(config.ormModules, defaultConfig().ormModules);
    assert.deepEqual(config.ormModules, ['orm-migrate/runtime']);
  });

  it('"preset": "mikro-orm" takes the preset’s ORM modules, and "ormModules" adds to them', () => {
    const config = validateConfig({ preset: 'mikro-orm' }, 'x.json');
    assert.equal(config.preset, 'mikro-orm');
    assert.deepEqual(config.ormModules, ['@mikro-orm/core', '@mikro-orm/*']);
    assert.deepEqual(validateConfig({ preset: 'mikro-orm', ormModules: ['./db'] }, 'x.json').ormModules, ['@mikro-orm/core', '@mikro-orm/*', './db']);
  });

  it('an unknown preset names the file, the key and the valid presets', () => {
    const error = configError(() => validateConfig({ preset: 'prisma' }, 'orm-migrate.config.json'));
    assert.equal(error.message, `orm-migrate.config.json: "preset" must be one of the presets: ${PRESET_NAMES.join(', ')} (got "prisma")`);
    assert.match(configError(() => validateConfig({ preset: 3 }, 'x.json')).message, /"preset" must be one of the presets: runtime, mikro-orm \(got 3\)/);
  });

  it('the runtime-only keys ("methods", "connection") are errors under another preset, from the file or from --preset', () => {
    assert.equal(
      configError(() => validateConfig({ preset: 'mikro-orm', connection: { name: 'x' } }, 'orm-migrate.config.json')).message,
      'orm-migrate.config.json: "connection" only applies to the "runtime" preset, not to "preset": "mikro-orm": remove it',
    );
    assert.equal(
      configError(() => validateConfig({ methods: { aget: 'get' } }, 'package.json', 'ormMigrate.', 'mikro-orm')).message,
      'package.json: "ormMigrate.methods" only applies to the "runtime" preset, not to --preset mikro-orm: remove it',
    );
    // The runtime preset keeps them.
    assert.equal(validateConfig({ preset: 'runtime', connection: { name: 'open' } }, 'x.json').connection.name, 'open');
  });

  it('a rule the preset does not run may only be turned off', () => {
    assert.match(
      configError(() => validateConfig({ preset: 'mikro-orm', rules: { 'floating-async-call': 'warn' } }, 'x.json')).message,
      /^x\.json: "rules\.floating-async-call" does not run under the "mikro-orm" preset \(its rules: async-outside-connection, allow-async-unsafe\)/,
    );
    assert.equal(validateConfig({ preset: 'mikro-orm', rules: { 'floating-async-call': 'off', 'allow-async-unsafe': 'error' } }, 'x.json').rules['allow-async-unsafe'], 'error');
  });

  it('--preset overrides the file’s preset (and works without a file)', () => {
    const project = createTempProject({ 'orm-migrate.config.json': '{ "preset": "runtime" }\n', 'a.ts': '' });
    try {
      assert.equal(loadConfig(project.dir).preset, 'runtime');
      assert.equal(loadConfig(project.dir, undefined, ['.'], 'mikro-orm').preset, 'mikro-orm');
      assert.equal(loadConfig(project.dir, 'orm-migrate.config.json', ['.'], 'mikro-orm').preset, 'mikro-orm');
      project.write('orm-migrate.config.json', '{ "preset": "mikro-orm" }\n');
      assert.equal(loadConfig(project.dir).preset, 'mikro-orm');
      assert.equal(loadConfig(project.dir, undefined, ['.'], 'runtime').preset, 'runtime');
    } finally {
      project.remove();
    }
    const bare = createTempProject({ 'package.json': '{}\n' });
    try {
      assert.equal(loadConfig(bare.dir, undefined, ['.'], 'mikro-orm').preset, 'mikro-orm');
    } finally {
      bare.remove();
    }
  });

  it('each preset names its rules, modules and wording', () => {
    assert.deepEqual(presetByName('mikro-orm').rules, ['async-outside-connection', 'allow-async-unsafe']);
    assert.equal(presetByName('runtime').rules.length, 5);
    assert.equal(presetByName('mikro-orm').wording.context, 'RequestContext');
    const hatch = presetByName('mikro-orm').escapeHatch;
    assert.deepEqual([hatch.env, hatch.options, hatch.envOnValues], [['MIKRO_ORM_ALLOW_GLOBAL_CONTEXT'], ['allowGlobalContext'], ['true', 't', '1']]);
  });
});

/** A throwaway MikroORM project: the installed @mikro-orm/core is linked in, so type-aware mode resolves it. */
function mikroProject(files: Record<string, string>): TempProject {
  const project = createTempProject({
    'package.json': '{ "name": "p", "private": true, "type": "module" }\n',
    'orm-migrate.config.json': '{ "preset": "mikro-orm" }\n',
    'tsconfig.json': `${JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, experimentalDecorators: true, types: [] } })}\n`,
    'src/entities.ts': 'export class User {\n  id!: number;\n  email!: string;\n}\n',
    ...files,
  });
  symlinkSync(nodeModules, join(project.dir, 'node_modules'), 'dir');
  return project;
}

/** `file:line <- root names` of every finding, in one mode. */
async function scanned(project: TempProject, types: boolean): Promise<string[]> {
  const result = await scan({ cwd: project.dir, types });
  assert.equal(result.mode, types ? 'type-aware' : 'syntactic', result.notes.join('\n'));
  return result.findings.map((finding) => `${relative(project.dir, finding.file)}:${finding.line} ${finding.ruleId}${finding.roots ? ` <- ${finding.roots.map((root) => root.name ?? `line ${root.line}`).join(', ')}` : ''}`);
}

const nodeModules = fileURLToPath(new URL('../../node_modules', import.meta.url));

describe('presets: the mikro-orm scan (temp projects, both modes)', function () {
  this.timeout(60_000);
  let project: TempProject | undefined;
  afterEach(() => {
    project?.remove();
    project = undefined;
  });

  for (const types of [true, false]) {
    const mode = types ? 'type-aware' : 'syntactic';

    it(`${mode}: Koa and Fastify context middleware cover the routes registered after them, not before`, async () => {
      project = mikroProject({
        'src/koa.ts': `import { RequestContext } from '@mikro-orm/core';
import type { MikroORM } from '@mikro-orm/core';
import { User } from './entities.js';

export function routes(router: any, orm: MikroORM) {
  router.get('/early', async (ctx: any) => {
    ctx.body = await orm.em.count(User);
  });
  router.use((_ctx: any, next: () => Promise<void>) => RequestContext.create(orm.em, next));
  router.get('/users', async (ctx: any) => {
    ctx.body = await orm.em.find(User, {});
  });
  router.route('/posts').get(async (ctx: any) => {
    ctx.body = await orm.em.find(User, {});
  });
}
`,
        'src/fastify.ts': `import { RequestContext } from '@mikro-orm/core';
import type { MikroORM } from '@mikro-orm/core';
import { User } from './entities.js';

export function register(app: any, orm: MikroORM) {
  app.addHook('onRequest', (_request: any, _reply: any, done: () => void) => {
    RequestContext.create(orm.em, done);
  });
  app.get('/users', async () => orm.em.find(User, {}));
}
`,
      });
      assert.deepEqual(await scanned(project, types), ['src/koa.ts:7 async-outside-connection <- line 6']);
    });

    it(`${mode}: Fastify plugins registered after the context hook run inside it (a named plugin in another module, an inline one); before it, outside`, async () => {
      project = mikroProject({
        'src/user.routes.ts': `import type { MikroORM } from '@mikro-orm/core';
import { User } from './entities.js';

export let orm: MikroORM;
export async function registerUserRoutes(app: any) {
  app.get('/users', async () => orm.em.find(User, {}));
}
`,
        'src/app.ts': `import { RequestContext } from '@mikro-orm/core';
import type { MikroORM } from '@mikro-orm/core';
import { registerUserRoutes } from './user.routes.js';
import { User } from './entities.js';

export function bootstrap(app: any, orm: MikroORM) {
  app.register(async (early: any) => {
    early.get('/early', async () => orm.em.count(User));
  });
  app.addHook('onRequest', (_request: any, _reply: any, done: () => void) => {
    RequestContext.create(orm.em, done);
  });
  app.register(registerUserRoutes, { prefix: 'user' });
  app.register(async (instance: any) => {
    instance.get('/count', async () => orm.em.count(User));
  });
}
`,
      });
      assert.deepEqual(await scanned(project, types), ['src/app.ts:8 async-outside-connection <- line 8']);
    });

    it(`${mode}: a service registry typed inline and imported from another module (MikroORM's Express example): DI.em is the EntityManager`, async () => {
      project = mikroProject({
        'src/registry.ts': `import type { EntityManager, MikroORM } from '@mikro-orm/core';
export const DI = {} as { orm: MikroORM; em: EntityManager };
`,
        'src/job.ts': `import { DI } from './registry.js';
import { User } from './entities.js';

export async function remind() {
  return DI.em.find(User, {});
}
`,
      });
      assert.deepEqual(await scanned(project, types), ['src/job.ts:5 async-outside-connection <- remind']);
    });

    it(`${mode}: a router exported under another name and mounted after the middleware is covered; the same router on a bare app is not`, async () => {
      const router = `import { Router } from 'express';
import type { MikroORM } from '@mikro-orm/core';
import { User } from './entities.js';

export let orm: MikroORM;
const router = Router();
router.get('/', async (_req, res) => {
  res.json(await orm.em.find(User, {}));
});
export default router;
`;
      const server = (middleware: boolean) => `import { RequestContext } from '@mikro-orm/core';
import type { MikroORM } from '@mikro-orm/core';
import express from 'express';
import users from './users.router.js';

export function start(orm: MikroORM) {
  const app = express();
  ${middleware ? 'app.use((_req, _res, next) => RequestContext.create(orm.em, next));' : ''}
  app.use('/users', users);
}
`;
      project = mikroProject({ 'src/users.router.ts': router, 'src/server.ts': server(true) });
      assert.deepEqual(await scanned(project, types), []);
      project.write('src/server.ts', server(false));
      assert.deepEqual(await scanned(project, types), ['src/users.router.ts:8 async-outside-connection <- line 7']);
    });

    it(`${mode}: a Nest service reached from a controller only is inside; from a queue processor's process() it is outside, the processor the root`, async () => {
      const stubs = fileURLToPath(new URL('../../fixtures/rules-mikro-orm/_support/nestjs/', import.meta.url));
      project = mikroProject({
        'src/app.module.ts': `import { MikroOrmModule } from '@mikro-orm/nestjs';\nexport const orm = MikroOrmModule.forRoot({});\n`,
        'src/users.service.ts': `import { EntityManager } from '@mikro-orm/core';
import { User } from './entities.js';

export class UsersService {
  constructor(private readonly em: EntityManager) {}

  async list() {
    return this.em.find(User, {});
  }

  async purge() {
    return this.em.count(User);
  }
}
`,
        'src/users.controller.ts': `import { Controller, Get } from '@nestjs/common';
import { UsersService } from './users.service.js';

@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get()
  async list() {
    return this.users.list();
  }

  @Get('purge')
  async purge() {
    return this.users.purge();
  }
}
`,
        'src/purge.processor.ts': `import { Processor } from '@nestjs/bull';
import { UsersService } from './users.service.js';

@Processor('purge')
export class PurgeProcessor {
  constructor(private readonly users: UsersService) {}

  async process() {
    await this.users.purge();
  }
}
`,
      });
      for (const name of ['common.d.ts', 'bull.d.ts', 'mikro-orm-nestjs.d.ts']) project.write(`stubs/${name}`, readFileSync(join(stubs, name), 'utf8'));
      project.write(
        'tsconfig.json',
        `${JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, experimentalDecorators: true, types: [], paths: { '@nestjs/common': ['./stubs/common.d.ts'], '@nestjs/bull': ['./stubs/bull.d.ts'], '@mikro-orm/nestjs': ['./stubs/mikro-orm-nestjs.d.ts'] } }, include: ['src/**/*.ts', 'stubs/*.d.ts'] })}\n`,
      );
      assert.deepEqual(await scanned(project, types), ['src/users.service.ts:12 async-outside-connection <- process']);
    });

    it(`${mode}: GraphQL resolvers and guards run in the request: inside when MikroOrmModule registers the context, each its own root when it does not`, async () => {
      const files = {
        'src/app.module.ts': `import { MikroOrmModule } from '@mikro-orm/nestjs';\nexport const orm = MikroOrmModule.forRoot({});\n`,
        'src/stubs.ts': `export declare function Resolver(): ClassDecorator;
export declare function Query(): MethodDecorator;
export declare function Mutation(): MethodDecorator;
export interface CanActivate { canActivate(context: unknown): Promise<boolean>; }
`,
        'src/users.resolver.ts': `import { EntityManager } from '@mikro-orm/core';
import { Query, Resolver, Mutation } from './stubs.js';
import type { CanActivate } from './stubs.js';
import { User } from './entities.js';

@Resolver()
export class UsersResolver {
  constructor(private readonly em: EntityManager) {}

  @Query()
  async users() {
    return this.em.find(User, {});
  }

  @Mutation()
  async rename() {
    await this.em.flush();
  }
}

export class ActiveGuard implements CanActivate {
  constructor(private readonly em: EntityManager) {}

  async canActivate() {
    return (await this.em.count(User)) > 0;
  }
}
`,
      };
      project = mikroProject(files);
      assert.deepEqual(await scanned(project, types), []);
      // Without the module's context, each is its own root.
      project.write('src/app.module.ts', `import { MikroOrmModule } from '@mikro-orm/nestjs';\nexport const orm = MikroOrmModule.forRoot({ registerRequestContext: false });\n`);
      assert.deepEqual(await scanned(project, types), [
        'src/users.resolver.ts:12 async-outside-connection <- users',
        'src/users.resolver.ts:17 async-outside-connection <- rename',
        'src/users.resolver.ts:25 async-outside-connection <- canActivate',
      ]);
    });

    it(`${mode}: a lifecycle hook's or subscriber's args.em is the flushing EntityManager, not the global one; a Seeder's run(em) gets a fork`, async () => {
      project = mikroProject({
        'src/audit.subscriber.ts': `import type { EntityManager, EventArgs, EventSubscriber } from '@mikro-orm/core';
import { User } from './entities.js';

export class AuditSubscriber implements EventSubscriber<User> {
  async afterCreate(args: EventArgs<User>): Promise<void> {
    await args.em.count(User);
  }
}

export class Seeder {}
export class UserSeeder extends Seeder {
  async run(em: EntityManager): Promise<void> {
    em.create(User, { email: 'a@example.com' });
  }
}

export class NotASeeder {
  async run(em: EntityManager): Promise<void> {
    em.create(User, { email: 'b@example.com' });
  }
}
`,
      });
      assert.deepEqual(await scanned(project, types), ['src/audit.subscriber.ts:19 async-outside-connection <- run']);
    });

    it(`${mode}: a callback's em is a fork when the local function that calls it always hands it one (a self-referring name does not loop); the current context's EntityManager is never the global one`, async () => {
      project = mikroProject({
        'src/forks.ts': `import { RequestContext } from '@mikro-orm/core';
import type { EntityManager, MikroORM } from '@mikro-orm/core';
import { User } from './entities.js';

declare const orm: MikroORM;
async function withFork<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
  return work(orm.em.fork());
}
async function withGlobal<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
  return work(orm.em);
}
async function withItself<T>(work: (em: EntityManager) => Promise<T>, em: EntityManager): Promise<T> {
  return work(em);
}

export const current = () => RequestContext.getEntityManager()?.count(User);
export const forked = () => withFork(async (em) => em.count(User));
export const global = () => withGlobal(async (em) => em.count(User));
export const itself = (other: EntityManager) => withItself(async (em) => em.count(User), other);
`,
      });
      // Without types an unannotated callback parameter is nothing the scan can place.
      assert.deepEqual(await scanned(project, types), types ? ['src/forks.ts:18 async-outside-connection <- line 18', 'src/forks.ts:19 async-outside-connection <- line 19'] : []);
    });

    it(`${mode}: controllers are inside too when the project applies a context middleware of its own (registerRequestContext: false)`, async () => {
      const controller = `import { EntityManager } from '@mikro-orm/core';
import { Controller, Get } from './nest.js';
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
      const middleware = `import { RequestContext } from '@mikro-orm/core';
import type { MikroORM } from '@mikro-orm/core';
import type { NestMiddleware } from './nest.js';

export class ContextMiddleware implements NestMiddleware {
  constructor(private readonly orm: MikroORM) {}

  use(_req: unknown, _res: unknown, next: () => void) {
    RequestContext.create(this.orm.em, next);
  }
}
`;
      project = mikroProject({
        'src/nest.ts': 'export declare function Controller(path?: string): ClassDecorator;\nexport declare function Get(path?: string): MethodDecorator;\nexport interface NestMiddleware { use(req: unknown, res: unknown, next: () => void): void; }\n',
        'src/app.module.ts': `import { MikroOrmModule } from '@mikro-orm/nestjs';\nexport const orm = MikroOrmModule.forRoot({ registerRequestContext: false });\n`,
        'src/users.controller.ts': controller,
      });
      assert.deepEqual(await scanned(project, types), ['src/users.controller.ts:11 async-outside-connection <- list']);
      project.write('src/context.middleware.ts', middleware);
      assert.deepEqual(await scanned(project, types), []);
    });

    it(`${mode}: the message names the roots to wrap; the rule is an error under the preset`, async () => {
      project = mikroProject({
        'src/job.ts': `import type { MikroORM } from '@mikro-orm/core';
import { User } from './entities.js';

export function schedule(orm: MikroORM) {
  setTimeout(async function sweep() {
    await orm.em.find(User, {});
  }, 1000);
}
`,
      });
      const result = await scan({ cwd: project.dir, types });
      const [finding] = result.findings;
      assert.equal(result.findings.length, 1);
      assert.equal(finding?.severity, 'error');
      assert.match(finding?.message ?? '', /^`orm\.em\.find\(\)` runs outside any RequestContext when reached from `sweep` \(job\.ts:5\): MikroORM throws/);
    });
  }

  it('never parses a file that cannot hold a finding: no MikroORM word, or no import reaching @mikro-orm', async () => {
    project = mikroProject({
      'src/plain.ts': 'export const answer = 42;\n',
      'src/arrays.ts': 'export const first = [1, 2].find((n) => n > 1);\n',
      'src/job.ts': "import type { EntityManager } from '@mikro-orm/core';\nimport { User } from './entities.js';\nexport const run = (em: EntityManager) => em.find(User, {});\n",
    });
    const result = await scan({ cwd: project.dir, types: false });
    assert.equal(result.stats.discovered, 4);
    assert.equal(result.stats.parsed, 1, 'only job.ts: entities.ts and plain.ts name nothing, arrays.ts does not import MikroORM');
    assert.equal(result.findings.length, 1);
  });
});
