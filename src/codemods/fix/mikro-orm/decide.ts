/**
 * The mikro-orm preset's fix, decided: for each root of an async-outside-connection finding,
 * whether it gets `@CreateRequestContext()`, a `RequestContext.create(em, …)` around its body,
 * or stays manual (and why). Plain TypeScript parser only, no ts-morph: scan's fixable count
 * asks this same planner, and scan never loads ts-morph.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import ts from '../../typescript.cjs';
import { isFunctionWithBody } from '../../engine/file-analysis.js';
import { parseSource } from '../../engine/syntactic.js';
import type { ConnectionFunctionSummary, Finding, FunctionRef, ScanResult } from '../../engine/types.js';
import { displayPath } from '../../report/format.js';
import { functionAt, insideCallerText, rootListText } from '../functions.js';
import { positionAt } from '../text.js';
import type { FixFailure, ManualItem } from '../types.js';
import { SpecifierResolver } from '../../engine/module-resolution.js';
import { classContextSources, contextSourceInScope, exportedClass, exportedKind, instanceClassOf, isStatic } from './scope.js';
import type { ClassLookup, ContextSource, Declared, ImportLookup } from './scope.js';
import { planModuleRoot } from './top-level.js';
import { continuedCall, passesOn, registrationOf, runsAfter, scheduledIn } from './chain.js';
import type { Registration } from './chain.js';
import { detectStyle } from '../style.js';

export const MIKRO_ORM_CORE = '@mikro-orm/core';
/** MikroORM 7's home of the decorators (`@CreateRequestContext()`), and its legacy (experimentalDecorators) entry. */
const MIKRO_ORM_DECORATORS = '@mikro-orm/decorators';
export const MIKRO_ORM_LEGACY_DECORATORS = `${MIKRO_ORM_DECORATORS}/legacy`;
/** The decorators and function that open a context; a file that binds these names to something else is left alone. */
export const OPENER_NAMES = ['CreateRequestContext', 'RequestContext'] as const;

export type RootEdit =
  /** `@CreateRequestContext()` (or with a provider reading `this`) on an async method. */
  | { kind: 'decorate'; provider?: string; from: string }
  /** The body (or its statements after `after`) moved into `RequestContext.create(em, …)`. */
  | { kind: 'wrap'; em: string; async: boolean; after?: number }
  /** Top-level statements in (after, end] moved into `await RequestContext.create(em, async () => { … })`. */
  | { kind: 'wrap-module'; em: string; after: number; end: number };

export interface RootDecision {
  ref: FunctionRef;
  /** Offset of the function in the text without a BOM (what is parsed and edited). */
  start: number;
  findings: number;
  edit?: RootEdit;
  /** Why it stays manual (set when neither `edit` nor `coveredBy` is). */
  reason?: string;
  /** A middleware root registered before it on the same app, whose new context it runs in (chain.ts): nothing to edit. */
  coveredBy?: RootDecision;
}

export interface SourceText {
  raw: string;
  text: string;
  bom: string;
}

export interface MikroOrmDecisions {
  /** Per file (sorted), its roots in order of position. */
  byFile: Map<string, RootDecision[]>;
  texts: Map<string, SourceText>;
  manual: ManualItem[];
  errors: FixFailure[];
  failed: Set<string>;
}

const FUNCTION_EXTENSIONS_WITHOUT_DECORATORS = /\.(?:[cm]?js|jsx)$/;

/** Whether the nearest tsconfig.json turns on the legacy decorators MikroORM 6's `@CreateRequestContext()` is written for. */
class DecoratorSupport {
  private readonly byDirectory = new Map<string, { enabled: boolean; isolatedMetadata: boolean }>();
  private readonly modules = new DecoratorModule();

  /** The module `CreateRequestContext` is imported from in `file` (see DecoratorModule). */
  moduleFor(file: string): string {
    return this.modules.moduleFor(file);
  }

  enabledFor(file: string): boolean {
    if (FUNCTION_EXTENSIONS_WITHOUT_DECORATORS.test(file)) return false;
    return this.inDirectory(dirname(file)).enabled;
  }

  /**
   * Whether a decorated method's parameter types are emitted as values that TypeScript must be
   * able to check file by file: `emitDecoratorMetadata` with `isolatedModules` or
   * `verbatimModuleSyntax`, where a type imported without `import type` is error TS1272.
   */
  checksMetadataImports(file: string): boolean {
    return this.inDirectory(dirname(file)).isolatedMetadata;
  }

