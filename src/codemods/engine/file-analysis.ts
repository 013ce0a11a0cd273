/**
 * ONE walk over one file. On the way down it keeps lexical scopes and the stack of enclosing
 * functions, records the facts the project-level analysis needs (functions, references between
 * them, exports) and hands each node to the rules that asked for its kind.
 */
import ts from '../typescript.cjs';

import type {
  CandidateFact,
  ConditionFact,
  Evidence,
  EvidenceTarget,
  ExportFact,
  FileFacts,
  FunctionFact,
  ParseErrorFact,
  ReferenceFact,
  ReferenceVia,
  SyntacticTarget,
  WrapFacts,
} from './facts.js';
import { floatingWorkOfStatement } from './floating-work.js';
import { isProjectModule } from './origin-resolver.js';
import { SYNC_ONLY_FUNCTIONS } from '../../runtime-shim/surface.js';
import { rewriteFactsOf } from '../fix/rewrite-facts.js';
import type { FloatingWorkItem } from './floating-work.js';
import type { CalleeMatch, ForeignKeyReadMatch, OrmCallMatch, OrmIterableMatch, OrmIterationMatch, Rule, RuleContext } from './rule-api.js';
import { ScopeTracker, declaresNames, unwrapExpression } from './syntactic-scope.js';
import type { Binding } from './syntactic-scope.js';
import { ContextModelWalker } from './context-model.js';
import type { ContextSurface } from './context-model.js';
import { runtimePreset } from '../presets/runtime.js';
import type { Preset } from '../presets/index.js';

// ts.X is a getter on TypeScript's module object: read the enum once, not in every switch case
// (and forEachChild, which the walk calls for every node).
const { SyntaxKind, forEachChild } = ts;

/** The ORM surface as names: what a call must be called to be a candidate at all. */
export interface OrmSurface {
  asyncToSync: ReadonlyMap<string, string>;
  syncToAsync: ReadonlyMap<string, string>;
  connectionName: string;
  /** Which argument of the connection function is the callback that runs inside the block. */
  connectionCallbackArgument: number;
  syncToAsyncName: string;
  /** The preset (default: the runtime's). */
  preset?: Preset;
  /** A preset with a context model (MikroORM): what needs a context and what opens one. */
  context?: ContextSurface;
  /**
   * The names model definitions in the scanned files declare as foreign keys (foreignKeyFieldNames):
   * a property read by another name is no lazy foreign-key read, and is never put to the checker.
   * Undefined: every name may be one (fix's own finder, which looks at a few files).
   */
  foreignKeyFields?: ReadonlySet<string>;
}

const FOREIGN_KEY_FIELD = /([A-Za-z_$][\w$]*)['"]?\s*:\s*(?:(?:[A-Za-z_$][\w$]*\s*\.\s*)?foreignKey|new\s+ForeignKeyField)\s*[(<]/g;

/** Field names declared with `fields.foreignKey(…)` (or `new ForeignKeyField(…)`) in these texts. */
export function foreignKeyFieldNames(texts: Iterable<string>): Set<string> {
  const names = new Set<string>();
  for (const text of texts) {
    if (!text.includes('oreignKey')) continue;
    for (const match of text.matchAll(FOREIGN_KEY_FIELD)) names.add(match[1] as string);
  }
  return names;
}

/** Rules indexed by the SyntaxKind they registered for. */
export type RuleDispatch = ReadonlyArray<readonly Rule[] | undefined>;

export function buildRuleDispatch(rules: readonly Rule[]): RuleDispatch {
  const table: Rule[][] = [];
  for (const rule of rules) {
    for (const kind of rule.nodeKinds) (table[kind] ??= []).push(rule);
  }
  return table;
}

const filteredDispatch = new WeakMap<RuleDispatch, Map<string, RuleDispatch>>();
const rulesOfDispatch = new WeakMap<RuleDispatch, readonly Rule[]>();

/** The dispatch table without the rules whose text prefilter rules this file out (memoised per combination). */
function dispatchForText(dispatch: RuleDispatch, text: string, surface: OrmSurface): RuleDispatch {
  let rules = rulesOfDispatch.get(dispatch);
  if (!rules) {
    const distinct = new Set<Rule>();
    for (const list of dispatch) for (const rule of list ?? []) distinct.add(rule);
    rulesOfDispatch.set(dispatch, (rules = [...distinct]));
  }
  const skipped = rules.filter((rule) => rule.appliesTo && !rule.appliesTo(text, surface));
  if (skipped.length === 0) return dispatch;
  const key = skipped.map((rule) => rule.meta.id).join(',');
  let byKey = filteredDispatch.get(dispatch);
  if (!byKey) filteredDispatch.set(dispatch, (byKey = new Map()));
  let filtered = byKey.get(key);
  if (!filtered) byKey.set(key, (filtered = buildRuleDispatch(rules.filter((rule) => !skipped.includes(rule)))));
  return filtered;
}

export interface FileAnalysisOptions {
  surface: OrmSurface;
  dispatch: RuleDispatch;
  /** Module key for a specifier written in this file: absolute path of a project file, or the bare specifier. */
  resolveSpecifier: (specifier: string) => string | undefined;
  /** Type-aware mode: keep AST nodes in the facts for the checker. */
  keepNodes: boolean;
}

export type FunctionNode =
  | ts.FunctionDeclaration
  | ts.FunctionExpression
  | ts.ArrowFunction
  | ts.MethodDeclaration
  | ts.ConstructorDeclaration
  | ts.GetAccessorDeclaration
  | ts.SetAccessorDeclaration;

/** A function-like declaration that has a body (not an overload or abstract signature). */
export function isFunctionWithBody(node: ts.Node): node is FunctionNode & { body: ts.ConciseBody } {
  switch (node.kind) {
    case SyntaxKind.FunctionDeclaration:
    case SyntaxKind.FunctionExpression:
    case SyntaxKind.ArrowFunction:
    case SyntaxKind.MethodDeclaration:
    case SyntaxKind.Constructor:
    case SyntaxKind.GetAccessor:
    case SyntaxKind.SetAccessor:
      return (node as FunctionNode).body !== undefined;
    default:
      return false;
  }
}

/** What fix needs to decide whether it can wrap this function's body (the walk adds `arguments` and floating work). */
function wrapFactsOf(fn: FunctionNode, async: boolean): WrapFacts {
  const wrap: WrapFacts = { bodyStart: fn.body?.pos ?? fn.end };
  if (fn.kind === SyntaxKind.Constructor || fn.kind === SyntaxKind.GetAccessor || fn.kind === SyntaxKind.SetAccessor) wrap.accessor = true;
  if ((fn as { asteriskToken?: ts.AsteriskToken }).asteriskToken) wrap.generator = true;
  if (!async) {
    const parent = fn.parent;
    if (parent && (parent.kind === SyntaxKind.CallExpression || parent.kind === SyntaxKind.NewExpression) && (parent as ts.CallExpression | ts.NewExpression).arguments?.includes(fn as ts.Expression)) wrap.argument = true;
  }
  return wrap;
}

function hasModifier(node: ts.Node, kind: ts.SyntaxKind): boolean {
  const modifiers = (node as { modifiers?: ts.NodeArray<ts.ModifierLike> }).modifiers;
  return modifiers?.some((modifier) => modifier.kind === kind) ?? false;
}

const EMIT_METHODS: ReadonlySet<string> = new Set(['emit']);
const LISTENER_METHODS: ReadonlySet<string> = new Set(['on', 'once', 'addListener', 'prependListener', 'prependOnceListener']);

/** `x.emit('name', …)` / `x.on('name', cb)` with a literal event name: that name, when the method is one of `methods`. */
function eventNameOf(call: ts.CallExpression, methods: ReadonlySet<string>): string | undefined {
  const callee = call.expression;
  if (!ts.isPropertyAccessExpression(callee) || !methods.has(callee.name.text)) return undefined;
  const first = call.arguments[0];
  return first && (ts.isStringLiteral(first) || ts.isNoSubstitutionTemplateLiteral(first)) ? first.text : undefined;
}

/** An instance member of a class with an `extends` clause: the base class may call it through `this`. */
function isSubclassMember(member: ts.ClassElement): boolean {
  const cls = member.parent;
  if (!ts.isClassLike(cls) || hasModifier(member, SyntaxKind.StaticKeyword)) return false;
  return cls.heritageClauses?.some((clause) => clause.token === SyntaxKind.ExtendsKeyword) === true;
}

function propertyNameText(name: ts.PropertyName | ts.BindingName | undefined): string | undefined {
  if (!name) return undefined;
  if (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name) || ts.isPrivateIdentifier(name)) return name.text;
  return undefined;
}

/** Parse diagnostics are not on the public SourceFile type; the parser has always recorded them there. */
function parseDiagnosticsOf(sourceFile: ts.SourceFile): readonly ts.DiagnosticWithLocation[] {
  return (sourceFile as ts.SourceFile & { parseDiagnostics?: ts.DiagnosticWithLocation[] }).parseDiagnostics ?? [];
}

