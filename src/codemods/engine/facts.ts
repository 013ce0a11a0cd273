/**
 * What one walk over one file records. In syntactic mode these are plain data (they cross
 * worker threads); in type-aware mode some carry the AST node so the type checker can answer
 * later, once the whole project has been walked.
 */
import type ts from 'typescript';
import type { FunctionKind, RuleId } from './types.js';

/** Where a value comes from: an export of a module (a bare specifier, or an absolute file path). */
export interface Origin {
  module: string;
  /** Export name, `default`, or `*` for the module namespace / `module.exports`. */
  name: string;
}

/** What an ORM verdict is asked about: "is this the ORM?", "is this the connection function?" … */
export type EvidenceTarget = 'orm' | 'connection' | 'sync-to-async';

/**
 * Why the engine may think a node is the ORM. Resolved after the walk: by the type checker when
 * there is one (and it knows the answer), else by following the origins through the project.
 */
export interface Evidence {
  target: EvidenceTarget;
  /** Origins of the receiver (method call) or callee (function call); any one that is the target suffices. */
  origins: Origin[];
  /** Type-aware mode only, while the file's program is alive: the node to ask the checker about. */
  node?: ts.Node;
  /** Type-aware mode: the checker's answer, settled before the program is dropped. */
  verdict?: 'yes' | 'no' | 'unknown';
  /**
   * How `node` is asked: a callee (`name` or `receiver.name`), an iterated expression, or a
   * receiver whose type must be (or extend) one of `classes` declared in the ORM (a preset's
   * context-needing objects: `em` of `em.find()`).
   */
  shape?: 'callee' | 'iterated' | 'receiver' | 'foreign-key';
  /**
   * A lazy foreign-key read (`choice.question`): the field read. Without types it holds when an
   * origin of the receiver is a model whose definition declares this field with `foreignKey(…)`
   * (ExportFact.foreignKeys); shape 'foreign-key' asks the checker (node: the property access).
   */
  foreignKey?: string;
  /** shape 'receiver': the ORM classes the receiver's type must be or extend. */
  classes?: readonly string[];
  /**
   * A route handler of this app or router (a preset's RouteMount names): it holds when every
   * mount of the router comes after a context middleware, which only the whole project can say.
   */
  route?: Origin;
}

export type RoleCandidate = { role: 'connection-callback' | 'thread-callback'; evidence: Evidence };

export interface FunctionFact {
  name: string | undefined;
  /** Kind before role candidates are decided (`inline` until a connection/thread callback is confirmed). */
  kind: Exclude<FunctionKind, 'connection-callback' | 'thread-callback'>;
  role: RoleCandidate | undefined;
  /** An inline function handed to a call that runs it later (see ReferenceVia 'scheduled'). */
  scheduled?: boolean;
  /** A listener handed to `emitter.on('name', cb)` (once, addListener, prepend…): the event it listens to (see FileFacts.emits). */
  listens?: string;
  /** A framework entry point that runs outside every context whoever else calls it (a preset's `@Cron()` method). */
  startsOutside?: boolean;
  /**
   * A framework entry point the framework runs inside a context (a NestJS controller handler under
   * MikroOrmModule): inside unless someone else calls it from outside (a test calling the handler).
   */
  startsInside?: boolean;
  /**
   * A method the ORM hands out where the scan cannot see its callers (a custom repository's, see
   * EntryPoints.unseenCallerBaseClasses), when the evidence holds: not a root when nothing visible calls it.
   */
  unseenCallers?: Evidence;
  /**
   * An instance method (or instance field holding a function) of a class with an `extends` clause:
   * it may override a method of the base class, which then runs it through `this.name()`.
   */
  subclassMethod?: true;
  async: boolean;
  /** Local index of the lexically enclosing function (the module is 0 and has parent -1). */
  parent: number;
  /** Offsets (no leading trivia); lines and columns are computed when reported. */
  start: number;
  end: number;
  /** What `fix` needs to know to wrap this function's body; the module has none. */
  wrap?: WrapFacts;
}

/**
 * What decides whether `fix` can wrap a function's body (fix/wrap.ts `unwrappableReason`, and the
 * promises it drops, fix/floating.ts), recorded by the walk so the fix's plan never parses a
 * file again to check a root.
 */
export interface WrapFacts {
  /** A constructor or an accessor: it cannot be async. */
  accessor?: true;
  generator?: true;
  /** Not async, and handed directly as an argument to a call or `new` (a callback that runs later). */
  argument?: true;
  /** 1-based line of the first `arguments` its body reads (its own, or through nested arrows). */
  argumentsLine?: number;
  /** Where its body starts (with leading trivia): dropped promises in its parameters do not count. */
  bodyStart: number;
  /**
   * A call by a sync ORM method's name (or a sync-only runtime function's), or a sync for…of, runs
   * in this function itself: wrapping a root that reaches it needs the fix's closer look.
   */
  syncCall?: true;
  /** Promises dropped by statements whose innermost function is this one, in walk order. */
  floating?: FloatingWorkFact[];
}

