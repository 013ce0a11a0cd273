/**
 * What a rule is and what it may ask while the engine walks a file. Rules never touch the file
 * system and never see other files: they name the node kinds they want, look at each node, and
 * report candidates whose project-wide conditions (is it really the ORM? is it inside a
 * connection block?) the engine settles after every file has been walked.
 */
import type ts from 'typescript';
import type { ConditionFact, Evidence } from './facts.js';
import type { RuleId, Severity } from './types.js';
import type { ContextCallMatch } from './context-model.js';
import type { Preset } from '../presets/index.js';

export interface RuleMeta<MessageId extends string> {
  id: RuleId;
  /** One line: what the rule finds. */
  description: string;
  /** `orm-migrate fix` can rewrite its findings. */
  fixable: boolean;
  defaultSeverity: Severity;
  /** Why it matters and what to do instead (SARIF help, `--format json`). */
  help: string;
  /** Message templates by id; `{{name}}` is replaced by the report's data. */
  messages: Record<MessageId, string>;
}

/** A call of an ORM method or function, matched by name; whether it really is the ORM is a condition. */
export interface OrmCallMatch {
  call: ts.CallExpression;
  /** The method or function name (the imported name when a function was renamed on import). */
  name: string;
  flavor: 'async' | 'sync';
  /** The other half of the async↔sync pair. */
  twin: string;
  /** `receiver.name(...)` or a bare `name(...)`. */
  shape: 'method' | 'function';
  evidence: Evidence;
}

export interface OrmIterationMatch {
  statement: ts.ForOfStatement;
  flavor: 'async' | 'sync';
  evidence: Evidence;
}

/**
 * A QuerySet consumed as a sync iterable other than by for…of: `[...x]`, `f(...x)`,
 * `Array.from(x)`, `new Set(x)`, `const [a] = x`, `[a] = x`, `yield* x` in a sync generator,
 * `Promise.all(x)`, `Object.fromEntries(x)`.
 */
export interface OrmIterableMatch {
  /** The node that consumes it (the spread element, the call, the declaration …): what is reported. */
  consumer: ts.Node;
  /** The iterated expression. */
  iterated: ts.Expression;
  evidence: Evidence;
}

/** `choice.question` read where `question` may be a foreign key of the receiver's model (a lazy, sync `get()`). */
export interface ForeignKeyReadMatch {
  access: ts.PropertyAccessExpression;
  field: string;
  evidence: Evidence;
}

export interface CalleeMatch {
  call: ts.CallExpression;
  evidence: Evidence;
}

/** An opaque condition the engine evaluates after the walk. */
export type RuleCondition = ConditionFact;

export interface ReportDescriptor<MessageId extends string> {
  node: ts.Node;
  messageId: MessageId;
  data?: Record<string, string>;
  /** All must hold; without conditions the finding is unconditional. */
  when?: readonly RuleCondition[];
}

export interface RuleContext<MessageId extends string> {
  readonly sourceFile: ts.SourceFile;
  /** The configured connection function's name (for messages). */
  readonly connectionName: string;
  /** The preset the scan serves: its wording, escape hatch and context model. */
  readonly preset: Preset;
  /** A preset's context-needing call (`em.find()` on an EntityManager that is not a fork); always undefined for the runtime preset. */
  contextCall(call: ts.CallExpression): ContextCallMatch | undefined;
  /** `x.aget()`, `aatomic()`, `q.save()` …: a call whose name is on the ORM's async↔sync map. */
  ormCall(call: ts.CallExpression): OrmCallMatch | undefined;
  /** `for (… of x)` / `for await (… of x)` with the evidence that `x` is an ORM QuerySet. */
  ormIteration(statement: ts.ForOfStatement): OrmIterationMatch | undefined;
  /** `node` iterates `x` synchronously, as the forms of OrmIterableMatch do, with the evidence that `x` is an ORM QuerySet. */
  ormIterable(node: ts.Node): OrmIterableMatch | undefined;
  /** A read of a property that may be a lazy foreign key of a model instance, with the evidence that it is one. */
  foreignKeyRead(access: ts.PropertyAccessExpression): ForeignKeyReadMatch | undefined;
  /** A call of the ORM's legacy thread wrapper (`syncToAsync(...)`), by name. */
  syncToAsyncCall(call: ts.CallExpression): CalleeMatch | undefined;
  /** Source text of a node, shortened for a message. */
  excerpt(node: ts.Node, maxLength?: number): string;
  readonly when: {
    /** The matched call / iteration really is the ORM (type checker, else imports followed). */
    isOrm(evidence: Evidence): RuleCondition;
    /**
     * The node being visited runs outside every connection block (call-graph analysis); with
     * `parameter`, only through the calls that pass the enclosing function something other than a
     * fork there.
     */
    outsideConnection(parameter?: number): RuleCondition;
    /** The node being visited runs only inside connection blocks (call-graph analysis). */
    insideConnection(): RuleCondition;
  };
  report(descriptor: ReportDescriptor<MessageId>): void;
}

/** What a rule's text prefilter may use besides the file's text. */
export interface RuleSurface {
  connectionName: string;
  syncToAsyncName: string;
  /** The preset (default: the runtime's). */
  preset?: Preset;
}

export interface Rule<MessageId extends string = string> {
  meta: RuleMeta<MessageId>;
  /** The node kinds `check` is called for, in one walk shared by every rule. */
  nodeKinds: readonly ts.SyntaxKind[];
  /** A cheap test of the file's text: when false, the rule is not dispatched for that file at all. */
  appliesTo?(text: string, surface: RuleSurface): boolean;
  check(node: ts.Node, context: RuleContext<MessageId>): void;
}

/** Identity helper that keeps a rule's message ids checked against its reports. */
export function defineRule<MessageId extends string>(rule: Rule<MessageId>): Rule<MessageId> {
  return rule;
}

/** Replaces `{{name}}` placeholders; an unknown placeholder stays visible rather than vanishing. */
export function formatMessage(template: string, data: Record<string, string>): string {
  // Split once per template (a scan formats one message per finding, from a handful of templates).
  let parts = templateParts.get(template);
  if (!parts) {
    parts = [];
    let last = 0;
    for (const match of template.matchAll(PLACEHOLDER)) {
      parts.push(template.slice(last, match.index), match[1] as string, match[0]);
      last = match.index + match[0].length;
    }
    parts.push(template.slice(last));
    templateParts.set(template, parts);
  }
  let text = parts[0] as string;
  for (let index = 1; index < parts.length; index += 3) {
    text += (data[parts[index] as string] ?? parts[index + 1]) + (parts[index + 2] as string);
  }
  return text;
}

const PLACEHOLDER = /\{\{\s*(\w+)\s*\}\}/g;
/** Per template: literal, then (key, placeholder as written, literal) for each placeholder. */
const templateParts = new Map<string, string[]>();