/** The first syntax error of a file, or undefined when it parses. */
export function parseErrorOf(sourceFile: ts.SourceFile): ParseErrorFact | undefined {
  const diagnostic = parseDiagnosticsOf(sourceFile)[0];
  if (!diagnostic) return undefined;
  const start = diagnostic.start;
  const end = start + Math.max(diagnostic.length, 0);
  const from = sourceFile.getLineAndCharacterOfPosition(start);
  const to = sourceFile.getLineAndCharacterOfPosition(end);
  return {
    message: ts.flattenDiagnosticMessageText(diagnostic.messageText, ' '),
    start,
    end,
    line: from.line + 1,
    column: from.character + 1,
    endLine: to.line + 1,
    endColumn: to.character + 1,
  };
}

/**
 * Where V8 places a call in a stack trace, so a finding's file:line:col is the one the runtime's
 * warning names for the same call: a method call (`a.b.aget()`, also as the iterable of a
 * `for await`) is at its method name, anything else at its start.
 */
export function callSitePosition(node: ts.Node, sourceFile: ts.SourceFile): number | undefined {
  return ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) ? node.expression.name.getStart(sourceFile) : undefined;
}

const NO_CONDITIONS: readonly ConditionFact[] = [];

/**
 * Conditions of one file's candidates, shared where they are equal: every ORM call of a function
 * has the same "outside a block" condition, and (without types) the same evidence for the same
 * origins. Candidates are the bulk of what a scan keeps alive; sharing halves the objects the
 * garbage collector copies. Type-aware evidence carries its own node, so it is never shared.
 */
class ConditionTable {
  private readonly outside: ConditionFact[] = [];
  private readonly inside: ConditionFact[] = [];
  private readonly ormByEvidence = new Map<Evidence, ConditionFact>();
  private readonly lists = new Map<ConditionFact, Map<ConditionFact, ConditionFact[]>>();

  placed(kind: 'outside-connection' | 'inside-connection', fn: number): ConditionFact {
    const table = kind === 'outside-connection' ? this.outside : this.inside;
    return (table[fn] ??= { kind, fn });
  }

  orm(evidence: Evidence): ConditionFact {
    let condition = this.ormByEvidence.get(evidence);
    if (!condition) this.ormByEvidence.set(evidence, (condition = { kind: 'orm', evidence }));
    return condition;
  }

  /** A list of two conditions (what rules report) as one shared array; others as given. */
  list(conditions: ConditionFact[]): ConditionFact[] {
    if (conditions.length !== 2) return conditions;
    const [first, second] = conditions as [ConditionFact, ConditionFact];
    let bySecond = this.lists.get(first);
    if (!bySecond) this.lists.set(first, (bySecond = new Map()));
    let shared = bySecond.get(second);
    if (!shared) bySecond.set(second, (shared = conditions));
    return shared;
  }
}

class FileAnalyzer {
  readonly conditions = new ConditionTable();
  /** Without types: one evidence per target and list of origins (by value), see ConditionTable. */
  private readonly sharedEvidence = new Map<string, Evidence>();
  private readonly scopes: ScopeTracker;
  private readonly functions: FunctionFact[] = [];
  private readonly functionIndex = new Map<ts.Node, number>();
  private readonly references: ReferenceFact[] = [];
  private readonly candidates: CandidateFact[] = [];
  private emits: { owner: number; event: string }[] | undefined;
  private readonly fnStack: number[] = [0];
  private readonly fnNodeStack: ts.Node[] = [];
  private readonly classStack: ts.ClassLikeDeclaration[] = [];
  private readonly ormCallMemo = new Map<ts.CallExpression, OrmCallMatch | null>();
  private readonly contexts = new Map<Rule, RuleContext<string>>();
  /** The preset's context model (undefined for the runtime preset, whose surface is names). */
  private readonly contextModel: ContextModelWalker | undefined;

  private readonly dispatchTable: RuleDispatch;
  /** The node whose children the walk is visiting: each visited node is linked to it. */
  private walkParent: ts.Node;

  constructor(
    private readonly sourceFile: ts.SourceFile,
    private readonly options: FileAnalysisOptions,
  ) {
    this.scopes = new ScopeTracker(options.resolveSpecifier);
    this.walkParent = sourceFile;
    this.dispatching = sourceFile;
    this.dispatchTable = dispatchForText(options.dispatch, sourceFile.text, options.surface);
    this.contextModel = options.surface.context
      ? new ContextModelWalker(options.surface.context, {
          scopes: this.scopes,
          keepNodes: options.keepNodes,
          currentClass: () => this.classStack[this.classStack.length - 1],
          currentFunction: () => this.fnNodeStack[this.fnNodeStack.length - 1],
          sourceFile,
        })
      : undefined;
    this.functions.push({
      name: undefined,
      kind: 'module',
      role: undefined,
      async: false,
      parent: -1,
      start: 0,
      end: sourceFile.end,
    });
    this.functionIndex.set(sourceFile, 0);
  }

  run(): FileFacts {
    const sourceFile = this.sourceFile;
    this.scopes.hoist(sourceFile.statements);
    this.dispatch(sourceFile);
    forEachChild(sourceFile, this.visit);
    const { exports, starExports } = this.collectExports();
    if (this.contextModel) {
      this.contextModel.noteRouterAliases(sourceFile);
      // A new list: an export's origins may be the scope's shared (memoised) list.
      for (const [name, fact] of Object.entries(exports)) if (!fact.reexport) fact.origins = [...fact.origins, ...this.contextModel.registryExportOrigins(name)];
      for (const [name, fact] of Object.entries(exports)) if (!fact.reexport) Object.assign(exports, this.contextModel.registryMemberExports(name));
    }
    const facts: FileFacts = {
      file: sourceFile.fileName,
      parseError: undefined,
      lineStarts: sourceFile.getLineStarts(),
      functions: this.functions,
      references: this.references,
      exports,
      starExports,
      candidates: this.candidates,
    };
    if (this.contextModel && this.contextModel.mounts.length > 0) facts.routeMounts = this.contextModel.mounts;
    if (this.emits) facts.emits = this.emits;
    return facts;
  }

  // ---------------------------------------------------------------- walk

  private readonly visit = (node: ts.Node): void => {
    // Parsed without parent links (see parseSource): link each node on the way down, so a node's
    // ancestors are linked whenever a rule looks at it.
    (node as { parent: ts.Node }).parent = this.walkParent;
    let scopes = 0;
    let enteredFunction = false;
    let enteredClass = false;

    if (isFunctionWithBody(node)) {
      this.fnStack.push(this.indexOfFunction(node));
      enteredFunction = true;
      this.scopes.push();
      scopes += 1;
      if ((ts.isFunctionExpression(node) || ts.isFunctionDeclaration(node)) && node.name) {
        this.scopes.bindValue(node.name.text, { kind: 'function', node });
      }
      for (const parameter of node.parameters) this.scopes.bindPattern(parameter.name, parameter, undefined);
      if (node.body && node.body.kind !== SyntaxKind.Block) this.scopes.recordReturn(node, node.body as ts.Expression);
      this.fnNodeStack.push(node);
    } else {
      switch (node.kind) {
        case SyntaxKind.Block:
        case SyntaxKind.ModuleBlock: {
          const statements = (node as ts.Block | ts.ModuleBlock).statements;
          if (declaresNames(statements)) {
            this.scopes.push();
            scopes += 1;
            this.scopes.hoist(statements);
          }
          break;
        }
        case SyntaxKind.CaseBlock:
          this.scopes.push();
          scopes += 1;
          for (const clause of (node as ts.CaseBlock).clauses) this.scopes.hoist(clause.statements);
          break;
        case SyntaxKind.ForStatement:
        case SyntaxKind.ForInStatement:
        case SyntaxKind.ForOfStatement: {
          const statement = node as ts.ForStatement | ts.ForInStatement | ts.ForOfStatement;
          if (node.kind === SyntaxKind.ForOfStatement && !(node as ts.ForOfStatement).awaitModifier) this.markSyncCall();
          this.scopes.push();
          scopes += 1;
          const initializer = statement.initializer;
          if (initializer && ts.isVariableDeclarationList(initializer)) {
            const iterated = ts.isForOfStatement(statement) ? statement.expression : undefined;
            for (const declaration of initializer.declarations) this.scopes.bindPattern(declaration.name, declaration, iterated);
          }
          break;
        }
        case SyntaxKind.Identifier:
          if ((node as ts.Identifier).escapedText === 'arguments') this.recordArguments(node as ts.Identifier);
          break;
        case SyntaxKind.ExpressionStatement:
          this.recordFloating(node as ts.ExpressionStatement);
          break;
        case SyntaxKind.CallExpression: {
          this.recordSyncCall(node as ts.CallExpression);
          this.recordForeignKey(node as ts.CallExpression);
          // (A preset's context, a RequestContext, nests without borrowing a transaction: its listeners keep their own.)
          const event = this.contextModel ? undefined : eventNameOf(node as ts.CallExpression, EMIT_METHODS);
          if (event !== undefined) (this.emits ??= []).push({ owner: this.currentFunction, event });
          break;
        }
        case SyntaxKind.SpreadElement:
        case SyntaxKind.NewExpression:
        case SyntaxKind.VariableDeclaration:
        case SyntaxKind.BinaryExpression:
        case SyntaxKind.YieldExpression:
          // Another sync iteration (`[...qs]`, `new Set(qs)`, `const [a] = qs`, `yield* qs`) may query.
          if (syncIterated(node)) this.markSyncCall();
          break;
        case SyntaxKind.ReturnStatement: {
          const returned = (node as ts.ReturnStatement).expression;
          const fn = this.fnNodeStack[this.fnNodeStack.length - 1];
          if (returned && fn) this.scopes.recordReturn(fn, returned);
          break;
        }
        case SyntaxKind.CatchClause: {
          const variable = (node as ts.CatchClause).variableDeclaration;
          this.scopes.push();
          scopes += 1;
          if (variable && ts.isIdentifier(variable.name)) this.scopes.bindValue(variable.name.text, { kind: 'opaque' });
          break;
        }
        case SyntaxKind.ClassDeclaration:
        case SyntaxKind.ClassExpression: {
          const cls = node as ts.ClassLikeDeclaration;
          this.classStack.push(cls);
          enteredClass = true;
          if (ts.isClassExpression(cls) && cls.name) {
            this.scopes.push();
            scopes += 1;
            this.scopes.bindValue(cls.name.text, { kind: 'class', node: cls });
          }
          break;
        }
        default:
          break;
      }
    }

    this.collectReferences(node);
    this.dispatch(node);
    this.walkParent = node;
    forEachChild(node, this.visit);
    this.walkParent = node.parent;

    while (scopes > 0) {
      this.scopes.pop();
      scopes -= 1;
    }
    if (enteredFunction) {
      this.fnStack.pop();
      this.fnNodeStack.pop();
    }
    if (enteredClass) this.classStack.pop();
  };

