/**
 * `orm-migrate fix --preset mikro-orm` on projects shaped like MikroORM's own example apps as they
 * are today (issue 11: a fix never changes what a program means): the built CLI in a child process
 * on a temp project, the import it writes, and a second fix that changes nothing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTempProject } from '../support/temp-project.js';
import type { TempProject } from '../support/temp-project.js';
import { runCli } from '../support/cli.js';

const nodeModules = fileURLToPath(new URL('../../node_modules', import.meta.url));
const tscBin = createRequire(import.meta.url).resolve('typescript/bin/tsc');

function typeErrors(project: TempProject): string {
  const run = spawnSync(process.execPath, [tscBin, '--noEmit', '-p', 'tsconfig.json'], { cwd: project.dir, encoding: 'utf8' });
  return run.status === 0 ? '' : run.stdout + run.stderr;
}

function tsconfig(extra: Record<string, boolean> = {}): string {
  return `${JSON.stringify(
    {
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, experimentalDecorators: true, ...extra },
      include: ['src/**/*.ts'],
    },
    null,
    2,
  )}\n`;
}

/** A service whose method nothing in the project calls (so it is its own root), as in MikroORM's NestJS realworld app. */
const SERVICE = `import { EntityManager } from '@mikro-orm/core';

export class User {
  id!: number;
}

export class ProfileService {
  constructor(private readonly em: EntityManager) {}

  async findAll(): Promise<User[]> {
    return this.em.find(User, {});
  }
}
`;

function app(dependencies: Record<string, string>, files: Record<string, string>, options: Record<string, boolean> = {}): TempProject {
  const project = createTempProject({
    'package.json': `${JSON.stringify({ name: 'app', private: true, type: 'module', dependencies }, null, 2)}\n`,
    'tsconfig.json': tsconfig(options),
    ...files,
  });
  symlinkSync(nodeModules, join(project.dir, 'node_modules'), 'dir');
  return project;
}

function fix(project: TempProject): void {
  const run = runCli(project.dir, ['fix', '--preset', 'mikro-orm', '--force']);
  assert.equal(run.status, 0, `exit ${run.status}\n${run.stdout}\n${run.stderr}`);
}

function fixTwice(project: TempProject, file: string): string {
  fix(project);
  const once = project.read(file);
  fix(project);
  assert.equal(project.read(file), once, 'a second fix changed the file');
  return once;
}

describe('orm-migrate fix --preset mikro-orm on example-app shapes (child process)', function () {
  this.timeout(60_000);
  let project: TempProject | undefined;
  afterEach(() => {
    project?.remove();
    project = undefined;
  });

  it('MikroORM 7 (the project depends on @mikro-orm/decorators): @CreateRequestContext() is imported from @mikro-orm/decorators/legacy, which exports it (core no longer does)', () => {
    project = app({ '@mikro-orm/core': '^7.1.0', '@mikro-orm/decorators': '^7.1.0' }, { 'src/profile.service.ts': SERVICE });
    const fixed = fixTwice(project, 'src/profile.service.ts');
    assert.match(fixed, /^import \{ CreateRequestContext \} from '@mikro-orm\/decorators\/legacy';$/m);
    assert.match(fixed, /^import \{ EntityManager \} from '@mikro-orm\/core';$/m);
    assert.match(fixed, /  @CreateRequestContext\(\)\n  async findAll\(\)/);
  });

  it('MikroORM 7: merged into the file\'s own import of @mikro-orm/decorators/legacy', () => {
    const service = SERVICE.replace("import { EntityManager } from '@mikro-orm/core';\n", "import { EntityManager } from '@mikro-orm/core';\nimport { Entity } from '@mikro-orm/decorators/legacy';\n").replace('export class User {', '@Entity()\nexport class User {');
    project = app({ '@mikro-orm/core': '^7.1.0', '@mikro-orm/decorators': '^7.1.0' }, { 'src/profile.service.ts': service });
    const fixed = fixTwice(project, 'src/profile.service.ts');
    assert.match(fixed, /^import \{ Entity, CreateRequestContext \} from '@mikro-orm\/decorators\/legacy';$/m);
    assert.doesNotMatch(fixed, /import \{ EntityManager, CreateRequestContext \}/);
  });

  it('MikroORM 6 (no @mikro-orm/decorators): merged into the import of @mikro-orm/core as before', () => {
    project = app({ '@mikro-orm/core': '^6.4.0' }, { 'src/profile.service.ts': SERVICE });
    const fixed = fixTwice(project, 'src/profile.service.ts');
    assert.match(fixed, /^import \{ EntityManager, CreateRequestContext \} from '@mikro-orm\/core';$/m);
  });
  it('emitDecoratorMetadata with isolatedModules (the NestJS app\'s tsconfig): a method whose parameter types are imported types gets its body wrapped, not the decorator that would make them values (TS1272); one taking the project\'s own class is decorated; tsc passes before and after', () => {
    const middleware = `import { EntityManager } from '@mikro-orm/core';
