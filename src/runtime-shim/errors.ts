/** Error classes of the runtime. Each message names what the user must change. */

/** A sync ORM method was called where only async calls are allowed (inside a newConnection block). */
export class SynchronousOnlyOperation extends Error {
  override name = 'SynchronousOnlyOperation';
}

/** The configuration given to configure() is invalid, or an alias is not configured. */
export class ImproperlyConfigured extends Error {
  override name = 'ImproperlyConfigured';
}

/** The database driver package for an engine is not installed. */
export class DriverNotInstalledError extends Error {
  override name = 'DriverNotInstalledError';
  constructor(readonly engine: string, readonly packageName: string, options?: ErrorOptions) {
    super(
      `The '${engine}' engine needs the '${packageName}' package, which is not installed. ` +
        `Install it next to orm-migrate: npm install ${packageName}`,
      options,
    );
  }
}

/** An unknown field, lookup or argument in a query. */
export class FieldError extends Error {
  override name = 'FieldError';
}

/** Why a value was refused: Django's codes ('invalid', 'max_length', 'null_characters_not_allowed'). */
export type ValidationCode = 'invalid' | 'max_length' | 'null_characters_not_allowed';

/**
 * A value a field cannot take (Django's ValidationError from to_python/get_prep_value), raised
 * before any SQL is built so both engines refuse the same values with the same message.
 */
export class ValidationError extends Error {
  override name = 'ValidationError';
  constructor(
    message: string,
    readonly model: string,
    readonly field: string,
    readonly code: ValidationCode,
  ) {
    super(message);
  }
}

/** Base of every Model.DoesNotExist class. */
export class ObjectDoesNotExist extends Error {
  override name = 'ObjectDoesNotExist';
}

/** Base of every Model.MultipleObjectsReturned class. */
export class MultipleObjectsReturned extends Error {
  override name = 'MultipleObjectsReturned';
}

/** Deleting an object that other rows reference with onDelete: 'protect'. */
export class ProtectedError extends Error {
  override name = 'ProtectedError';
}

/** Errors raised by the database (driver errors are wrapped in these, with the driver's code). */
export class DatabaseError extends Error {
  override name = 'DatabaseError';
  /** The driver's error code, e.g. SQLITE_CONSTRAINT_UNIQUE or a PostgreSQL SQLSTATE. */
  readonly code: string | undefined;
  constructor(message: string, code?: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
export class IntegrityError extends DatabaseError {
  override name = 'IntegrityError';
}
export class OperationalError extends DatabaseError {
  override name = 'OperationalError';
}

/** No pooled PostgreSQL connection became free in time (the message names the alias and the pool size). */
export class PoolTimeoutError extends OperationalError {
  override name = 'PoolTimeoutError';
}

/** A sync ORM call got no answer from its database worker in time; it gave up instead of blocking forever. */
export class SyncTimeoutError extends OperationalError {
  override name = 'SyncTimeoutError';
}

/** A transaction was used the wrong way (e.g. a sync atomic() body returned a promise). */
export class TransactionManagementError extends Error {
  override name = 'TransactionManagementError';
}

/** The sticky worker thread died or could not run a call. */
export class WorkerCrashedError extends Error {
  override name = 'WorkerCrashedError';
}

/** What a driver error looks like once it has crossed a thread boundary. */
export interface SerializedDriverError {
  name: string;
  message: string;
  code?: string | undefined;
}

const REBUILDABLE: Record<string, (message: string, code?: string) => Error> = {
  IntegrityError: (message, code) => new IntegrityError(message, code),
  OperationalError: (message, code) => new OperationalError(message, code),
  PoolTimeoutError: (message, code) => new PoolTimeoutError(message, code),
  DatabaseError: (message, code) => new DatabaseError(message, code),
  TypeError: (message) => new TypeError(message),
  RangeError: (message) => new RangeError(message),
};

/**
 * Maps a driver error (in-thread or serialized from the worker) to our DatabaseError hierarchy,
 * so the same failure raises the same class and message on every path.
 */
export function wrapDriverError(error: unknown): Error {
  if (!(error instanceof Error) && !(typeof error === 'object' && error !== null && 'message' in error)) {
    return new DatabaseError(String(error));
  }
  const { name, message, code } = error as SerializedDriverError;
  if (error instanceof DatabaseError) return error;
  if (!(error instanceof Error)) {
    // Serialized in the worker: rebuild the class it had there.
    const rebuilt = REBUILDABLE[name];
    if (rebuilt) return rebuilt(message, code);
  }
  if (name !== 'SqliteError' && name !== 'DatabaseError' && !code) {
    // Not a driver error (a bug or a TypeError in our own code): keep it as it is.
    return error instanceof Error ? error : Object.assign(new Error(message), { name });
  }
  const options = error instanceof Error ? { cause: error } : undefined;
  if (code && (code.startsWith('SQLITE_CONSTRAINT') || code.startsWith('23'))) {
    return new IntegrityError(message, code, options);
  }
  if (code && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED') || code.startsWith('SQLITE_CANTOPEN') || code.startsWith('08') || code.startsWith('57'))) {
    return new OperationalError(message, code, options);
  }
  return new DatabaseError(message, code, options);
}

/** An options object had a key the method does not know (a TypeError, as an unexpected keyword argument is in Python). */
export class UnknownOptionError extends TypeError {
  override name = 'UnknownOptionError';
}