  /** The node the rules are looking at (a rule may report one of its children, not linked yet). */
  private dispatching: ts.Node;

  private dispatch(node: ts.Node): void {
    const rules = this.dispatchTable[node.kind];
    if (!rules) return;
    this.dispatching = node;
    for (const rule of rules) rule.check(node, this.contextFor(rule));
  }

  private get currentFunction(): number {
    return this.fnStack[this.fnStack.length - 1] ?? 0;
  }

  // ---------------------------------------------------------------- functions

  private indexOfFunction(node: ts.Node): number {
    const known = this.functionIndex.get(node);
    if (known !== undefined) return known;
    const fn = node as FunctionNode;
    // Scopes hand out functions declared further down, which the walk has not linked yet.
    if (fn.parent === undefined) linkAncestors(this.sourceFile, fn);
    const index = this.functions.length;
    this.functionIndex.set(node, index);
    // Reserve the slot first: computing the parent may recurse.
    const fact: FunctionFact = {
      name: undefined,
      kind: 'inline',
      role: undefined,
      async: hasModifier(fn, SyntaxKind.AsyncKeyword),
      parent: 0,
      start: fn.getStart(this.sourceFile),
      end: fn.end,
    };
    this.functions.push(fact);
    fact.parent = this.indexOfFunction(this.enclosingFunctionNode(fn));
    this.classifyFunction(fn, fact);
    fact.wrap = wrapFactsOf(fn, fact.async);
    return index;
  }

  /**
   * `arguments` read here: it is the `arguments` of the innermost non-arrow function, and counts
   * for it and for the arrows between (as fix/wrap.ts `usesArguments` sees it from each body).
   */
  private recordArguments(node: ts.Identifier): void {
    const parent = node.parent;
    if ((ts.isPropertyAccessExpression(parent) || ts.isPropertyAssignment(parent)) && parent.name === node) return;
    let line: number | undefined;
    let child: ts.Node = node;
    for (let current: ts.Node | undefined = parent; current && !ts.isSourceFile(current); child = current, current = current.parent) {
      if (ts.isClassLike(current)) return;
      if (!isFunctionWithBody(current)) continue;
      if (current.body === child) {
        const wrap = this.functions[this.indexOfFunction(current)]?.wrap;
        if (wrap && wrap.argumentsLine === undefined) wrap.argumentsLine = line ??= this.sourceFile.getLineAndCharacterOfPosition(node.getStart(this.sourceFile)).line + 1;
      }
      if (current.kind !== SyntaxKind.ArrowFunction) return;
    }
  }

  private markSyncCall(): void {
    const wrap = this.functions[this.currentFunction]?.wrap;
    if (wrap) wrap.syncCall = true;
  }

  /** A call by a sync ORM name, by the name the callee is called (a renamed import by its exported name). */
  private recordSyncCall(call: ts.CallExpression): void {
    const wrap = this.functions[this.currentFunction]?.wrap;
    if (!wrap || wrap.syncCall) return;
    const name = this.calleeName(unwrapExpression(call.expression));
    if (name !== undefined && (this.options.surface.syncToAsync.has(name) || SYNC_ONLY_FUNCTIONS.includes(name))) wrap.syncCall = true;
    else if (syncIterated(call)) wrap.syncCall = true;
  }

  /** Foreign-key fields of the models defined in this file, by the variable that holds the model. */
  private readonly foreignKeys = new Map<ts.Node, Record<string, string>>();

  /** `question: fields.foreignKey(() => Question)` in a model's definition held by a variable. */
  private recordForeignKey(call: ts.CallExpression): void {
    const callee = call.expression;
    const name = callee.kind === SyntaxKind.PropertyAccessExpression ? (callee as ts.PropertyAccessExpression).name.text : callee.kind === SyntaxKind.Identifier ? (callee as ts.Identifier).text : undefined;
    if (name !== 'foreignKey') return;
    const property = call.parent;
    if (!property || !ts.isPropertyAssignment(property)) return;
    const field = propertyNameText(property.name);
    if (field === undefined) return;
    // Up through the definition's object literals and the defining call to the variable.
    let holder: ts.Node | undefined = property.parent;
    for (let steps = 0; holder && steps < 8 && !ts.isVariableDeclaration(holder); steps += 1) {
      if (isFunctionWithBody(holder) || ts.isSourceFile(holder) || ts.isBlock(holder)) return;
      holder = holder.parent;
    }
    if (!holder || !ts.isVariableDeclaration(holder)) return;
    const target = call.arguments[0] && unwrapExpression(call.arguments[0]);
    const related = target && ts.isArrowFunction(target) ? unwrapExpression(target.body as ts.Expression) : target;
    const model = related && (ts.isIdentifier(related) || ts.isStringLiteral(related)) ? related.text : '';
    let fields = this.foreignKeys.get(holder);
    if (!fields) this.foreignKeys.set(holder, (fields = Object.create(null) as Record<string, string>));
    fields[field] = model;
  }

  /** A statement that drops a promise, recorded on the innermost function (top-level code is planned from its tree). */
  private recordFloating(statement: ts.ExpressionStatement): void {
    const owner = this.currentFunction;
    if (owner === 0) return;
    const wrap = this.functions[owner]?.wrap;
    if (!wrap) return;
    const found: FloatingWorkItem[] = [];
    floatingWorkOfStatement(statement, this.sourceFile, found);
    if (found.length === 0) return;
    const list = (wrap.floating ??= []);
    for (const item of found) list.push({ ...item, line: this.sourceFile.getLineAndCharacterOfPosition(item.start).line + 1 });
  }

  private enclosingFunctionNode(node: ts.Node): ts.Node {
    for (let current = node.parent; current; current = current.parent) {
      if (isFunctionWithBody(current)) return current;
      if (ts.isSourceFile(current)) return current;
    }
    return this.sourceFile;
  }

