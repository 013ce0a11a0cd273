/**
 * The ORM's public method surface: each async method and its sync twin.
 * Data only (no imports, no side effects) so the codemods can read it without loading a driver.
 */

/** QuerySet / Manager terminal methods: async name → sync name. */
export const QUERYSET_ASYNC_TO_SYNC = {
  aget: 'get',
  acreate: 'create',
  agetOrCreate: 'getOrCreate',
  aupdateOrCreate: 'updateOrCreate',
  abulkCreate: 'bulkCreate',
  abulkUpdate: 'bulkUpdate',
  acount: 'count',
  ainBulk: 'inBulk',
  aiterator: 'iterator',
  alatest: 'latest',
  aearliest: 'earliest',
  afirst: 'first',
  alast: 'last',
  aaggregate: 'aggregate',
  aexists: 'exists',
  acontains: 'contains',
  aupdate: 'update',
  adelete: 'delete',
  aexplain: 'explain',
} as const;

/** Model instance methods: async name → sync name. */
export const INSTANCE_ASYNC_TO_SYNC = {
  asave: 'save',
  adelete: 'delete',
  arefreshFromDb: 'refreshFromDb',
} as const;

/** Module-level functions of the runtime that have an async twin. */
export const FUNCTION_ASYNC_TO_SYNC = {
  aatomic: 'atomic',
} as const;

export type QuerySetAsyncMethod = keyof typeof QUERYSET_ASYNC_TO_SYNC;
export type QuerySetSyncMethod = (typeof QUERYSET_ASYNC_TO_SYNC)[QuerySetAsyncMethod];
export type InstanceAsyncMethod = keyof typeof INSTANCE_ASYNC_TO_SYNC;
export type InstanceSyncMethod = (typeof INSTANCE_ASYNC_TO_SYNC)[InstanceAsyncMethod];

/** Every async method name of the ORM, with its sync twin (QuerySet and instance methods merged). */
export const ASYNC_TO_SYNC: Readonly<Record<string, string>> = {
  ...QUERYSET_ASYNC_TO_SYNC,
  ...INSTANCE_ASYNC_TO_SYNC,
};

/** The name of the connection-context function and of the legacy thread wrapper. */
export const CONNECTION_FUNCTION = 'newConnection';
/** Runtime functions with no async twin that run sync queries, so they throw inside a block. */
export const SYNC_ONLY_FUNCTIONS: readonly string[] = ['migrate'];
export const SYNC_TO_ASYNC_FUNCTION = 'syncToAsync';
/** The environment variable that turns the SynchronousOnlyOperation check off. */
export const ALLOW_ASYNC_UNSAFE_ENV = 'ORM_ALLOW_ASYNC_UNSAFE';
/** The module specifier user code imports the runtime from. */
export const RUNTIME_MODULE = 'orm-migrate/runtime';
