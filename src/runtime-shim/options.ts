/** The one check every public method runs on its options object: unknown keys are errors, never ignored. */
import { UnknownOptionError } from './errors.js';

/** The keys a method accepts, and Django options it deliberately lacks (with what to do instead). */
export interface OptionSpec {
  readonly valid: readonly string[];
  readonly unsupported?: Readonly<Record<string, string>>;
}

const USING: OptionSpec = { valid: ['using'] };

/** Every public method's options, in one table (sync and async twins share theirs). */
export const OPTIONS = {
  newConnection: USING,
  atomic: { valid: ['using'], unsupported: { savepoint: 'every nested block is a savepoint', durable: "Django's durable=True" } },
  migrate: USING,
  bulkCreate: {
    valid: ['batchSize'],
    unsupported: {
      ignoreConflicts: "Django's ignore_conflicts",
      updateConflicts: "Django's update_conflicts",
      updateFields: "Django's update_fields (upsert)",
      uniqueFields: "Django's unique_fields (upsert)",
    },
  },
  bulkUpdate: { valid: ['batchSize'] },
  inBulk: { valid: ['fieldName'] },
  updateOrCreate: { valid: ['createDefaults'] },
  iterator: { valid: [], unsupported: { chunkSize: 'rows are read in one statement' } },
  explain: { valid: [], unsupported: { format: 'the plan is text', analyze: '', verbose: '', costs: '', buffers: '' } },
  aggregate: { valid: ['distinct', 'default'], unsupported: { filter: "Django's filter=Q(...): filter the queryset instead" } },
  save: { valid: ['updateFields'], unsupported: { forceInsert: '', forceUpdate: '', using: 'an instance saves to the alias it came from' } },
  refreshFromDb: { valid: ['fields', 'fromQueryset'], unsupported: { using: 'pass fromQueryset: Model.objects.using(alias)' } },
} as const satisfies Record<string, OptionSpec>;

/**
 * Throws when `options` is not undefined or an object, or has a key `spec` does not list.
 * `owner` prefixes the method in messages (`Question.objects`). One key loop per call.
 */
export function checkOptions(options: unknown, spec: OptionSpec, method: string, owner?: string): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    const got = options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options;
    throw new TypeError(`${subject(method, owner)} options must be an object such as { ${spec.valid[0] ?? ''} }, not ${got}`);
  }
  for (const key in options) {
    if (!spec.valid.includes(key)) throw unknownOption(key, spec, method, owner);
  }
}

function subject(method: string, owner: string | undefined): string {
  return `${owner ? `${owner}.` : ''}${method}()`;
}

function unknownOption(key: string, spec: OptionSpec, method: string, owner: string | undefined): UnknownOptionError {
  const valid = `valid options: ${spec.valid.length > 0 ? spec.valid.join(', ') : '(none)'}`;
  const instead = spec.unsupported && Object.hasOwn(spec.unsupported, key) ? spec.unsupported[key] : undefined;
  if (instead !== undefined) {
    return new UnknownOptionError(`${subject(method, owner)} does not support the option '${key}'${instead ? ` (${instead})` : ''}; ${valid}`);
  }
  return new UnknownOptionError(`${subject(method, owner)} got an unknown option '${key}'; ${valid}`);
}