  /** Named (runs where it is called from) or inline (runs where it is written), plus a role candidate. */
  private classifyFunction(fn: FunctionNode, fact: FunctionFact): void {
    if (ts.isFunctionDeclaration(fn)) {
      fact.kind = 'named';
      fact.name = fn.name?.text ?? 'default';
      return;
    }
    if (ts.isMethodDeclaration(fn) || ts.isGetAccessorDeclaration(fn) || ts.isSetAccessorDeclaration(fn)) {
      fact.kind = 'named';
      fact.name = propertyNameText(fn.name);
      if (ts.isMethodDeclaration(fn) && isSubclassMember(fn)) fact.subclassMethod = true;
      if (this.contextModel && ts.isMethodDeclaration(fn)) {
        const entry = this.contextModel.methodEntry(fn);
        if (entry.role) fact.role = entry.role;
        if (entry.startsOutside) fact.startsOutside = true;
        if (entry.startsInside) fact.startsInside = true;
        if (entry.unseenCallers) fact.unseenCallers = entry.unseenCallers;
      }
      return;
    }
    if (ts.isConstructorDeclaration(fn)) {
      fact.kind = 'named';
      fact.name = 'constructor';
      return;
    }
    // A function expression: what holds it?
    let holder: ts.Node = fn;
    while (holder.parent && (ts.isParenthesizedExpression(holder.parent) || ts.isAsExpression(holder.parent) || ts.isSatisfiesExpression(holder.parent))) {
      holder = holder.parent;
    }
    const parent = holder.parent;
    if (ts.isVariableDeclaration(parent) && parent.initializer === holder && ts.isIdentifier(parent.name)) {
      fact.kind = 'named';
      fact.name = parent.name.text;
    } else if ((ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) && parent.initializer === holder) {
      fact.kind = 'named';
      fact.name = propertyNameText(parent.name);
      if (ts.isPropertyDeclaration(parent) && isSubclassMember(parent)) fact.subclassMethod = true;
    } else if (ts.isBinaryExpression(parent) && parent.right === holder && parent.operatorToken.kind === SyntaxKind.EqualsToken) {
      const left = parent.left;
      fact.kind = 'named';
      fact.name = ts.isPropertyAccessExpression(left) ? left.name.text : ts.isIdentifier(left) ? left.text : undefined;
    } else if (ts.isExportAssignment(parent)) {
      fact.kind = 'named';
      fact.name = 'default';
    } else if ((ts.isCallExpression(parent) || ts.isNewExpression(parent)) && parent.arguments?.includes(holder as ts.Expression)) {
      // A preset names a root by its function expression's own name (`setInterval(async function nightly() {…})`).
      if (this.contextModel && ts.isFunctionExpression(fn) && fn.name) fact.name = fn.name.text;
      if (ts.isCallExpression(parent)) {
        const connection = this.callbackOf(parent, 'connection') === holder ? this.calleeEvidence(parent, 'connection') : undefined;
        if (connection) fact.role = { role: 'connection-callback', evidence: connection };
        const thread = connection || this.callbackOf(parent, 'sync-to-async') !== holder ? undefined : this.calleeEvidence(parent, 'sync-to-async');
        if (thread) fact.role = { role: 'thread-callback', evidence: thread };
        const entry = fact.role ? undefined : this.contextModel?.entryEvidence(holder);
        if (entry) fact.role = { role: 'connection-callback', evidence: entry };
      }
      if (this.runsLater(parent)) fact.scheduled = true;
      const event = !this.contextModel && ts.isCallExpression(parent) && parent.arguments[1] === holder ? eventNameOf(parent, LISTENER_METHODS) : undefined;
      if (event !== undefined) fact.listens = event;
    }
  }

  /**
   * Does this call run the functions it is given later, after the caller may have returned? A
   * call whose result is neither awaited, returned nor handed on (`setTimeout(cb)`,
   * `emitter.on('x', cb)`, `router.get(path, handler)`, mocha's `it(…, cb)`) and that is not a
   * known synchronous caller of its callbacks (array methods, `new Promise`, the ORM's own
   * functions) registers them for later: each is its own root.
   */
  private runsLater(call: ts.CallExpression | ts.NewExpression): boolean {
    const callee = unwrapExpression(call.expression);
    const name = ts.isIdentifier(callee) ? callee.text : ts.isPropertyAccessExpression(callee) ? callee.name.text : undefined;
    if (this.contextModel?.runsInPlace(call)) return false;
    if (name !== undefined) {
      if (ts.isNewExpression(call) ? name === 'Promise' : SYNCHRONOUS_CALLERS.has(name)) return false;
      // The ORM's own functions (`atomic(cb)`, `aatomic(cb)`, the connection function) run theirs in place.
      const surface = this.options.surface;
      const ormFunction = ts.isIdentifier(callee) && (surface.asyncToSync.has(name) || surface.syncToAsync.has(name));
      if (ormFunction || name === surface.connectionName || name === surface.syncToAsyncName) return false;
    }
    return !isConsumed(call);
  }

  // ---------------------------------------------------------------- names and evidence

  /** The name a callee is called by: a renamed import counts under its exported name. */
  private calleeName(callee: ts.Expression): string | undefined {
    if (callee.kind === SyntaxKind.PropertyAccessExpression) return (callee as ts.PropertyAccessExpression).name.text;
    if (callee.kind === SyntaxKind.Identifier) {
      const text = (callee as ts.Identifier).text;
      if (!this.scopes.renamedImports.has(text)) return text;
      const binding = this.scopes.lookup(text);
      if (binding?.kind === 'import' && binding.origin.name !== '*' && binding.origin.name !== 'default') return binding.origin.name;
      return text;
    }
    return undefined;
  }

  private evidence(target: EvidenceTarget, node: ts.Expression, shape: 'callee' | 'iterated'): Evidence {
    const origins = this.scopes.originsOf(node);
    if (this.options.keepNodes) return { target, origins, node, shape };
    let key: string = target;
    for (const origin of origins) key += `\0${origin.module}\0${origin.name}`;
    let evidence = this.sharedEvidence.get(key);
    if (!evidence) this.sharedEvidence.set(key, (evidence = { target, origins }));
    return evidence;
  }

  /** Only a QuerySet is ORM iteration: without types, a chain from a model manager (never a field of an instance). */
  private iterationEvidence(iterated: ts.Expression): Evidence {
    const evidence: Evidence = { target: 'orm', origins: this.scopes.querySetOrigins(iterated) };
    if (this.options.keepNodes) {
      evidence.node = iterated;
      evidence.shape = 'iterated';
    }
    return evidence;
  }

  /**
   * `choice.question` read (not written, not called) on a receiver that is a model instance as
   * the file shows it: the result of `get`/`aget`/`first`/`create` … on a QuerySet, an element
   * of a loop over one, or a value with a type annotation (whose origins name the model). Whether
   * the field is a foreign key of that model is the evidence (export facts, or the checker, which
   * also answers for an array element's `rows[0].question`).
   */
  private foreignKeyRead(access: ts.PropertyAccessExpression): ForeignKeyReadMatch | undefined {
    // Receivers that can be an instance at all (the inner links of `a.b.c`, `this.x` … cannot): first, cheapest.
    switch (access.expression.kind) {
      case SyntaxKind.Identifier:
      case SyntaxKind.ParenthesizedExpression:
      case SyntaxKind.NonNullExpression:
      case SyntaxKind.ElementAccessExpression:
      case SyntaxKind.CallExpression:
        break;
      default:
        return undefined;
    }
    const parent = access.parent;
    switch (parent.kind) {
      case SyntaxKind.CallExpression:
        if ((parent as ts.CallExpression).expression === access) return undefined;
        break;
      case SyntaxKind.BinaryExpression: {
        const binary = parent as ts.BinaryExpression;
        const operator = binary.operatorToken.kind;
        if (binary.left === access && operator >= SyntaxKind.FirstAssignment && operator <= SyntaxKind.LastAssignment) return undefined;
        break;
      }
      case SyntaxKind.DeleteExpression:
        return undefined;
      case SyntaxKind.PrefixUnaryExpression:
      case SyntaxKind.PostfixUnaryExpression: {
        const operator = (parent as ts.PrefixUnaryExpression | ts.PostfixUnaryExpression).operator;
        if (operator === SyntaxKind.PlusPlusToken || operator === SyntaxKind.MinusMinusToken) return undefined;
        break;
      }
      default:
        break;
    }
    const field = access.name.text;
    if (this.options.surface.foreignKeyFields && !this.options.surface.foreignKeyFields.has(field)) return undefined;
    const receiver = access.expression;
    // Type-aware, an element of a collection of project values (`rows[0]`, rows: ChoiceRow[]) goes to the checker too.
    // (Its origins, the collection's, name the model for the message and answer when the checker cannot.)
    let origins = this.scopes.instanceOrigins(receiver);
    const element = this.options.keepNodes && origins.length === 0 ? unwrapExpression(receiver) : undefined;
    if (element?.kind === SyntaxKind.ElementAccessExpression) {
      const collection = this.scopes.originsOf((element as ts.ElementAccessExpression).expression);
      if (collection.some((origin) => isProjectModule(origin.module))) origins = collection;
    }
    if (origins.length === 0) return undefined;
    // A lazy read may query: fix looks at this function when a wrap puts it inside a block.
    this.markSyncCall();
    const evidence: Evidence = { target: 'orm', origins, foreignKey: field };
    if (this.options.keepNodes) {
      evidence.node = access;
      evidence.shape = 'foreign-key';
    }
    return { access, field, evidence };
  }

  /** The argument the connection function (configured index) or the thread wrapper (the first) runs. */
  private callbackOf(call: ts.CallExpression, target: 'connection' | 'sync-to-async'): ts.Expression | undefined {
    return call.arguments[target === 'connection' ? this.options.surface.connectionCallbackArgument : 0];
  }