import { NextFunction, Request, Response } from 'express';
import { User } from './user.js';

export class AuthMiddleware {
  constructor(private readonly em: EntityManager) {}

  async use(req: Request & { user?: User | null }, res: Response, next: NextFunction) {
    req.user = await this.em.findOne(User, { id: Number(req.headers['x-user']) });
    next();
  }

  async rename(user: User, name: string): Promise<void> {
    this.em.assign(user, { name });
    await this.em.flush();
  }
}
`;
    const user = `export class User {
  id!: number;
  name!: string;
}
`;
    project = app({ '@mikro-orm/core': '^6.4.0' }, { 'src/auth.middleware.ts': middleware, 'src/user.ts': user }, { emitDecoratorMetadata: true, isolatedModules: true });
    assert.equal(typeErrors(project), '');
    const fixed = fixTwice(project, 'src/auth.middleware.ts');
    assert.match(fixed, /  async use\(req: Request & \{ user\?: User \| null \}, res: Response, next: NextFunction\) \{\n    return RequestContext\.create\(this\.em, async \(\) => \{\n/);
    assert.match(fixed, /  @CreateRequestContext\(\)\n  async rename\(user: User, name: string\)/);
    assert.match(fixed, /^import \{ EntityManager, CreateRequestContext, RequestContext \} from '@mikro-orm\/core';$/m);
    assert.equal(typeErrors(project), '');
  });
  it('MikroORM 7 installed, type-aware: a method decorated with @CreateRequestContext() from @mikro-orm/decorators/legacy opens a context (scan is clean after the fix; a same-named decorator of the project\'s own does not count)', () => {
    const decorated = (from: string): string =>
      SERVICE.replace("import { EntityManager } from '@mikro-orm/core';\n", `import { EntityManager } from '@mikro-orm/core';\nimport { CreateRequestContext } from '${from}';\n`).replace('  async findAll()', '  @CreateRequestContext()\n  async findAll()');
    project = createTempProject({
      'package.json': `${JSON.stringify({ name: 'app', private: true, type: 'module', dependencies: { '@mikro-orm/core': '^7.1.0', '@mikro-orm/decorators': '^7.1.0' } }, null, 2)}\n`,
      'tsconfig.json': tsconfig(),
      'src/profile.service.ts': decorated('@mikro-orm/decorators/legacy'),
      'src/own.service.ts': decorated('./decorators.js'),
      'src/decorators.ts': 'export function CreateRequestContext(): MethodDecorator {\n  return () => undefined;\n}\n',
      // MikroORM 7's decorators package as installed: a package of the scope that core does not import.
      'node_modules/@mikro-orm/decorators/package.json': `${JSON.stringify({ name: '@mikro-orm/decorators', version: '7.1.0', type: 'module', exports: { './legacy': { types: './legacy/index.d.ts', default: './legacy/index.js' } } })}\n`,
      'node_modules/@mikro-orm/decorators/legacy/index.d.ts': "export * from './CreateRequestContext.js';\n",
      'node_modules/@mikro-orm/decorators/legacy/CreateRequestContext.d.ts': 'export declare function CreateRequestContext<T extends object>(context?: unknown, respectExistingContext?: boolean): MethodDecorator;\n',
    });
    mkdirSync(project.path('node_modules/@mikro-orm'), { recursive: true });
    symlinkSync(join(nodeModules, '@mikro-orm/core'), project.path('node_modules/@mikro-orm/core'), 'dir');
    const run = runCli(project.dir, ['scan', '--preset', 'mikro-orm', '--format', 'json']);
    assert.equal(run.status, 1, `exit ${run.status}\n${run.stdout}\n${run.stderr}`);
    const report = JSON.parse(run.stdout) as { findings: { file: string; line: number }[] };
    assert.deepEqual(report.findings.map((finding) => `${finding.file}:${finding.line}`), ['src/own.service.ts:13']);
  });
  it('a script\'s main that sets a module-level `let em` itself opens the context with its own ORM after creating it, not with the binding that is still unset when it starts', () => {
    const main = `import { MikroORM, EntityManager } from '@mikro-orm/core';