  private inDirectory(directory: string): { enabled: boolean; isolatedMetadata: boolean } {
    const cached = this.byDirectory.get(directory);
    if (cached !== undefined) return cached;
    const tsconfig = join(directory, 'tsconfig.json');
    let result = { enabled: false, isolatedMetadata: false };
    if (existsSync(tsconfig)) {
      const read = ts.readConfigFile(tsconfig, ts.sys.readFile);
      if (!read.error) {
        const options = ts.parseJsonConfigFileContent(read.config, ts.sys, directory, undefined, tsconfig).options;
        result = { enabled: options.experimentalDecorators === true, isolatedMetadata: options.emitDecoratorMetadata === true && (options.isolatedModules === true || options.verbatimModuleSyntax === true) };
      }
    } else {
      const parent = dirname(directory);
      if (parent !== directory) result = this.inDirectory(parent);
    }
    this.byDirectory.set(directory, result);
    return result;
  }
}

/**
 * The names a decorator would make TypeScript emit as values that may be only types: with
 * `emitDecoratorMetadata`, each parameter's type is serialized (`design:paramtypes`); under
 * `isolatedModules` one imported without `import type` must then be a value (TS1272: `req:
 * Request` from express, `where: FilterQuery<User>`), which TypeScript cannot know file by file.
 * A type-only or namespace import is fine, and so is a class the project's own module exports.
 */
function metadataTypeImports(method: ts.MethodDeclaration, sourceFile: ts.SourceFile, classes: ClassLookup): string[] {
  const imported = new Map<string, { specifier: string; name: string }>();
  for (const statement of sourceFile.statements) {
    if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
    const clause = statement.importClause;
    if (!clause || clause.isTypeOnly) continue;
    const specifier = statement.moduleSpecifier.text;
    if (clause.name) imported.set(clause.name.text, { specifier, name: 'default' });
    if (clause.namedBindings && ts.isNamedImports(clause.namedBindings)) {
      for (const element of clause.namedBindings.elements) {
        if (!element.isTypeOnly) imported.set(element.name.text, { specifier, name: (element.propertyName ?? element.name).text });
      }
    }
  }
  const found: string[] = [];
  const visit = (type: ts.TypeNode): void => {
    if (ts.isParenthesizedTypeNode(type)) visit(type.type);
    else if (ts.isUnionTypeNode(type) || ts.isIntersectionTypeNode(type)) type.types.forEach(visit);
    else if (ts.isTypeReferenceNode(type) && ts.isIdentifier(type.typeName)) {
      const binding = imported.get(type.typeName.text);
      if (binding && !classes(sourceFile.fileName, binding.specifier, binding.name)) found.push(type.typeName.text);
    }
  };
  for (const parameter of method.parameters) if (parameter.type) visit(parameter.type);
  return found;
}

/**
 * Where `CreateRequestContext` is imported from: MikroORM 7 moved the decorators out of
 * `@mikro-orm/core` (and the drivers) into `@mikro-orm/decorators` (`/legacy` for
 * experimentalDecorators, the only kind fix writes), a package that exists only from 7 on. So a
 * project whose package.json (the nearest one, or one above it in a monorepo) depends on it gets
 * `@mikro-orm/decorators/legacy`; any other gets `@mikro-orm/core`.
 */
class DecoratorModule {
  private readonly byDirectory = new Map<string, string>();

  moduleFor(file: string): string {
    return this.inDirectory(dirname(file));
  }

  private inDirectory(directory: string): string {
    const cached = this.byDirectory.get(directory);
    if (cached !== undefined) return cached;
    let found: string | undefined;
    const manifest = join(directory, 'package.json');
    if (existsSync(manifest)) {
      try {
        const json = JSON.parse(readFileSync(manifest, 'utf8')) as Record<string, unknown>;
        const declared = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'].some((key) => {
          const list = json[key];
          return typeof list === 'object' && list !== null && Object.hasOwn(list, MIKRO_ORM_DECORATORS);
        });
        if (declared) found = MIKRO_ORM_LEGACY_DECORATORS;
      } catch {
        // An unreadable package.json says nothing; the directories above may.
      }
    }
    const parent = dirname(directory);
    const result = found ?? (parent === directory ? MIKRO_ORM_CORE : this.inDirectory(parent));
    this.byDirectory.set(directory, result);
    return result;
  }
}