  private calleeEvidence(call: ts.CallExpression, target: 'connection' | 'sync-to-async'): Evidence | undefined {
    const callee = unwrapExpression(call.expression);
    const name = this.calleeName(callee);
    const wanted = target === 'connection' ? this.options.surface.connectionName : this.options.surface.syncToAsyncName;
    if (name !== wanted) return undefined;
    return this.evidence(target, callee, 'callee');
  }

  private ormCall(call: ts.CallExpression): OrmCallMatch | undefined {
    const memo = this.ormCallMemo.get(call);
    if (memo !== undefined) return memo ?? undefined;
    const callee = unwrapExpression(call.expression);
    const name = this.calleeName(callee);
    let match: OrmCallMatch | null = null;
    if (name !== undefined && (ts.isPropertyAccessExpression(callee) || ts.isIdentifier(callee))) {
      const asyncTwin = this.options.surface.asyncToSync.get(name);
      const syncTwin = asyncTwin === undefined ? this.options.surface.syncToAsync.get(name) : undefined;
      const twin = asyncTwin ?? syncTwin;
      if (twin !== undefined) {
        match = {
          call,
          name,
          flavor: asyncTwin !== undefined ? 'async' : 'sync',
          twin,
          shape: ts.isPropertyAccessExpression(callee) ? 'method' : 'function',
          evidence: this.evidence('orm', callee, 'callee'),
        };
      }
    }
    this.ormCallMemo.set(call, match);
    return match ?? undefined;
  }

  private contextFor(rule: Rule): RuleContext<string> {
    const existing = this.contexts.get(rule);
    if (existing) return existing;
    const analyzer = this;
    const sourceFile = this.sourceFile;
    const context: RuleContext<string> = {
      sourceFile,
      connectionName: this.options.surface.connectionName,
      preset: this.options.surface.preset ?? runtimePreset,
      ormCall: (call) => analyzer.ormCall(call),
      contextCall: (call) => analyzer.contextModel?.contextCall(call),
      ormIteration: (statement): OrmIterationMatch => ({
        statement,
        flavor: statement.awaitModifier ? 'async' : 'sync',
        evidence: analyzer.iterationEvidence(statement.expression),
      }),
      foreignKeyRead: (access): ForeignKeyReadMatch | undefined => analyzer.foreignKeyRead(access),
      ormIterable: (node): OrmIterableMatch | undefined => {
        const iterated = syncIterated(node);
        return iterated ? { consumer: node, iterated, evidence: analyzer.iterationEvidence(iterated) } : undefined;
      },
      syncToAsyncCall: (call): CalleeMatch | undefined => {
        const evidence = analyzer.calleeEvidence(call, 'sync-to-async');
        return evidence ? { call, evidence } : undefined;
      },
      excerpt: (node, maxLength = 60) => excerptOf(node, sourceFile, maxLength),
      when: {
        isOrm: (evidence) => analyzer.conditions.orm(evidence),
        outsideConnection: (parameter) =>
          parameter === undefined
            ? analyzer.conditions.placed('outside-connection', analyzer.currentFunction)
            : { kind: 'outside-connection', fn: analyzer.currentFunction, parameter },
        insideConnection: () => analyzer.conditions.placed('inside-connection', analyzer.currentFunction),
      },
      report: (descriptor) => {
        const when = (descriptor.when ?? NO_CONDITIONS) as ConditionFact[];
        // Without a checker to ask later, evidence with no origin can never hold: drop it now.
        if (!analyzer.options.keepNodes) {
          for (const condition of when) if (condition.kind === 'orm' && condition.evidence.origins.length === 0) return;
        }
        const node = descriptor.node;
        const start = node.getStart(sourceFile);
        // One shape for every candidate (no optional spreads): the project analysis reads 10⁵ of them.
        analyzer.candidates.push({
          ruleId: rule.meta.id,
          messageId: descriptor.messageId,
          data: descriptor.data ?? {},
          start,
          end: node.end,
          at: callSitePosition(node, sourceFile),
          conditions: analyzer.conditions.list(when),
          rewrite: rewriteFactsOf(rule.meta.id, descriptor.messageId, node, analyzer.dispatching, sourceFile),
        });
      },
    };
    this.contexts.set(rule, context);
    return context;
  }

  // ---------------------------------------------------------------- references

  private collectReferences(node: ts.Node): void {
    switch (node.kind) {
      case SyntaxKind.CallExpression:
      case SyntaxKind.NewExpression: {
        const call = node as ts.CallExpression | ts.NewExpression;
        const callee = unwrapExpression(call.expression);
        this.contextModel?.noteCall(call);
        const reference = this.addReference(callee, 'call');
        const forks = reference && this.contextModel?.forkArguments(call);
        if (reference && forks) reference.forkArguments = forks;
        if (ts.isCallExpression(call)) {
          const connectionCallback = this.callbackOf(call, 'connection');
          const connection = connectionCallback && !ts.isFunctionLike(unwrapExpression(connectionCallback)) ? this.calleeEvidence(call, 'connection') : undefined;
          const threadCallback = this.callbackOf(call, 'sync-to-async');
          const thread = connection || !threadCallback || ts.isFunctionLike(unwrapExpression(threadCallback)) ? undefined : this.calleeEvidence(call, 'sync-to-async');
          if (connection && connectionCallback) this.addReference(unwrapExpression(connectionCallback), 'connection-entry', connection);
          else if (thread && threadCallback) this.addReference(unwrapExpression(threadCallback), 'thread-entry', thread);
        }
        return;
      }
      case SyntaxKind.TaggedTemplateExpression:
        this.addReference(unwrapExpression((node as ts.TaggedTemplateExpression).tag), 'call');
        return;
      case SyntaxKind.Decorator:
        if (!ts.isCallExpression((node as ts.Decorator).expression)) this.addReference((node as ts.Decorator).expression, 'call');
        return;
      case SyntaxKind.JsxOpeningElement:
      case SyntaxKind.JsxSelfClosingElement: {
        const tag = (node as ts.JsxOpeningElement | ts.JsxSelfClosingElement).tagName;
        if (ts.isIdentifier(tag) || ts.isPropertyAccessExpression(tag)) this.addReference(tag, 'call');
        return;
      }
      case SyntaxKind.Identifier:
      case SyntaxKind.PropertyAccessExpression:
        if (this.isValuePosition(node)) {
          const entry = this.contextModel?.entryEvidence(node);
          if (entry) this.addReference(node as ts.Expression, 'connection-entry', entry);
          // 'scheduled' or 'value': whether a call runs it later is asked only of a name that may be a function.
          else this.addReference(node as ts.Expression, 'handed-on');
        }
        return;
      default:
        return;
    }
  }

  /** A function handed to a call that runs it later (`app.get('/', handler)`). */
  private isScheduledArgument(node: ts.Node): boolean {
    const parent = node.parent;
    return (ts.isCallExpression(parent) || ts.isNewExpression(parent)) && parent.expression !== node && this.runsLater(parent);
  }

  /** A function passed, stored or returned as a value (not called here, not declared here). */
  private isValuePosition(node: ts.Node): boolean {
    const parent = node.parent;
    if (!parent) return false;
    switch (parent.kind) {
      case SyntaxKind.CallExpression:
      case SyntaxKind.NewExpression: {
        const call = parent as ts.CallExpression | ts.NewExpression;
        if (call.expression === node) return false;
        // Arguments of the connection / thread functions are recorded as entries instead.
        if (ts.isCallExpression(call) && ((this.callbackOf(call, 'connection') === node && this.calleeEvidence(call, 'connection')) || (this.callbackOf(call, 'sync-to-async') === node && this.calleeEvidence(call, 'sync-to-async')))) return false;
        return true;
      }
      case SyntaxKind.ArrayLiteralExpression:
      case SyntaxKind.ReturnStatement:
      case SyntaxKind.SpreadElement:
      case SyntaxKind.JsxExpression:
        return true;
      case SyntaxKind.ArrowFunction:
        return (parent as ts.ArrowFunction).body === node;
      case SyntaxKind.VariableDeclaration:
        return (parent as ts.VariableDeclaration).initializer === node;
      case SyntaxKind.PropertyDeclaration:
        return (parent as ts.PropertyDeclaration).initializer === node;
      case SyntaxKind.ConditionalExpression:
        return (parent as ts.ConditionalExpression).condition !== node;
      case SyntaxKind.PropertyAssignment:
        return (parent as ts.PropertyAssignment).initializer === node && !this.isCommonJsExportObject(parent.parent);
      case SyntaxKind.ShorthandPropertyAssignment:
        return !this.isCommonJsExportObject(parent.parent);
      case SyntaxKind.BinaryExpression: {
        const binary = parent as ts.BinaryExpression;
        if (binary.right !== node) return false;
        const operator = binary.operatorToken.kind;
        if (operator === SyntaxKind.EqualsToken) return !isCommonJsExportTarget(binary.left);
        return operator === SyntaxKind.BarBarToken || operator === SyntaxKind.QuestionQuestionToken || operator === SyntaxKind.AmpersandAmpersandToken;
      }
      default:
        return false;
    }
  }

