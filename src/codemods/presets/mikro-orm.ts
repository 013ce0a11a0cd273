/**
 * MikroORM 6: every EntityManager call that goes through `getContext()` needs a context
 * (`RequestContext`, a fork, a transaction); on the global EM it throws
 * `ValidationError.cannotUseGlobalContext()` unless `allowGlobalContext` is set.
 */
import type { Preset } from './index.js';

/**
 * The EntityManager methods that throw `ValidationError.cannotUseGlobalContext()` on the global EM
 * in @mikro-orm/core 6.6.16: they call `getContext()` with validation, directly or through
 * `tryFlush()` / `getUnitOfWork()` (EntityManager.js). Established by calling each one on a real
 * global EM (better-sqlite): `insert`, `upsert`, `nativeUpdate`, `nativeDelete`, `transactional`,
 * `fork`, `getRepository`, `execute` and the getters of the driver/platform/metadata do not throw.
 * `map` is left out on purpose: `em.map()` is rare and `.map(` is on every array.
 */
const ENTITY_MANAGER_METHODS = [
  'find', 'findAll', 'findOne', 'findOneOrFail', 'findAndCount', 'findByCursor', 'count', 'create', 'assign', 'merge',
  'getReference', 'persist', 'persistAndFlush', 'remove', 'removeAndFlush', 'flush', 'clear', 'clearCache', 'refresh',
  'refreshOrFail', 'populate', 'lock', 'getUnitOfWork', 'getEntityFactory', 'getEntityLoader', 'setFilterParams',
  'getFilterParams', 'setLoggerContext', 'getLoggerContext',
  // SqlEntityManager (@mikro-orm/knex)
  'createQueryBuilder', 'qb',
];

export const mikroOrmPreset: Preset = {
  name: 'mikro-orm',
  description: 'MikroORM 6: EntityManager calls need a RequestContext (or a fork, or a transaction)',
  // Every @mikro-orm package (drivers re-export the core); types come from @mikro-orm/core.
  ormModules: ['@mikro-orm/core', '@mikro-orm/*'],
  rules: ['async-outside-connection', 'allow-async-unsafe'],
  // Outside a context MikroORM throws (our runtime only warns): an error, as a crash is.
  severities: { 'async-outside-connection': 'error' },
  configKeys: [],
  ruleHelp: {
    'async-outside-connection': {
      description: 'An EntityManager or repository call that needs a context and runs outside every RequestContext.',
      help:
        'MikroORM validates the context of EntityManager methods that use the identity map (find, findOne, count, persist, flush, create, …): ' +
        'on the global EntityManager, outside a RequestContext, a fork or a transaction, they throw "Using global EntityManager instance methods ' +
        'for context specific actions is disallowed". Wrap the root the finding names: a class method in @CreateRequestContext(), a function ' +
        'body in `RequestContext.create(em, async () => { … })`, or hand the code a fork (`em.fork()`). `npx orm-migrate fix --preset mikro-orm` does this for you.',
    },
    'allow-async-unsafe': {
      description: 'Code or configuration that enables MikroORM\'s global context (allowGlobalContext, MIKRO_ORM_ALLOW_GLOBAL_CONTEXT).',
      help:
        'allowGlobalContext: true (or MIKRO_ORM_ALLOW_GLOBAL_CONTEXT=true) turns the context check off: every caller outside a RequestContext then ' +
        'shares the global EntityManager and its identity map, so concurrent requests and jobs see and flush each other\'s entities. ' +
        'Open a context where the EntityManager is used, then remove the setting; during the migration, `warnOnGlobalContext` from ' +
        '`orm-migrate/mikro-orm` reports each global-context use instead.',
    },
  },
  wording: { context: 'RequestContext', opener: 'RequestContext.create(em, async () => { … }) or @CreateRequestContext()' },
  context: {
    // Classes declared in @mikro-orm/core; SqlEntityManager, MongoEntityManager and user repositories extend them.
    receiverTypes: ['EntityManager', 'EntityRepository'],
    methods: new Set(ENTITY_MANAGER_METHODS),
    forkMethods: new Set(['fork']),
    repositoryMethods: new Set(['getRepository', 'repo']),
    managerProperties: new Set(['em']),
    callbackMethods: new Map([['transactional', 0]]),
    openerCalls: [{ receiver: 'RequestContext', name: 'create', callbackArgument: 1 }],
    // `@Transactional()` runs the method in `em.transactional()` (a transaction context).
    openerDecorators: new Set(['CreateRequestContext', 'EnsureRequestContext', 'UseRequestContext', 'Transactional']),
    // @mikro-orm/seeder runs each seeder with a fork (`Seeder.call` → `run(em.fork())`).
    forkedParameters: [{ baseClass: 'Seeder', method: 'run', parameter: 0 }],
    // Lifecycle hooks and EventSubscribers get the EntityManager that flushes (the context's fork).
    forkedArgumentTypes: new Set(['EventArgs', 'FlushEventArgs', 'TransactionEventArgs']),
  },
  entryPoints: {
    // MikroOrmModule's middleware covers every HTTP route, GraphQL's endpoint included (not its websocket subscriptions).
    insideClassDecorators: new Set(['Controller', 'Resolver']),
    insideMethodDecorators: new Set(['Get', 'Post', 'Put', 'Patch', 'Delete', 'Options', 'Head', 'All', 'Search', 'Query', 'Mutation', 'ResolveField']),
    // Guards, interceptors and pipes run after the middleware, in the request.
    insideInterfaceMethods: new Map([
      ['CanActivate', ['canActivate']],
      ['NestInterceptor', ['intercept']],
      ['PipeTransform', ['transform']],
    ]),
    routeMethods: new Set(['get', 'post', 'put', 'patch', 'delete', 'del', 'all', 'head', 'options', 'use']),
    outsideMethodDecorators: new Set(['Cron', 'Interval', 'Timeout', 'Process', 'SubscribeMessage', 'OnEvent', 'MessagePattern', 'EventPattern', 'OnQueueActive', 'OnWorkerEvent']),
    // BullMQ's `@Processor()` class runs its `process(job)` method (no method decorator) outside any context.
    outsideClassMethods: new Map([['Processor', ['process']]]),
    // A custom repository (`@Entity({ repository: () => BookRepository })`, `defineEntity({ repository })`)
    // is reached through `em.getRepository(Book)`, whose result only the entity's metadata names.
    unseenCallerBaseClasses: new Set(['EntityRepository', 'SqlEntityRepository', 'MongoEntityRepository']),
  },
  escapeHatch: {
    env: ['MIKRO_ORM_ALLOW_GLOBAL_CONTEXT'],
    // ConfigurationLoader.js reads the variable with `['true', 't', '1'].includes(value.toLowerCase())`.
    envOnValues: ['true', 't', '1'],
    options: ['allowGlobalContext'],
    optionCalls: ['init', 'initSync', 'defineConfig', 'forRoot', 'forRootAsync', 'forMiddleware', 'MikroORM'],
    optionTypes: ['Options', 'MikroORMOptions', 'MikroOrmModuleOptions', 'MikroOrmModuleSyncOptions', 'MikroOrmModuleAsyncOptions'],
    optionFiles: /(?:^|[\\/])mikro-orm\.config\.[cm]?[jt]s$/,
  },
};