/** Reads the project's own modules an import points at, to tell what an imported `orm` or `em` really is. */
class ImportedDeclarations {
  private readonly specifiers = new SpecifierResolver();
  private readonly trees = new Map<string, ts.SourceFile | undefined>();

  readonly lookup: ImportLookup = (fromFile, specifier, exportedName) => this.kindOf(fromFile, specifier, exportedName, 0);
  readonly classes: ClassLookup = (fromFile, specifier, exportedName) => this.classOf(fromFile, specifier, exportedName, 0);

  private module(fromFile: string, specifier: string, depth: number): ts.SourceFile | undefined {
    if (!specifier.startsWith('.') || depth > 5) return undefined;
    const file = this.specifiers.resolveFrom(fromFile, specifier);
    if (!file || /\.d\.[cm]?ts$/.test(file)) return undefined;
    if (!this.trees.has(file)) {
      let tree: ts.SourceFile | undefined;
      try {
        tree = parseSource(file, readFileSync(file, 'utf8').replace(/^\uFEFF/, ''));
      } catch {
        tree = undefined;
      }
      this.trees.set(file, tree);
    }
    return this.trees.get(file);
  }

  private kindOf(fromFile: string, specifier: string, exportedName: string, depth: number): Declared | null | undefined {
    const tree = this.module(fromFile, specifier, depth);
    return tree && exportedKind(tree, exportedName, (next, name) => this.kindOf(tree.fileName, next, name, depth + 1));
  }

  private classOf(fromFile: string, specifier: string, exportedName: string, depth: number): ts.ClassDeclaration | undefined {
    const tree = this.module(fromFile, specifier, depth);
    return tree && exportedClass(tree, exportedName, (next, name) => this.classOf(tree.fileName, next, name, depth + 1));
  }
}

function isAsync(node: ts.Node): boolean {
  return (ts.canHaveModifiers(node) && ts.getModifiers(node)?.some((modifier) => modifier.kind === ts.SyntaxKind.AsyncKeyword)) ?? false;
}

/** A binding of `name` in the file that does not come from `@mikro-orm/*`: the fix would not know what it calls. */
export function foreignBinding(sourceFile: ts.SourceFile, name: string): boolean {
  let foreign = false;
  for (const statement of sourceFile.statements) {
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause;
      const specifier = ts.isStringLiteral(statement.moduleSpecifier) ? statement.moduleSpecifier.text : '';
      const fromMikroOrm = specifier.startsWith('@mikro-orm/');
      const names: string[] = [];
      if (clause?.name) names.push(clause.name.text);
      const bindings = clause?.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) names.push(bindings.name.text);
      if (bindings && ts.isNamedImports(bindings)) {
        for (const element of bindings.elements) {
          if (element.name.text !== name) continue;
          if (!fromMikroOrm || (element.propertyName ?? element.name).text !== name) foreign = true;
        }
      }
      if (names.includes(name)) foreign = true;
    } else if ((ts.isClassDeclaration(statement) || ts.isFunctionDeclaration(statement)) && statement.name?.text === name) {
      foreign = true;
    } else if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) {
        if (ts.isIdentifier(declaration.name) && declaration.name.text === name) foreign = true;
        if (ts.isObjectBindingPattern(declaration.name)) {
          const init = declaration.initializer;
          const fromRequire = init && ts.isCallExpression(init) && init.arguments[0] && ts.isStringLiteral(init.arguments[0]) && init.arguments[0].text.startsWith('@mikro-orm/');
          for (const element of declaration.name.elements) if (ts.isIdentifier(element.name) && element.name.text === name && !fromRequire) foreign = true;
        }
      }
    }
  }
  return foreign;
}

function hasOpenerDecorator(node: ts.Node): boolean {
  return (
    ts.canHaveDecorators(node) &&
    (ts.getDecorators(node) ?? []).some((decorator) => {
      const expression = decorator.expression;
      const callee = ts.isCallExpression(expression) ? expression.expression : expression;
      const name = ts.isIdentifier(callee) ? callee.text : ts.isPropertyAccessExpression(callee) ? callee.name.text : '';
      return name === 'CreateRequestContext' || name === 'EnsureRequestContext' || name === 'UseRequestContext';
    })
  );
}