  private isCommonJsExportObject(node: ts.Node | undefined): boolean {
    if (!node || !ts.isObjectLiteralExpression(node)) return false;
    const parent = node.parent;
    return ts.isBinaryExpression(parent) && parent.right === node && parent.operatorToken.kind === SyntaxKind.EqualsToken && isCommonJsExportTarget(parent.left);
  }

  private addReference(expression: ts.Expression, via: ReferenceVia | 'handed-on', entryEvidence?: Evidence): ReferenceFact | undefined {
    let nameNode: ts.Identifier | ts.PrivateIdentifier;
    if (ts.isIdentifier(expression)) nameNode = expression;
    else if (ts.isPropertyAccessExpression(expression)) nameNode = expression.name;
    else return undefined;
    const target = this.syntacticTarget(expression);
    const viaThis = ts.isPropertyAccessExpression(expression) && unwrapExpression(expression.expression).kind === SyntaxKind.ThisKeyword;
    // Nothing to resolve: a local value, a global. Only the checker might place a member call; a subclass may override a `this.name`.
    if (target.kind === 'none' && !viaThis && !(this.options.keepNodes && nameNode !== expression)) return undefined;
    const reference: ReferenceFact = {
      owner: this.currentFunction,
      name: nameNode.text,
      via: via !== 'handed-on' ? via : this.isScheduledArgument(expression) ? 'scheduled' : 'value',
      target,
    };
    if (viaThis) reference.viaThis = true;
    if (entryEvidence) reference.entryEvidence = entryEvidence;
    if (this.options.keepNodes) reference.node = nameNode;
    this.references.push(reference);
    return reference;
  }

  /** What a referenced name denotes, as far as this file can tell. */
  private syntacticTarget(expression: ts.Expression): SyntacticTarget {
    if (ts.isIdentifier(expression)) {
      const binding = this.scopes.lookup(expression.text);
      return binding ? this.bindingTarget(binding) : { kind: 'none' };
    }
    if (!ts.isPropertyAccessExpression(expression)) return { kind: 'none' };
    const member = expression.name.text;
    const receiver = unwrapExpression(expression.expression);
    if (receiver.kind === SyntaxKind.ThisKeyword) {
      const cls = this.classStack[this.classStack.length - 1];
      const fn = cls ? this.classMembers(cls)[member] : undefined;
      return fn === undefined ? { kind: 'none' } : { kind: 'local', fn };
    }
    // A preset's framework injects services (`constructor(private readonly books: BooksService)`): `this.books.list()` calls BooksService's `list`.
    if (this.contextModel && ts.isPropertyAccessExpression(receiver) && receiver.expression.kind === SyntaxKind.ThisKeyword) {
      const typeName = this.contextModel.memberTypeName(receiver.name.text);
      const binding = typeName === undefined ? undefined : this.scopes.lookupType(typeName);
      if (binding?.kind === 'import' && binding.origin.name !== '*') return { kind: 'import-member', module: binding.origin.module, name: binding.origin.name, member };
      const fn = binding?.kind === 'class' ? this.classMembers(binding.node)[member] : undefined;
      if (fn !== undefined) return { kind: 'local', fn };
    }
    if (ts.isIdentifier(receiver)) {
      const binding = this.scopes.lookup(receiver.text);
      if (!binding) return { kind: 'none' };
      if (binding.kind === 'import') {
        return binding.origin.name === '*'
          ? { kind: 'import', module: binding.origin.module, name: member }
          : { kind: 'import-member', module: binding.origin.module, name: binding.origin.name, member };
      }
      const fn = this.membersOfBinding(binding)?.[member];
      if (fn !== undefined) return { kind: 'local', fn };
      // `const service = require('./service')`: `service.add` is that module's export `add`.
      if (binding.kind === 'variable' && binding.path.length === 0 && binding.node.initializer) {
        const initializer = unwrapExpression(binding.node.initializer);
        const required = ts.isCallExpression(initializer) ? this.scopes.requiredModule(initializer) : undefined;
        if (required !== undefined) return { kind: 'import', module: required, name: member };
      }
      // `const svc = new Service()` where Service is imported: a member of that export.
      if (binding.kind === 'variable' && binding.node.initializer) {
        const initializer = unwrapExpression(binding.node.initializer);
        if (ts.isNewExpression(initializer) && ts.isIdentifier(initializer.expression)) {
          const classBinding = this.scopes.lookup(initializer.expression.text);
          if (classBinding?.kind === 'import' && classBinding.origin.name !== '*') {
            return { kind: 'import-member', module: classBinding.origin.module, name: classBinding.origin.name, member };
          }
        }
      }
      // A preset's tests keep a controller in an annotated variable set in a hook (`let controller: UsersController;`): its class's member.
      if (this.contextModel && binding.kind === 'variable' && binding.path.length === 0 && binding.node.type && ts.isTypeReferenceNode(binding.node.type) && ts.isIdentifier(binding.node.type.typeName)) {
        const typeBinding = this.scopes.lookupType(binding.node.type.typeName.text);
        if (typeBinding?.kind === 'import' && typeBinding.origin.name !== '*') return { kind: 'import-member', module: typeBinding.origin.module, name: typeBinding.origin.name, member };
        const typed = typeBinding?.kind === 'class' ? this.classMembers(typeBinding.node)[member] : undefined;
        if (typed !== undefined) return { kind: 'local', fn: typed };
      }
    }
    return { kind: 'none' };
  }

  private bindingTarget(binding: Binding): SyntacticTarget {
    switch (binding.kind) {
      case 'function':
        return binding.node.body ? { kind: 'local', fn: this.indexOfFunction(binding.node) } : { kind: 'none' };
      case 'variable': {
        const initializer = binding.node.initializer && binding.path.length === 0 ? unwrapExpression(binding.node.initializer) : undefined;
        if (initializer && isFunctionWithBody(initializer)) return { kind: 'local', fn: this.indexOfFunction(initializer) };
        if (initializer && ts.isCallExpression(initializer)) {
          const required = this.scopes.requiredModule(initializer);
          if (required !== undefined) return { kind: 'import', module: required, name: '*' };
        }
        if (binding.path.length === 1 && binding.node.initializer && ts.isCallExpression(unwrapExpression(binding.node.initializer))) {
          const required = this.scopes.requiredModule(unwrapExpression(binding.node.initializer) as ts.CallExpression);
          const name = binding.path[0];
          if (required !== undefined && name !== undefined) return { kind: 'import', module: required, name };
        }
        return { kind: 'none' };
      }
      case 'class': {
        const constructor = binding.node.members.find((member) => ts.isConstructorDeclaration(member) && member.body);
        return constructor ? { kind: 'local', fn: this.indexOfFunction(constructor) } : { kind: 'none' };
      }
      case 'import':
        return { kind: 'import', module: binding.origin.module, name: binding.origin.name };
      default:
        return { kind: 'none' };
    }
  }

  /** Functions reachable as `binding.member`: object literal properties, class methods, `new C()` instances. */
  private membersOfBinding(binding: Binding): Record<string, number> | undefined {
    if (binding.kind === 'class') return this.classMembers(binding.node);
    if (binding.kind !== 'variable' || !binding.node.initializer || binding.path.length > 0) return undefined;
    return this.membersOfExpression(unwrapExpression(binding.node.initializer));
  }

  private membersOfExpression(expression: ts.Expression): Record<string, number> | undefined {
    if (ts.isObjectLiteralExpression(expression)) {
      const members: Record<string, number> = Object.create(null);
      for (const property of expression.properties) {
        const name = propertyNameText(property.name);
        if (name === undefined) continue;
        if (isFunctionWithBody(property)) members[name] = this.indexOfFunction(property);
        else if (ts.isPropertyAssignment(property)) {
          const value = unwrapExpression(property.initializer);
          if (isFunctionWithBody(value)) members[name] = this.indexOfFunction(value);
        } else if (ts.isShorthandPropertyAssignment(property)) {
          const target = this.syntacticTarget(property.name);
          if (target.kind === 'local') members[name] = target.fn;
        }
      }
      return members;
    }
    if (ts.isClassExpression(expression)) return this.classMembers(expression);
    if (ts.isNewExpression(expression) && ts.isIdentifier(expression.expression)) {
      const binding = this.scopes.lookup(expression.expression.text);
      if (binding?.kind === 'class') return this.classMembers(binding.node);
    }
    return undefined;
  }

  private readonly classMemberMemo = new Map<ts.ClassLikeDeclaration, Record<string, number>>();

