/**
 * What the MikroORM rule fixtures (fixtures/rules-mikro-orm) assert, checked against MikroORM
 * 6.6.16 itself on a real SQLite file: which EntityManager/repository calls throw on the global
 * EntityManager (the fixtures expect a finding), which do not (the fixtures' decoys), what opens a
 * context, and which settings switch the check off. If a MikroORM upgrade changes any of this,
 * this test fails before the fixtures silently go wrong.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import express from 'express';
import { CreateRequestContext, EnsureRequestContext, EntitySchema, MikroORM, RequestContext, Transactional, ValidationError } from '@mikro-orm/better-sqlite';
import type { EntityManager, EntityRepository, EventArgs, EventSubscriber, FlushEventArgs } from '@mikro-orm/better-sqlite';

class User {
  id!: number;
  email!: string;
}

const UserSchema = new EntitySchema<User>({
  class: User,
  properties: { id: { type: 'number', primary: true }, email: { type: 'string' } },
});

const GLOBAL_CONTEXT = /Using global EntityManager instance methods for context specific actions is disallowed/;

type Call = (em: EntityManager, users: EntityRepository<User>) => unknown;

/** Calls the fixtures expect to be reported outside a context (each validates the context). */
const NEEDS_CONTEXT: Record<string, Call> = {
  'em.find': (em) => em.find(User, {}),
  'em.findOne': (em) => em.findOne(User, 1),
  'em.findOneOrFail': (em) => em.findOneOrFail(User, 1),
  'em.findAll': (em) => em.findAll(User),
  'em.findAndCount': (em) => em.findAndCount(User, {}),
  'em.count': (em) => em.count(User),
  'em.create': (em) => em.create(User, { id: 50, email: 'c@example.com' }),
  'em.persist': (em) => em.persist(Object.assign(new User(), { id: 51, email: 'p@example.com' })),
  'em.flush': (em) => em.flush(),
  'em.persistAndFlush': (em) => em.persistAndFlush(Object.assign(new User(), { id: 52, email: 'f@example.com' })),
  'em.remove': (em) => em.remove(Object.assign(new User(), { id: 53, email: 'r@example.com' })),
  'em.removeAndFlush': (em) => em.removeAndFlush(Object.assign(new User(), { id: 54, email: 'r@example.com' })),
  'em.getReference': (em) => em.getReference(User, 1),
  'em.refresh': (em) => em.refresh(Object.assign(new User(), { id: 1, email: '' })),
  'em.populate': (em) => em.populate(Object.assign(new User(), { id: 1, email: '' }), []),
  'em.merge': (em) => em.merge(User, { id: 1, email: 'm@example.com' }),
  'em.assign': (em) => em.assign(Object.assign(new User(), { id: 1, email: '' }), { email: 'a@example.com' }),
  'em.clear': (em) => em.clear(),
  'em.createQueryBuilder': (em) => em.createQueryBuilder(User),
  'repository.find': (_em, users) => users.find({}),
  'repository.findOne': (_em, users) => users.findOne({ email: 'x@example.com' }),
  'repository.findOneOrFail': (_em, users) => users.findOneOrFail(1),
  'repository.findAll': (_em, users) => users.findAll({ limit: 5 }),
  'repository.count': (_em, users) => users.count(),
  'repository.create': (_em, users) => users.create({ id: 55, email: 'c@example.com' }),
  'em.getRepository(User).find': (em) => em.getRepository(User).find({}),
};

/** Calls the fixtures use as decoys: they run on the global EntityManager without an error. */
const NO_CONTEXT: Record<string, Call> = {
  'em.fork().find': (em) => em.fork().find(User, {}),
  'em.fork().getRepository(User).count': (em) => em.fork().getRepository(User).count(),
  'em.transactional': (em) => em.transactional(async (tx) => tx.find(User, {})),
  'em.getRepository': (em) => em.getRepository(User),
  'em.insert': (em) => em.insert(User, { id: 60, email: 'i@example.com' }),
  'em.insertMany': (em) => em.insertMany(User, [{ id: 61, email: 'j@example.com' }]),
  'em.nativeUpdate': (em) => em.nativeUpdate(User, { id: 60 }, { email: 'u@example.com' }),
  'em.nativeDelete': (em) => em.nativeDelete(User, { id: 61 }),
  'em.upsert': (em) => em.upsert(User, { id: 62, email: 'up@example.com' }),
  'em.getConnection().execute': (em) => em.getConnection().execute('select 1'),
  'em.getMetadata': (em) => em.getMetadata().get(User.name),
  'em.isInTransaction': (em) => em.isInTransaction(),
  'repository.insert': (_em, users) => users.insert({ id: 63, email: 'ri@example.com' }),
  'repository.nativeDelete': (_em, users) => users.nativeDelete({ id: 63 }),
};