/** Does the function's body (not nested functions) use `arguments`, which an arrow callback would see differently? No: arrows share it. Generators and `yield` are the problem. */
function unwrappableReason(node: ts.Node): string | undefined {
  if (ts.isConstructorDeclaration(node) || ts.isGetAccessorDeclaration(node) || ts.isSetAccessorDeclaration(node)) {
    return 'it is a constructor or accessor: move the ORM calls into a method, then run fix again';
  }
  if ((ts.isFunctionDeclaration(node) || ts.isFunctionExpression(node) || ts.isMethodDeclaration(node)) && node.asteriskToken) {
    return 'it is a generator: a context opened in its body would not cover the code between its yields; open it in the code that consumes the generator';
  }
  return undefined;
}

/** Does the function read `this` (its own, or through arrow functions inside it)? */
function usesThis(fn: ts.Node): boolean {
  let found = false;
  const visit = (node: ts.Node): void => {
    if (found) return;
    if (node !== fn && (ts.isFunctionDeclaration(node) || ts.isFunctionExpression(node) || ts.isClassLike(node) || ts.isMethodDeclaration(node) || ts.isAccessor(node) || ts.isConstructorDeclaration(node))) return;
    if (node.kind === ts.SyntaxKind.ThisKeyword) found = true;
    else ts.forEachChild(node, visit);
  };
  visit(fn);
  return found;
}

function classNameFor(cls: ts.ClassLikeDeclaration): string | undefined {
  if (cls.name) return cls.typeParameters?.length ? undefined : cls.name.text;
  return undefined;
}

/** The decorator's provider argument for a context source other than `this.em` / `this.orm`. */
function providerFor(source: ContextSource, cls: ts.ClassLikeDeclaration): string | undefined {
  if ((source.name === 'em' && source.kind === 'em') || (source.name === 'orm' && source.kind === 'orm')) return '';
  if (source.name.startsWith('#')) return undefined;
  const className = classNameFor(cls);
  if (!className) return undefined;
  // MikroORM 6 resolves a provider's result: an EntityManager, the MikroORM instance or a repository.
  return `(self: ${className}) => self.${source.name}`;
}

/** What one root gets: its edit, or the reason it stays manual. */
function decideRoot(ref: FunctionRef, node: ts.Node | undefined, sourceFile: ts.SourceFile, decorators: DecoratorSupport, imports: ImportedDeclarations): RootEdit | string {
  if (ref.kind === 'module') {
    const plan = planModuleRoot(sourceFile, detectStyle(sourceFile).modules === 'commonjs');
    if (plan.kind === 'manual') return plan.reason;
    if (foreignBinding(sourceFile, 'RequestContext')) return 'the file binds `RequestContext` to something other than MikroORM\'s: open a RequestContext by hand';
    return { kind: 'wrap-module', em: plan.source.expression, after: plan.after, end: plan.end };
  }
  if (!node || !isFunctionWithBody(node)) return 'the function was not found where scan saw it (did the file change?)';
  const unwrappable = unwrappableReason(node);
  if (unwrappable) return unwrappable;
  if (hasOpenerDecorator(node)) return 'it already has a RequestContext decorator, yet scan still sees it outside a context: check the decorator\'s provider by hand';
  const typedSource = !FUNCTION_EXTENSIONS_WITHOUT_DECORATORS.test(sourceFile.fileName);
  // `this` is the instance only where the body already relies on it (an unbound call would break the decorator too).
  const cls = usesThis(node) ? instanceClassOf(node) : undefined;
  const thisSources = cls ? classContextSources(cls, imports.classes) : [];
  const async = isAsync(node);

  if (ts.isMethodDeclaration(node) && cls && async && thisSources.length > 0 && decorators.enabledFor(sourceFile.fileName)) {
    const preferred = thisSources.find((source) => source.name === 'em' && source.kind === 'em') ?? thisSources.find((source) => source.name === 'orm' && source.kind === 'orm') ?? thisSources[0];
    const provider = preferred ? providerFor(preferred, cls) : undefined;
    // Where the decorator would emit a parameter's imported type as a value that may not exist (TS1272), the body is wrapped instead.
    const blocked = decorators.checksMetadataImports(sourceFile.fileName) && metadataTypeImports(node, sourceFile, imports.classes).length > 0;
    if (provider !== undefined && !blocked) {
      if (foreignBinding(sourceFile, 'CreateRequestContext')) return 'the file binds `CreateRequestContext` to something other than MikroORM\'s decorator: add `@CreateRequestContext()` by hand';
      const from = decorators.moduleFor(sourceFile.fileName);
      return provider === '' ? { kind: 'decorate', from } : { kind: 'decorate', provider, from };
    }
  }

  const answer = contextSourceInScope(node, thisSources, typedSource, imports.lookup);
  if (!answer.source) {
    const what = ts.isMethodDeclaration(node) && !isStatic(node) ? 'neither its class (an `em: EntityManager` or `orm: MikroORM` property) nor its scope' : 'nothing in its scope';
    return `${what} holds an EntityManager or MikroORM instance to open a RequestContext with: pass one in (a parameter or property), or wrap its callers in \`RequestContext.create(em, …)\`, then run fix again`;
  }
  if (answer.after !== undefined && !(ts.isBlock(node.body) && node.body.statements.some((statement) => statement.pos >= (answer.after as number)))) {
    return `it creates \`${answer.source.name}\` itself and nothing after that can be moved into a RequestContext: open one by hand`;
  }
  if (foreignBinding(sourceFile, 'RequestContext')) return 'the file binds `RequestContext` to something other than MikroORM\'s: wrap the body in `RequestContext.create(em, …)` by hand';
  return { kind: 'wrap', em: answer.source.expression, async, ...(answer.after !== undefined ? { after: answer.after } : {}) };
}