  private classMembers(cls: ts.ClassLikeDeclaration): Record<string, number> {
    const memo = this.classMemberMemo.get(cls);
    if (memo) return memo;
    const members: Record<string, number> = Object.create(null);
    this.classMemberMemo.set(cls, members);
    for (const member of cls.members) {
      const name = propertyNameText(member.name);
      if (name === undefined) continue;
      if (isFunctionWithBody(member)) members[name] = this.indexOfFunction(member);
      else if (ts.isPropertyDeclaration(member) && member.initializer) {
        const value = unwrapExpression(member.initializer);
        if (isFunctionWithBody(value)) members[name] = this.indexOfFunction(value);
      }
    }
    return members;
  }

  // ---------------------------------------------------------------- exports

  private exportOfBinding(binding: Binding | undefined): ExportFact {
    if (!binding) return { origins: [] };
    const fact: ExportFact = { origins: this.scopes.bindingOrigins(binding) };
    const target = this.bindingTarget(binding);
    if (target.kind === 'local') fact.fn = target.fn;
    const members = this.membersOfBinding(binding);
    if (members && Object.keys(members).length > 0) fact.members = members;
    if (binding.kind === 'import') fact.reexport = binding.origin;
    const foreignKeys = binding.kind === 'variable' ? this.foreignKeys.get(binding.node) : undefined;
    if (foreignKeys) fact.foreignKeys = foreignKeys;
    return fact;
  }

  private exportOfExpression(expression: ts.Expression): ExportFact {
    const value = unwrapExpression(expression);
    if (ts.isIdentifier(value)) return this.exportOfBinding(this.scopes.lookup(value.text));
    const fact: ExportFact = { origins: this.scopes.originsOf(value) };
    if (isFunctionWithBody(value)) fact.fn = this.indexOfFunction(value);
    const members = this.membersOfExpression(value);
    if (members && Object.keys(members).length > 0) fact.members = members;
    return fact;
  }

  private collectExports(): { exports: Record<string, ExportFact>; starExports: string[] } {
    // No prototype: a lookup of `toString` or `constructor` must not find Object's (and a record
    // keyed by a file's own export names skips V8's hidden-class transitions for every new name).
    const exports: Record<string, ExportFact> = Object.create(null);
    const starExports: string[] = [];
    const moduleScope = this.scopes.scope;
    for (const statement of this.sourceFile.statements) {
      const exported = hasModifier(statement, SyntaxKind.ExportKeyword);
      const isDefault = hasModifier(statement, SyntaxKind.DefaultKeyword);
      if (ts.isVariableStatement(statement) && exported) {
        for (const declaration of statement.declarationList.declarations) {
          if (ts.isIdentifier(declaration.name)) exports[declaration.name.text] = this.exportOfBinding(moduleScope.values?.get(declaration.name.text));
        }
      } else if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) && exported) {
        const binding: Binding | undefined = statement.name
          ? moduleScope.values?.get(statement.name.text)
          : ts.isFunctionDeclaration(statement)
            ? { kind: 'function', node: statement }
            : { kind: 'class', node: statement };
        const fact = this.exportOfBinding(binding);
        if (isDefault) exports.default = fact;
        else if (statement.name) exports[statement.name.text] = fact;
      } else if (ts.isExportDeclaration(statement)) {
        const specifier = statement.moduleSpecifier;
        const module = specifier && ts.isStringLiteral(specifier) ? this.options.resolveSpecifier(specifier.text) : undefined;
        const clause = statement.exportClause;
        if (!clause) {
          if (module !== undefined) starExports.push(module);
        } else if (ts.isNamespaceExport(clause)) {
          if (module !== undefined) exports[clause.name.text] = { origins: [{ module, name: '*' }], reexport: { module, name: '*' } };
        } else {
          for (const element of clause.elements) {
            const local = (element.propertyName ?? element.name).text;
            if (specifier) {
              if (module !== undefined) exports[element.name.text] = { origins: [{ module, name: local }], reexport: { module, name: local } };
            } else {
              exports[element.name.text] = this.exportOfBinding(moduleScope.values?.get(local));
            }
          }
        }
      } else if (ts.isExportAssignment(statement)) {
        const fact = this.exportOfExpression(statement.expression);
        exports.default = fact;
        if (statement.isExportEquals) exports['*'] = fact;
      } else if (ts.isExpressionStatement(statement) && ts.isBinaryExpression(statement.expression) && statement.expression.operatorToken.kind === SyntaxKind.EqualsToken) {
        const { left, right } = statement.expression;
        const target = commonJsExportName(left);
        if (target === '*') {
          exports['*'] = this.exportOfExpression(right);
          exports.default = exports['*'];
          const object = unwrapExpression(right);
          if (ts.isObjectLiteralExpression(object)) {
            for (const property of object.properties) {
              const name = propertyNameText(property.name);
              if (name === undefined) continue;
              if (ts.isShorthandPropertyAssignment(property)) exports[name] = this.exportOfBinding(moduleScope.values?.get(name));
              else if (ts.isPropertyAssignment(property)) exports[name] = this.exportOfExpression(property.initializer);
              else if (isFunctionWithBody(property)) exports[name] = { origins: [], fn: this.indexOfFunction(property) };
            }
          }
        } else if (target !== undefined) {
          exports[target] = this.exportOfExpression(right);
        }
      }
    }
    return { exports, starExports };
  }
}

/** `Array.from(x)`, `Promise.all(x)` …: functions of a global that iterate their first argument synchronously. */
const ITERATING_FUNCTIONS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['Array', new Set(['from'])],
  ['Promise', new Set(['all', 'allSettled', 'race', 'any'])],
  ['Object', new Set(['fromEntries'])],
]);
/** `new Set(x)` …: constructors that iterate their first argument synchronously. */
const ITERATING_CONSTRUCTORS = new Set(['Set', 'Map', 'WeakSet', 'WeakMap']);

/** Iterated expressions that are never a QuerySet (literals, functions): no candidate, no checker question. */
function mayBeIterable(expression: ts.Expression): ts.Expression | undefined {
  const node = unwrapExpression(expression);
  switch (node.kind) {
    case SyntaxKind.Identifier:
    case SyntaxKind.PropertyAccessExpression:
    case SyntaxKind.ElementAccessExpression:
    case SyntaxKind.CallExpression:
    case SyntaxKind.ConditionalExpression:
    case SyntaxKind.BinaryExpression:
      return expression;
    default:
      return undefined;
  }
}

/**
 * The expression `node` iterates synchronously, when it is one of the forms besides for…of
 * (OrmIterableMatch): kind dispatch first, so the walk pays nothing for other nodes.
 */
