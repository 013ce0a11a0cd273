/**
 * MikroORM 6: every EntityManager call that goes through `getContext()` needs a context
 * (`RequestContext`, a fork, a transaction); on the global EM it throws
 * `ValidationError.cannotUseGlobalContext()` unless `allowGlobalContext` is set.
 */
import type { Preset } from './index.js';

/**
 * EntityManager methods that call `this.getContext()` (validating) in @mikro-orm/core 6.6
 * (EntityManager.js), and the EntityRepository methods that forward to them (EntityRepository.js
 * calls `this.getEntityManager()`, i.e. `em.getContext()`).
 */
const CONTEXT_METHODS = [
  // EntityManager
  'find', 'findAll', 'findOne', 'findOneOrFail', 'findAndCount', 'findByCursor', 'stream', 'count',
  'upsert', 'upsertMany', 'insert', 'insertMany', 'nativeInsert', 'nativeUpdate', 'nativeDelete',
  'persist', 'persistAndFlush', 'remove', 'removeAndFlush', 'flush', 'clear', 'refresh', 'refreshOrFail',
  'merge', 'create', 'assign', 'reference', 'getReference', 'populate', 'lock', 'map',
  'addFilter', 'setFilterParams', 'getFilterParams', 'resetTransactionContext', 'setTransactionContext',
  'getUnitOfWork', 'getEventManager', 'isInTransaction', 'getTransactionContext', 'canPopulate',
  'setFlushMode', 'getLoggerContext', 'setLoggerContext', 'getComparator', 'getMetadata',
  // EntityRepository only
  'findOneOrFail', 'nativeInsert', 'getReference', 'count',
  // SqlEntityManager (@mikro-orm/knex)
  'createQueryBuilder', 'qb', 'getKnex', 'execute', 'getConnection', 'getRepository',
];

export const mikroOrmPreset: Preset = {
  name: 'mikro-orm',
  description: 'MikroORM 6: EntityManager calls need a RequestContext (or a fork, or a transaction)',
  ormModules: ['@mikro-orm/core', '@mikro-orm/knex', '@mikro-orm/better-sqlite', '@mikro-orm/sqlite', '@mikro-orm/libsql', '@mikro-orm/postgresql', '@mikro-orm/mysql', '@mikro-orm/mariadb', '@mikro-orm/mssql', '@mikro-orm/mongodb', '@mikro-orm/nestjs'],
  rules: ['async-outside-connection', 'allow-async-unsafe'],
  configKeys: [],
  wording: { context: 'RequestContext', opener: 'RequestContext.create(em, async () => { … }) or @CreateRequestContext()' },
  context: {
    receiverTypes: ['EntityManager', 'EntityRepository'],
    methods: new Set(CONTEXT_METHODS),
    forkMethods: new Set(['fork']),
    repositoryMethods: new Set(['getRepository']),
    managerProperties: new Set(['em']),
    callbackMethods: new Map([['transactional', 0]]),
    openerCalls: [{ receiver: 'RequestContext', name: 'create', callbackArgument: 1 }],
    openerDecorators: new Set(['CreateRequestContext', 'EnsureRequestContext', 'UseRequestContext']),
  },
  entryPoints: {
    insideClassDecorators: new Set(['Controller']),
    insideMethodDecorators: new Set(['Get', 'Post', 'Put', 'Patch', 'Delete', 'Options', 'Head', 'All', 'Search']),
    outsideMethodDecorators: new Set(['Cron', 'Interval', 'Timeout', 'Process', 'SubscribeMessage', 'OnEvent', 'MessagePattern', 'EventPattern', 'OnQueueActive', 'OnWorkerEvent']),
    outsideClassDecorators: new Set(['Processor', 'WebSocketGateway']),
  },
  escapeHatch: { env: ['MIKRO_ORM_ALLOW_GLOBAL_CONTEXT'], options: ['allowGlobalContext'] },
};