function rootSubject(ref: FunctionRef): string {
  return ref.kind === 'module' ? 'top-level code' : ref.name ? `\`${ref.name}\`` : 'an anonymous function';
}

/** Reads each file once; decides every root of the scan's async-outside-connection findings. */
export function decideMikroOrmFix(result: ScanResult, enabled: boolean): MikroOrmDecisions {
  const decisions: MikroOrmDecisions = { byFile: new Map(), texts: new Map(), manual: [], errors: [], failed: new Set() };
  if (!enabled) return decisions;
  const display = (file: string): string => displayPath(result.cwd, file);
  const roots = new Map<string, { ref: FunctionRef; findings: number; calls: Finding[] }>();
  const source = (file: string): SourceText => {
    let entry = decisions.texts.get(file);
    if (!entry) {
      const raw = readFileSync(file, 'utf8');
      const bom = raw.startsWith('\uFEFF') ? '\uFEFF' : '';
      entry = { raw, text: raw.slice(bom.length), bom };
      decisions.texts.set(file, entry);
    }
    return entry;
  };
  const fail = (file: string, error: unknown): void => {
    if (decisions.failed.has(file)) return;
    decisions.failed.add(file);
    decisions.errors.push({ file, message: error instanceof Error ? error.message : String(error) });
  };
  const manual = (file: string, offset: number, subject: string, reason: string, findings: number): void => {
    let position = { line: 1, column: 1 };
    try {
      position = positionAt(source(file).text, offset);
    } catch {
      // a file that cannot be read keeps 1:1
    }
    decisions.manual.push({ file, ...position, ruleId: 'async-outside-connection', subject, reason, findings });
  };

  for (const finding of result.findings) {
    if (finding.ruleId === 'parse-error') {
      fail(finding.file, new Error(`${display(finding.file)}:${finding.line}:${finding.column}: ${finding.message}`));
      continue;
    }
    if (finding.ruleId !== 'async-outside-connection') continue;
    const refs = finding.roots ?? [];
    if (refs.length === 0) {
      manual(finding.file, finding.start, `\`${finding.data.callee ?? finding.data.method ?? 'call'}()\``, 'its call chain has no root the fix can wrap (a cycle of callers)', 1);
    }
    for (const ref of refs) {
      const entry = roots.get(ref.id);
      if (entry) {
        entry.findings += 1;
        entry.calls.push(finding);
      } else {
        roots.set(ref.id, { ref, findings: 1, calls: [finding] });
      }
    }
  }

  const decorators = new DecoratorSupport();
  const imports = new ImportedDeclarations();
  const trees = new Map<string, ts.SourceFile>();
  const nodes = new Map<RootDecision, ts.Node>();
  for (const { ref, findings, calls } of roots.values()) {
    const decision: RootDecision = { ref, start: ref.start, findings };
    try {
      const { text, bom } = source(ref.file);
      let sourceFile = trees.get(ref.file);
      if (!sourceFile) trees.set(ref.file, (sourceFile = parseSource(ref.file, text)));
      // Type-aware scans read files through TypeScript, which drops a BOM; syntactic scans count it.
      let node = ref.kind === 'module' ? undefined : functionAt(sourceFile, ref.start);
      if (!node && bom && ref.kind !== 'module') {
        node = functionAt(sourceFile, ref.start - 1);
        if (node) decision.start = ref.start - 1;
      }
      if (node) nodes.set(decision, node);
      const edit = nestingReason(result, ref, display) ?? decideRoot(ref, node, sourceFile, decorators, imports);
      if (typeof edit === 'string') {
        decision.reason = edit;
      } else if ((edit.kind === 'wrap' || edit.kind === 'wrap-module') && edit.after !== undefined) {
        // Calls written before the statement that creates the ORM stay outside the context.
        const shift = decision.start - ref.start;
        const after = edit.after;
        const before = calls.find((call) => call.file === ref.file && call.start + shift >= decision.start && call.start + shift < after);
        if (before) decision.reason = `\`${before.data.callee ?? before.data.method ?? 'a call'}()\` (line ${before.line}) runs before the EntityManager it could use is created: open a RequestContext by hand`;
        else decision.edit = edit;
      } else {
        decision.edit = edit;
      }
    } catch (error) {
      fail(ref.file, error);
      decision.reason = 'its file could not be read or parsed';
    }
    const list = decisions.byFile.get(ref.file);
    if (list) list.push(decision);
    else decisions.byFile.set(ref.file, [decision]);
  }

  scheduledRoots([...decisions.byFile.values()].flat(), nodes, result, display);
  topLevelRoots([...decisions.byFile.values()].flat(), result, display);
  continuationRoots([...decisions.byFile.values()].flat(), nodes, trees, display);
  for (const list of decisions.byFile.values()) {
    list.sort((a, b) => a.start - b.start);
    chainRoots(list, nodes, trees, display);
    for (const decision of list) if (decision.reason) manual(decision.ref.file, decision.start, rootSubject(decision.ref), decision.reason, decision.findings);
  }
  decisions.byFile = new Map([...decisions.byFile].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  decisions.manual.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column));
  return decisions;
}