export function syncIterated(node: ts.Node): ts.Expression | undefined {
  switch (node.kind) {
    case SyntaxKind.SpreadElement:
      return mayBeIterable((node as ts.SpreadElement).expression);
    case SyntaxKind.CallExpression: {
      const call = node as ts.CallExpression;
      const callee = call.expression;
      const argument = call.arguments[0];
      if (!argument || callee.kind !== SyntaxKind.PropertyAccessExpression) return undefined;
      const { expression: owner, name } = callee as ts.PropertyAccessExpression;
      if (owner.kind !== SyntaxKind.Identifier || argument.kind === SyntaxKind.SpreadElement) return undefined;
      return ITERATING_FUNCTIONS.get((owner as ts.Identifier).text)?.has(name.text) ? mayBeIterable(argument) : undefined;
    }
    case SyntaxKind.NewExpression: {
      const construct = node as ts.NewExpression;
      const argument = construct.arguments?.[0];
      if (!argument || construct.expression.kind !== SyntaxKind.Identifier || argument.kind === SyntaxKind.SpreadElement) return undefined;
      return ITERATING_CONSTRUCTORS.has((construct.expression as ts.Identifier).text) ? mayBeIterable(argument) : undefined;
    }
    case SyntaxKind.VariableDeclaration: {
      const declaration = node as ts.VariableDeclaration;
      return declaration.initializer && declaration.name.kind === SyntaxKind.ArrayBindingPattern ? mayBeIterable(declaration.initializer) : undefined;
    }
    case SyntaxKind.BinaryExpression: {
      const binary = node as ts.BinaryExpression;
      return binary.operatorToken.kind === SyntaxKind.EqualsToken && binary.left.kind === SyntaxKind.ArrayLiteralExpression ? mayBeIterable(binary.right) : undefined;
    }
    case SyntaxKind.YieldExpression: {
      const yielded = node as ts.YieldExpression;
      if (!yielded.asteriskToken || !yielded.expression) return undefined;
      // In an async generator `yield*` takes the async iterator (a QuerySet has one): no sync query.
      for (let current = node.parent; current && !ts.isSourceFile(current); current = current.parent) {
        if (isFunctionWithBody(current)) return hasModifier(current, SyntaxKind.AsyncKeyword) ? undefined : mayBeIterable(yielded.expression);
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

/** Methods and functions that call the callbacks they are given before they return. */
const SYNCHRONOUS_CALLERS = new Set([
  'forEach', 'map', 'flatMap', 'filter', 'reduce', 'reduceRight', 'some', 'every', 'find', 'findIndex', 'findLast', 'findLastIndex',
  'sort', 'toSorted', 'from', 'fromAsync', 'replace', 'replaceAll', 'call', 'apply',
]);

const PROMISE_CHAIN = new Set(['then', 'catch', 'finally']);

/**
 * Is the value of this call awaited, returned or yielded — directly, through a promise chain
 * (`.then(…)`), as part of an argument or array that is (`await Promise.all([f(cb)])`), or held in
 * a variable that the same function consumes later (`const p = f(cb); … await p`)?
 */
function isConsumed(call: ts.Expression): boolean {
  const how = consumption(call);
  return how === true || (how !== false && isConsumedLater(how));
}

/**
 * How the value of `expression` is used: consumed (true), not (false), or held in the variable this
 * identifier declares (`const p = x.then(cb)`), which consumes it if the same function consumes
 * that variable later.
 */
function consumption(expression: ts.Expression): boolean | ts.Identifier {
  let current: ts.Node = expression;
  for (;;) {
    const parent: ts.Node | undefined = current.parent;
    if (!parent) return false;
    switch (parent.kind) {
      case SyntaxKind.ParenthesizedExpression:
      case SyntaxKind.AsExpression:
      case SyntaxKind.SatisfiesExpression:
      case SyntaxKind.NonNullExpression:
      case SyntaxKind.TypeAssertionExpression:
      case SyntaxKind.ArrayLiteralExpression:
      case SyntaxKind.SpreadElement:
        current = parent;
        break;
      case SyntaxKind.AwaitExpression:
      case SyntaxKind.ReturnStatement:
      case SyntaxKind.YieldExpression:
        return true;
      case SyntaxKind.ArrowFunction:
        return (parent as ts.ArrowFunction).body === current;
      case SyntaxKind.VariableDeclaration: {
        const declaration = parent as ts.VariableDeclaration;
        return declaration.initializer === current && ts.isIdentifier(declaration.name) ? declaration.name : false;
      }
      case SyntaxKind.CallExpression:
      case SyntaxKind.NewExpression:
        if ((parent as ts.CallExpression).expression === current) return false;
        current = parent;
        break;
      case SyntaxKind.PropertyAccessExpression: {
        const access = parent as ts.PropertyAccessExpression;
        const chained = access.parent;
        if (access.expression !== current || !PROMISE_CHAIN.has(access.name.text) || !chained || !ts.isCallExpression(chained) || chained.expression !== access) return false;
        current = chained;
        break;
      }
      case SyntaxKind.ConditionalExpression:
        if ((parent as ts.ConditionalExpression).condition === current) return false;
        current = parent;
        break;
      case SyntaxKind.BinaryExpression: {
        const operator = (parent as ts.BinaryExpression).operatorToken.kind;
        if (operator !== SyntaxKind.AmpersandAmpersandToken && operator !== SyntaxKind.BarBarToken && operator !== SyntaxKind.QuestionQuestionToken) return false;
        current = parent;
        break;
      }
      default:
        return false;
    }
  }
}

/** Per function body (or file): the offsets of the uses of each name that consume its value (see consumedUses). */
const consumedUsesMemo = new WeakMap<ts.Node, Map<string, number[]>>();

/**
 * Is the variable declared by `name` consumed (awaited, returned, yielded, handed to a call that
 * is, or held in another variable that is) by the function it is declared in, after its
 * declaration? Uses inside nested functions do not count: they may run after this function returned.
 */
function isConsumedLater(name: ts.Identifier): boolean {
  let scope: ts.Node | undefined = name.parent;
  while (scope && !ts.isSourceFile(scope) && !isFunctionWithBody(scope)) scope = scope.parent;
  if (!scope) return false;
  const body = ts.isSourceFile(scope) ? scope : (scope as FunctionNode).body;
  if (!body) return false;
  return consumedUses(body).get(name.text)?.some((offset) => offset >= name.end) ?? false;
}

/**
 * One pass over a body (not into nested functions or classes), once per body: where each name is
 * used so that its value is consumed. The part the walk has not reached yet is linked to its
 * parents on the way (the same links the walk makes when it gets there). A use held in another
 * variable (`const q = p`) counts once that variable is consumed after its declaration.
 */
function consumedUses(body: ts.Node): Map<string, number[]> {
  const known = consumedUsesMemo.get(body);
  if (known) return known;
  const uses = new Map<string, number[]>();
  const add = (use: ts.Identifier): void => {
    const list = uses.get(use.text);
    if (list) list.push(use.pos);
    else uses.set(use.text, [use.pos]);
  };
  let held: { use: ts.Identifier; variable: ts.Identifier }[] = [];
  const visit = (node: ts.Node): void => {
    forEachChild(node, (child) => {
      (child as { parent: ts.Node }).parent = node;
      if (ts.isFunctionLike(child) || ts.isClassLike(child)) return;
      if (child.kind === SyntaxKind.Identifier) {
        const how = consumption(child as ts.Identifier);
        if (how === true) add(child as ts.Identifier);
        else if (how !== false) held.push({ use: child as ts.Identifier, variable: how });
      }
      visit(child);
    });
  };
  visit(body);
  const consumedAfter = (variable: ts.Identifier): boolean => uses.get(variable.text)?.some((offset) => offset >= variable.end) ?? false;
  for (let changed = held.length > 0; changed; ) {
    changed = false;
    held = held.filter(({ use, variable }) => {
      if (!consumedAfter(variable)) return true;
      add(use);
      changed = true;
      return false;
    });
  }
  consumedUsesMemo.set(body, uses);
  return uses;
}

/**
 * Links `node` and its ancestors to their parents, descending from the file by position (for a
 * node the walk has not reached yet). Siblings' ranges do not overlap, so exactly one child of each
 * ancestor contains the node.
 */
function linkAncestors(sourceFile: ts.SourceFile, node: ts.Node): void {
  let current: ts.Node = sourceFile;
  while (current !== node) {
    const parent: ts.Node = current;
    const next: ts.Node | undefined = ts.forEachChild(parent, (child) => (child.pos <= node.pos && node.end <= child.end ? child : undefined));
    if (!next) return;
    (next as { parent: ts.Node }).parent = parent;
    current = next;
  }
}

/** `module.exports` → '*', `exports.x` / `module.exports.x` → 'x', anything else → undefined. */
function commonJsExportName(left: ts.Expression): string | undefined {
  if (!ts.isPropertyAccessExpression(left)) return undefined;
  const object = left.expression;
  if (ts.isIdentifier(object) && object.text === 'module' && left.name.text === 'exports') return '*';
  if (ts.isIdentifier(object) && object.text === 'exports') return left.name.text;
  if (ts.isPropertyAccessExpression(object) && ts.isIdentifier(object.expression) && object.expression.text === 'module' && object.name.text === 'exports') {
    return left.name.text;
  }
  return undefined;
}

function isCommonJsExportTarget(left: ts.Expression): boolean {
  return commonJsExportName(left) !== undefined;
}

export function excerptOf(node: ts.Node, sourceFile: ts.SourceFile, maxLength: number): string {
  const raw = sourceFile.text.slice(node.getStart(sourceFile), node.end);
  const text = /\s\s|[\t\n\r]/.test(raw) ? raw.replace(/\s+/g, ' ').trim() : raw;
  return text.length <= maxLength ? text : `${text.slice(0, maxLength - 1)}…`;
}

function failedFacts(sourceFile: ts.SourceFile, parseError: ParseErrorFact): FileFacts {
  return unanalysableFacts(sourceFile.fileName, parseError.message, parseError);
}

/** Facts of a file that could not be analysed: only its error, reported as `parse-error` at line 1 unless placed. */
export function unanalysableFacts(file: string, message: string, at?: ParseErrorFact): FileFacts {
  const parseError = at ?? { message, start: 0, end: 0, line: 1, column: 1, endLine: 1, endColumn: 1 };
  return { file, parseError, lineStarts: [], functions: [], references: [], exports: Object.create(null), starExports: [], candidates: [] };
}

/** The parser or a walk ran out of stack on a pathologically deep file (RangeError: Maximum call stack size exceeded). */
export function isStackOverflow(error: unknown): error is RangeError {
  return error instanceof RangeError && /call stack/i.test(error.message);
}

/** Walks a parsed file once; a file with a syntax error (or too deep to walk) yields only that error. */
export function analyzeFile(sourceFile: ts.SourceFile, options: FileAnalysisOptions): FileFacts {
  const parseError = parseErrorOf(sourceFile);
  if (parseError) return failedFacts(sourceFile, parseError);
  try {
    return new FileAnalyzer(sourceFile, options).run();
  } catch (error) {
    // A pathologically deep tree (tens of thousands of chained operators) overflows the stack:
    // report the file instead of ending the whole scan.
    if (!(error instanceof RangeError)) throw error;
    return unanalysableFacts(sourceFile.fileName, `the file could not be analysed (${error.message})`);
  }
}