describe('MikroORM 6.6 ground truth for the mikro-orm rule fixtures (real SQLite)', function () {
  this.timeout(30_000);
  let dir: string;
  let orm: MikroORM;

  const init = (options: { allowGlobalContext?: boolean } = {}) =>
    MikroORM.init({ entities: [UserSchema], dbName: join(dir, 'app.sqlite'), ...options });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'orm-migrate-mikro-'));
    orm = await init();
    await orm.schema.createSchema();
    await orm.em.fork().insert(User, { id: 1, email: 'admin@example.com' });
  });
  after(async () => {
    await orm?.close(true);
    rmSync(dir, { recursive: true, force: true });
  });

  describe('on the global EntityManager', () => {
    for (const [name, call] of Object.entries(NEEDS_CONTEXT)) {
      it(`${name} throws the global-context ValidationError`, async () => {
        await assert.rejects(async () => call(orm.em, orm.em.getRepository(User)), (error: unknown) => error instanceof ValidationError && GLOBAL_CONTEXT.test(error.message));
      });
    }
    for (const [name, call] of Object.entries(NO_CONTEXT)) {
      it(`${name} runs without a context`, async () => {
        await call(orm.em, orm.em.getRepository(User));
      });
    }
  });

  describe('what opens a context', () => {
    const needy = Object.values(NEEDS_CONTEXT).filter((_call, index) => index < 6);
    const runAll = async (em: EntityManager) => {
      for (const call of needy) await call(em, em.getRepository(User));
    };

    it('RequestContext.create(orm.em, cb): the global EntityManager resolves to the context inside cb', async () => {
      await RequestContext.create(orm.em, () => runAll(orm.em));
      await RequestContext.create([orm.em], () => runAll(orm.em));
    });

    it('em.transactional(cb): the callback argument, and the global EntityManager while cb runs', async () => {
      await orm.em.transactional(async (tx) => runAll(tx));
      await orm.em.transactional(async () => runAll(orm.em));
    });

    it('@CreateRequestContext() / @EnsureRequestContext() / @Transactional() on a class with `orm` or `em`, and the provider form', async () => {
      class Reports {
        constructor(readonly orm: MikroORM) {}
        async nightly() {
          await runAll(this.orm.em);
          return 'done';
        }
      }
      class Editor {
        constructor(readonly em: EntityManager) {}
        async edit() {
          await runAll(this.em);
          return 'done';
        }
      }
      const decorate = (target: object, name: string, decorator: MethodDecorator) => {
        const descriptor = Object.getOwnPropertyDescriptor(target, name) as PropertyDescriptor;
        Object.defineProperty(target, name, decorator(target, name, descriptor) ?? descriptor);
      };
      const plain = new Reports(orm);
      await assert.rejects(() => plain.nightly(), GLOBAL_CONTEXT);
      decorate(Reports.prototype, 'nightly', CreateRequestContext());
      assert.equal(await new Reports(orm).nightly(), 'done');
      decorate(Editor.prototype, 'edit', EnsureRequestContext());
      assert.equal(await new Editor(orm.em).edit(), 'done');
      class Auditor {
        async audit() {
          await runAll(orm.em);
          return 'done';
        }
      }
      decorate(Auditor.prototype, 'audit', CreateRequestContext(() => orm));
      assert.equal(await new Auditor().audit(), 'done');
      class Publisher {
        constructor(readonly em: EntityManager) {}
        async publish() {
          await runAll(this.em);
          return 'done';
        }
      }
      decorate(Publisher.prototype, 'publish', Transactional());
      assert.equal(await new Publisher(orm.em).publish(), 'done');
    });

    it('a timer set inside a context inherits it; an EventEmitter listener registered inside one runs in the emitter\'s context', async () => {
      const emitter = new EventEmitter();
      const results: string[] = [];
      await RequestContext.create(orm.em, async () => {
        setTimeout(() => {
          orm.em.find(User, {}).then(
            () => results.push('timer: inside'),
            () => results.push('timer: outside'),
          );
        }, 1);
        emitter.on('ping', () => {
          orm.em.find(User, {}).then(
            () => results.push('listener: inside'),
            () => results.push('listener: outside'),
          );
        });
      });
      await delay(20);
      emitter.emit('ping');
      await delay(20);
      assert.deepEqual(results.sort(), ['listener: outside', 'timer: inside']);
    });
  });

  describe('subscribers (subscribers.ts)', () => {
    it("a subscriber's hooks get the flushing EntityManager, never the global one: context calls in them succeed", async () => {
      const seen: string[] = [];
      class Recorder implements EventSubscriber<User> {
        getSubscribedEntities() {
          return [User];
        }
        async afterCreate(args: EventArgs<User>) {
          seen.push(`afterCreate global=${args.em === orm.em} count=${typeof (await args.em.count(User))}`);
        }
        async onFlush(args: FlushEventArgs) {
          seen.push(`onFlush global=${args.em === orm.em} find=${Array.isArray(await args.em.find(User, {}))}`);
        }
      }
      orm.em.getEventManager().registerSubscriber(new Recorder());
      await RequestContext.create(orm.em, async () => {
        orm.em.create(User, { id: 70, email: 'hooks@example.com' });
        await orm.em.flush();
      });
      assert.deepEqual(seen, ['onFlush global=false find=true', 'afterCreate global=false count=number']);
    });
  });

  describe('Express (express-with-context.ts, express-route-order.ts, express-routers/)', () => {
    it('routes registered after the request-context middleware, also on a router mounted after it, run inside; a route registered before it does not', async () => {
      const app = express();
      app.get('/before', async (_req, res) => {
        res.json(await orm.em.count(User));
      });
      app.use((_req, _res, next) => RequestContext.create(orm.em, next));
      app.get('/after', async (_req, res) => {
        res.json(await orm.em.count(User));
      });
      const router = express.Router();
      router.get('/count', async (_req, res) => {
        res.json(await orm.em.getRepository(User).count());
      });
      app.use('/router', router);
      app.use(((error, _req, res, _next) => {
        res.status(500).json({ message: (error as Error).message });
      }) as express.ErrorRequestHandler);
      const server = app.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      try {
        const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        const get = async (path: string) => {
          const response = await fetch(base + path);
          return `${response.status} ${await response.text()}`;
        };
        assert.match(await get('/before'), /^500 .*global EntityManager/);
        assert.match(await get('/after'), /^200 \d+$/);
        assert.match(await get('/router/count'), /^200 \d+$/);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });
  });

  describe('what switches the check off', () => {
    it('allowGlobalContext: true in the options, and config.set at run time', async () => {
      const unsafe = await init({ allowGlobalContext: true });
      try {
        await unsafe.em.find(User, {});
      } finally {
        await unsafe.close(true);
      }
      const relaxed = await init();
      try {
        await assert.rejects(() => relaxed.em.find(User, {}), GLOBAL_CONTEXT);
        relaxed.config.set('allowGlobalContext', true);
        await relaxed.em.find(User, {});
      } finally {
        await relaxed.close(true);
      }
    });

    it("MIKRO_ORM_ALLOW_GLOBAL_CONTEXT: 'true', 't', '1' (any case) switch it off; '0', 'false' and other values do not", async () => {
      const saved = process.env.MIKRO_ORM_ALLOW_GLOBAL_CONTEXT;
      const verdicts: Record<string, boolean> = {};
      try {
        for (const value of ['1', 'true', 'T', 'TRUE', '0', 'false', 'yes']) {
          process.env.MIKRO_ORM_ALLOW_GLOBAL_CONTEXT = value;
          const probe = await init();
          try {
            verdicts[value] = await probe.em.find(User, {}).then(() => true, () => false);
          } finally {
            await probe.close(true);
          }
        }
      } finally {
        if (saved === undefined) delete process.env.MIKRO_ORM_ALLOW_GLOBAL_CONTEXT;
        else process.env.MIKRO_ORM_ALLOW_GLOBAL_CONTEXT = saved;
      }
      assert.deepEqual(verdicts, { '1': true, true: true, T: true, TRUE: true, '0': false, false: false, yes: false });
    });
  });
});