import { User } from './profile.service.js';

let em: EntityManager;

export async function main(): Promise<void> {
  const orm = await MikroORM.init({ entities: [User], dbName: ':memory:' });
  em = orm.em;
  console.log(await em.find(User, {}));
}
`;
    project = app({ '@mikro-orm/core': '^6.4.0' }, { 'src/main.ts': main, 'src/profile.service.ts': 'export class User {\n  id!: number;\n}\n' });
    const fixed = fixTwice(project, 'src/main.ts');
    assert.match(
      fixed,
      /  const orm = await MikroORM\.init\(\{ entities: \[User\], dbName: ':memory:' \}\);\n  return RequestContext\.create\(orm\.em, async \(\) => \{\n    em = orm\.em;\n/,
    );
    assert.doesNotMatch(fixed, /RequestContext\.create\(em,/);
    assert.equal(typeErrors(project), '');
  });
  it('a helper that a sync function calls but a timer\'s root also reaches stays manual (a RequestContext of its own would fork it off the timer\'s context); a second fix keeps it so', () => {
    const report = `import type { EntityManager } from '@mikro-orm/core';

export async function countUsers(em: EntityManager): Promise<number> {
  return em.count('User');
}
`;
    const jobs = `import type { MikroORM } from '@mikro-orm/core';
import { countUsers } from './report.js';

export function schedule(orm: MikroORM): void {
  setInterval(async () => {
    await orm.em.findOne('User', 1);
    console.log(await countUsers(orm.em));
  }, 1000);
}

export function legacy(orm: MikroORM): Promise<number> {
  return countUsers(orm.em);
}
`;
    project = app({ '@mikro-orm/core': '^6.4.0' }, { 'src/report.ts': report, 'src/jobs.ts': jobs });
    for (const round of ['first', 'second']) {
      const run = runCli(project.dir, ['fix', '--preset', 'mikro-orm', '--force']);
      assert.equal(run.status, 1, `${round} fix: exit ${run.status}\n${run.stdout}\n${run.stderr}`);
      assert.equal(project.read('src/report.ts'), report, `${round} fix wrapped the helper`);
      assert.match(run.stdout, round === 'first' ? /src\/report\.ts:3:1 +`countUsers` .*\n +it is also reached from a function \(src\/jobs\.ts:5\), whose context would contain it/ : /src\/report\.ts:3:1 +`countUsers` .*\n +it is also called inside a RequestContext \(from the callback at src\/jobs\.ts:\d+\)/);
    }
    assert.match(project.read('src/jobs.ts'), /  setInterval\(async \(\) => \{\n    return RequestContext\.create\(orm\.em, async \(\) => \{\n/);
  });
});