/**
 * A timer callback (`setTimeout(async () => { a.name = …; await em.flush() })`) written inside
 * another root, inside code that runs in a context, or in top-level code that is a root: scan
 * counts it as starting outside (as a connection block has ended by then), but a RequestContext
 * does not end — the callback inherits it (AsyncLocalStorage follows timers) and, before the fix,
 * shared the global identity map with the code around it. A context of its own would be another
 * fork: the entities it closes over would not be flushed (the rename was lost on real SQLite).
 * Left as it is, it runs in the context the fix opens around it, so it stays manual (scan still
 * reports it), with the reason.
 */
function scheduledRoots(all: RootDecision[], nodes: Map<RootDecision, ts.Node>, result: ScanResult, display: (file: string) => string): void {
  let inside: Map<string, ConnectionFunctionSummary> | undefined;
  for (const decision of all) {
    const node = nodes.get(decision);
    const around = node ? scheduledIn(node) : undefined;
    if (!around || (decision.reason !== undefined && decision.edit === undefined)) continue;
    const shift = decision.start - decision.ref.start;
    const file = decision.ref.file;
    let holder: string | undefined;
    for (const start of around) {
      const root = all.find((other) => other !== decision && other.ref.file === file && other.ref.kind !== 'module' && other.start === start);
      if (root) {
        holder = `${rootSubject(root.ref)} (${display(file)}:${root.ref.line}), whose RequestContext`;
        break;
      }
      inside ??= new Map((result.connection?.functions ?? []).filter((fn) => fn.insideConnection).map((fn) => [fn.id, fn]));
      const summary = inside.get(`${file}#${start - shift}`);
      if (summary) {
        holder = `${rootSubject(summary)} (${display(file)}:${summary.line}), which runs in a RequestContext that`;
        break;
      }
    }
    if (!holder && around.length === 0) {
      const module = all.find((other) => other.ref.file === file && other.ref.kind === 'module');
      if (module) holder = `the top-level code of ${display(file)}, whose RequestContext`;
    }
    if (!holder) continue;
    delete decision.edit;
    decision.reason = `it is scheduled inside ${holder} it inherits at run time (AsyncLocalStorage follows timers; before, both used the global identity map): a context of its own would be another EntityManager fork, and the entities it shares with that code would not be seen (nor flushed) by it; leave it in that context (scan keeps reporting it), or fork explicitly if each run must have its own`;
  }
}

