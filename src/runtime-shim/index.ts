/** orm-migrate/runtime: models, querysets, connection contexts and the deprecation shim. */
export { configure } from './config.js';
export type { DatabaseSettings, PostgresPoolSettings, PostgresSettings, RuntimeConfig, SqliteSettings } from './config.js';
export { closeAllConnections, openConnectionCount } from './connections.js';
export {
  DatabaseError,
  DriverNotInstalledError,
  FieldError,
  ImproperlyConfigured,
  IntegrityError,
  MultipleObjectsReturned,
  ObjectDoesNotExist,
  OperationalError,
  PoolTimeoutError,
  ProtectedError,
  SynchronousOnlyOperation,
  SyncTimeoutError,
  TransactionManagementError,
  ValidationError,
  UnknownOptionError,
  WorkerCrashedError,
} from './errors.js';
export { onQuery } from './events.js';
export type { QueryEvent, QueryListener, Via } from './events.js';
export { fields, Field, ForeignKeyField } from './orm/fields.js';
export type { FieldOptions, OnDelete } from './orm/fields.js';
export { migrate } from './orm/migrate.js';
export { defineModel, ModelBase } from './orm/model.js';
export type { ModelDefinition } from './orm/model.js';
export type { DefaultValues, FieldMap, Filters, Lookup, ModelClass, ModelInstance, ModelValues } from './orm/model-types.js';
export { Avg, Count, Manager, Max, Min, QuerySet, Sum } from './orm/queryset.js';
export type { DeleteResult } from './orm/ops.js';
export { aatomic, atomic, newConnection, syncToAsync } from './transaction.js';
export type { UsingOption } from './transaction.js';
export { ASYNC_NO_CONNECTION, PendingDeprecationWarning, onDeprecation, resetWarningsSeen } from './warnings.js';
export type { CallSite, DeprecationRecord } from './warnings.js';
export type { ValidationCode } from './errors.js';
export * from './surface.js';