/** A statement that drops the promise of a call, or hands an async callback to forEach (see fix/floating.ts). */
export interface FloatingWorkFact {
  kind: 'call' | 'forEach';
  /** The called name (`helper` for `helper()` or `this.helper()`); `forEach` for forEach. */
  name: string;
  /** forEach: where the async callback starts (a function id's offset); -1 for calls. */
  callbackStart: number;
  /** Offset of the call, and its 1-based line, for messages. */
  start: number;
  line: number;
}

/** What a name at a reference site denotes, as far as the file alone can tell. */
export type SyntacticTarget =
  | { kind: 'local'; fn: number }
  | { kind: 'import'; module: string; name: string }
  | { kind: 'import-member'; module: string; name: string; member: string }
  | { kind: 'none' };

/**
 * How a function is reached from a reference: called, handed on as a value, passed to the
 * connection function (runs inside) or the thread wrapper (runs outside), or handed to a call
 * that runs it later, after the caller's block may have ended (`setTimeout`, an event emitter's
 * `on`, a router's `get`, mocha's `it`): 'scheduled', its own root.
 */
export type ReferenceVia = 'call' | 'value' | 'connection-entry' | 'thread-entry' | 'scheduled';

export interface ReferenceFact {
  /** Local index of the function the reference sits in. */
  owner: number;
  name: string;
  via: ReferenceVia;
  target: SyntacticTarget;
  /** `this.name` (dynamic dispatch): it may also run a subclass's override of `name` (FunctionFact.subclassMethod). */
  viaThis?: true;
  /** connection-entry / thread-entry: whether the called function really is that function. */
  entryEvidence?: Evidence;
  /** Type-aware mode only, while the file's program is alive: the identifier to resolve with the checker. */
  node?: ts.Identifier | ts.PrivateIdentifier;
  /** Type-aware mode: `file#start` of the functions the checker resolved the name to. */
  typeTargets?: string[];
  /** A call that passes a preset's forked EntityManager (no context needed): the indexes of those arguments. */
  forkArguments?: number[];
}

export interface ExportFact {
  /** Where the exported value comes from, when it derives from imports. */
  origins: Origin[];
  /** The exported binding is a function of this file. */
  fn?: number;
  /** Functions reachable as `exported.member` (object literal properties, class methods). */
  members?: Record<string, number>;
  /** `export { x } from './m'`: follow there. */
  reexport?: Origin;
  /** A model defined here (`defineModel(…, { fields: { question: fields.foreignKey(() => Question) } })`): its foreign-key fields → the related model's name as written ('' when not a plain name). */
  foreignKeys?: Record<string, string>;
}

export type ConditionFact =
  | { kind: 'orm'; evidence: Evidence }
  /**
   * `parameter`: the call's receiver is that parameter of `fn` (a preset's `em` handed in), so only
   * the calls of `fn` that pass something other than a fork there count.
   */
  | { kind: 'outside-connection'; fn: number; parameter?: number }
  | { kind: 'inside-connection'; fn: number };

export interface CandidateFact {
  ruleId: RuleId;
  messageId: string;
  data: Record<string, string>;
  start: number;
  end: number;
  /** Where the finding's line:col points when not at `start`: a method call's name (see callSitePosition). */
  at?: number;
  /** All must hold for the candidate to become a finding. */
  conditions: readonly ConditionFact[];
  /** sync-in-async-context and sync-to-async-wrapper: what fix's rewrite of it depends on. */
  rewrite?: RewriteFacts;
}

/**
 * What decides whether fix can rewrite a finding in place (fix/rewrite-facts.ts), so scan's
 * fixable count need not parse the file again:
 * - a sync call or loop: where `await` would go (the start of the enclosing function, whether it
 *   is async; the module's top level; or nowhere, in a parameter or a class field) and the call's
 *   shape (`x.get()`, a function like `atomic(cb)` whose inline callback, starting at this offset,
 *   the rewrite makes async, or one fix does not rewrite);
 * - a thread wrapper: whether its shape is one fix unwraps.
 */
export type RewriteFacts =
  | { kind: 'sync'; awaitIn: number | 'module' | 'never'; awaitAsync: boolean; shape: number | 'plain' | 'manual' }
  | { kind: 'wrapper'; rewritable: boolean };

export interface ParseErrorFact {
  message: string;
  start: number;
  end: number;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

export interface FileFacts {
  file: string;
  parseError: ParseErrorFact | undefined;
  /** Offsets where each line starts (lines and columns of findings are computed from these). */
  lineStarts: readonly number[];
  /** Index 0 is the module itself. */
  functions: FunctionFact[];
  references: ReferenceFact[];
  exports: Record<string, ExportFact>;
  starExports: string[];
  candidates: CandidateFact[];
  /** A preset's router mounts (`app.use('/users', usersRouter)`), for `Evidence.route`. */
  routeMounts?: RouteMountFact[];
  /**
   * `emitter.emit('name', …)` calls, by the function they are written in: emit runs the listeners
   * of that event in place (FunctionFact.listens), so each is a call of those listeners.
   */
  emits?: { owner: number; event: string }[];
}

/**
 * `app.use(path, router)` / `app.register(plugin)`: `router` (an app, router or plugin by its
 * project-wide name, see context-model.ts routerKey) is mounted on `on`, after a context
 * middleware of `on` (`covered`) or not.
 */
export interface RouteMountFact {
  router: Origin;
  on?: Origin;
  covered: boolean;
}