/**
 * Roots called by top-level code (scan stops a chain there: top-level code is not a function to
 * wrap). What one top level does is one unit of work — `const a = await load('ann'); a.name =
 * 'anne'; await save();` — so a context per root would put the entity in one fork and the flush
 * in another (the rename was lost on real SQLite). Such a root is covered when every top level
 * that calls it gets the fix's own context (a script that creates the ORM there) and nothing else
 * reaches it; it stays manual when a top level that calls it also calls another root or uses the
 * EntityManager itself (a root that stays manual). A root that is the only one a top level calls
 * keeps its own context: nothing there shares its entities.
 */
function topLevelRoots(all: RootDecision[], result: ScanResult, display: (file: string) => string): void {
  const moduleCallersOf = result.connection?.moduleCallersOf;
  if (!moduleCallersOf) return;
  const modules = new Map(all.filter((decision) => decision.ref.kind === 'module').map((decision) => [decision.ref.id, decision]));
  const callers = new Map<RootDecision, { modules: FunctionRef[]; elsewhere: boolean }>();
  const calledBy = new Map<string, RootDecision[]>();
  for (const decision of all) {
    if (decision.ref.kind === 'module') continue;
    const found = moduleCallersOf(decision.ref.id);
    if (found.modules.length === 0) continue;
    callers.set(decision, found);
    for (const module of found.modules) {
      const list = calledBy.get(module.id);
      if (list) list.push(decision);
      else calledBy.set(module.id, [decision]);
    }
  }
  for (const [decision, found] of callers) {
    if (decision.reason !== undefined && decision.edit === undefined) continue;
    const wrapped = found.modules.map((module) => modules.get(module.id)).filter((module): module is RootDecision => module?.edit !== undefined);
    if (wrapped.length === found.modules.length && !found.elsewhere) {
      delete decision.edit;
      decision.coveredBy = wrapped[0];
      continue;
    }
    for (const module of found.modules) {
      const self = modules.get(module.id);
      const others = (calledBy.get(module.id) ?? []).filter((other) => other !== decision);
      if (!self && others.length === 0) continue;
      const what = self
        ? self.edit
          ? 'which the fix puts in a RequestContext of its own while this function is also reached from elsewhere'
          : 'which uses the EntityManager itself and stays manual'
        : `with ${others.map((other) => `${other.ref.name ? `\`${other.ref.name}\`` : 'a function'} (${display(other.ref.file)}:${other.ref.line})`).slice(0, 3).join(', ')}, another root`;
      delete decision.edit;
      decision.reason = `it is called by the top-level code of ${display(module.file)}, ${what}: a RequestContext each would be separate EntityManager forks, and the entities one of them loads would not be seen (nor flushed) by the others; move that top-level code into an async function (e.g. \`main()\`), so that one context holds it, then run fix again`;
      break;
    }
  }
}

/**
 * A root that continues another root's promise (`loadAuthor(orm, id).then(async (author) => { …
 * await save(orm) })` in a function that is not async, chain.ts) and that other root: a context
 * each would give them two forks, and the callback's flush would not see the entities the first
 * loaded (the change is silently lost). Both stay manual: one context must hold the whole chain.
 */
function continuationRoots(all: RootDecision[], nodes: Map<RootDecision, ts.Node>, trees: Map<string, ts.SourceFile>, display: (file: string) => string): void {
  for (const decision of all) {
    const node = nodes.get(decision);
    const continued = node ? continuedCall(node) : undefined;
    if (!continued) continue;
    const heads = all.filter((other) => other !== decision && other.ref.kind !== 'module' && other.ref.name === continued.name);
    if (heads.length === 0) continue;
    const tree = trees.get(decision.ref.file);
    const line = tree ? tree.getLineAndCharacterOfPosition(continued.call.getStart(tree)).line + 1 : decision.ref.line;
    const where = `${display(decision.ref.file)}:${line}`;
    const advice = 'one context must hold the whole chain: make the function that builds it async and `await` each step (or open `RequestContext.create(em, …)` around the chain by hand), then run fix again';
    delete decision.edit;
    decision.reason = `it continues the promise of \`${continued.name}()\` (${where}), which is a root of its own: a RequestContext each would be two EntityManager forks, and the entities \`${continued.name}()\` loads would not be seen (nor flushed) by this callback's; ${advice}`;
    for (const head of heads) {
      if (head.reason !== undefined && head.edit === undefined) continue;
      delete head.edit;
      head.reason = `its promise is continued by another root, the callback at ${display(decision.ref.file)}:${decision.ref.line}: a RequestContext each would be two EntityManager forks, and the entities it returns would not be flushed by that callback's; ${advice}`;
    }
  }
}

/**
 * Middleware and the handlers after it on the same app (chain.ts): a handler that runs after a
 * middleware root the fix wraps is covered by that context (no edit of its own: a second context
 * would be a second fork, and the middleware's entities, `req.user`, would not be flushed by the
 * handler); after one that stays manual, it stays manual too. In registration order, so a chain
 * of middlewares covers (or holds back) everything after its first link.
 */
function chainRoots(list: RootDecision[], nodes: Map<RootDecision, ts.Node>, trees: Map<string, ts.SourceFile>, display: (file: string) => string): void {
  const registered: { decision: RootDecision; registration: Registration; passes: boolean }[] = [];
  for (const decision of list) {
    const node = nodes.get(decision);
    const tree = trees.get(decision.ref.file);
    const registration = node && tree ? registrationOf(node, tree) : undefined;
    if (node && registration) registered.push({ decision, registration, passes: passesOn(node) });
  }
  // Registration order (a named handler may be declared far from where it is registered).
  registered.sort((a, b) => a.registration.call.getStart() - b.registration.call.getStart() || a.registration.index - b.registration.index);
  for (const later of registered) {
    if (later.decision.reason !== undefined && later.decision.edit === undefined) continue;
    const earlier = registered.find((candidate) => candidate !== later && candidate.passes && runsAfter(later.registration, candidate.registration));
    if (!earlier) continue;
    const middleware = earlier.decision;
    delete later.decision.edit;
    if (middleware.edit || middleware.coveredBy) {
      later.decision.coveredBy = middleware.coveredBy ?? middleware;
    } else {
      later.decision.reason = `it runs after the middleware at ${display(middleware.ref.file)}:${middleware.ref.line}, which hands the request on (\`next()\`) and stays manual: a RequestContext of its own would be another EntityManager fork, which would not see (nor flush) the entities that middleware loads; open one context for both (\`app.use((req, res, next) => RequestContext.create(orm.em, next))\` before the middleware), then run fix again`;
    }
  }
}

/**
 * Why a root cannot get a context of its own because another context would hold it: it is also
 * called inside a context (those calls would get another fork, outside that context's identity
 * map and transaction), or another root reaches it (reached here through a caller that is not
 * async), whose context would contain it the same way once fixed, or it calls itself (a fork per
 * level of the recursion).
 */
function nestingReason(result: ScanResult, ref: FunctionRef, display: (file: string) => string): string | undefined {
  if (ref.kind === 'module') return undefined;
  // (A result without the call graph, as some callers build one, has nothing to say.)
  const caller = result.connection?.insideCallerOf?.(ref.id);
  if (caller) {
    return `it is also called inside a RequestContext (${insideCallerText(caller, display(caller.file))}): a context of its own would give those calls another EntityManager fork, outside that context's transaction; wrap the code that calls it outside a context instead, then run fix again`;
  }
  const others = (result.connection?.rootsOf(ref.id) ?? []).filter((root) => root.id !== ref.id);
  if (others.length > 0) {
    return `it is also reached from ${rootListText(others, display)}, whose context would contain it: a RequestContext of its own would give it a separate identity map there; open one in its callers that are not async instead, then run fix again`;
  }
  if (result.connection?.reachesItself?.(ref.id)) {
    return `it calls itself (recursion outside every context): a RequestContext of its own would give every level of the recursion another EntityManager fork, with a separate identity map, outside the outer levels' transactions; open one in the code that first calls it instead, then run fix again`;
  }
  return undefined;
}

/** The findings the mikro-orm fix would make go away: every root of the call is edited, in a file it can read. */
export function mikroOrmRewrittenFindings(result: ScanResult, enabled: boolean): Set<Finding> {
  const decisions = decideMikroOrmFix(result, enabled);
  const edited = new Set<string>();
  for (const list of decisions.byFile.values()) {
    for (const decision of list) if ((decision.edit || decision.coveredBy) && !decisions.failed.has(decision.ref.file)) edited.add(decision.ref.id);
  }
  const rewritten = new Set<Finding>();
  for (const finding of result.findings) {
    if (finding.ruleId !== 'async-outside-connection' || decisions.failed.has(finding.file)) continue;
    const roots = finding.roots ?? [];
    if (roots.length > 0 && roots.every((root) => edited.has(root.id))) rewritten.add(finding);
  }
  return rewritten;
}
