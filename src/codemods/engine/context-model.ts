/**
 * A preset's context model inside the one walk of a file (presets/index.ts `ContextModel`,
 * `EntryPoints`): which calls need a context (`em.find()` on an EntityManager or repository that is
 * not a fork), which callbacks run inside one (`RequestContext.create(em, cb)`, `em.transactional(cb)`,
 * route handlers behind a context middleware), and which methods are framework entry points
 * (`@CreateRequestContext()` inside; a NestJS controller handler inside; `@Cron()` outside).
 *
 * The file walker (file-analysis.ts) asks; this module answers from the syntax and the scopes it
 * is given. Whether a receiver really is the ORM's is evidence the engine settles later: by the type
 * checker (its type is or extends `EntityManager` / `EntityRepository` of @mikro-orm/core), else by
 * the receiver's syntactic shape and where its value comes from (imports followed).
 */
import ts from '../typescript.cjs';

import type { Evidence, ExportFact, Origin, RoleCandidate, RouteMountFact } from './facts.js';
import { isProjectModule } from './origin-resolver.js';
import type { ScopeTracker } from './syntactic-scope.js';
import { unwrapExpression } from './syntactic-scope.js';
import type { ContextModel, EntryPoints, Preset } from '../presets/index.js';

const { SyntaxKind } = ts;

/** The project-wide facts a file cannot see on its own, found before the walk (see `contextEntryFlags`). */
export interface ContextEntryFlags {
  /** NestJS's ORM module registers the request context for controllers (its default). */
  controllersInside: boolean;
}

/** What the walk gets from the scan for a preset with a context model. */
export interface ContextSurface {
  preset: Preset;
  model: ContextModel;
  entryPoints: EntryPoints;
  flags: ContextEntryFlags;
}

export function contextSurfaceOf(preset: Preset, flags: ContextEntryFlags = { controllersInside: false }): ContextSurface | undefined {
  if (!preset.context || !preset.entryPoints) return undefined;
  return { preset, model: preset.context, entryPoints: preset.entryPoints, flags };
}

/**
 * The project-wide entry-point facts, from the texts of the files the prefilter passed (before
 * any parse): NestJS's `MikroOrmModule.forRoot…` registers the request context for controllers
 * unless told `registerRequestContext: false`. (HTTP routes are placed per app, in the walk: see
 * `routeEvidence`.)
 */
export function contextEntryFlags(texts: Iterable<string>): ContextEntryFlags {
  const flags: ContextEntryFlags = { controllersInside: false };
  let nestModule = false;
  let nestOff = false;
  let ownMiddleware = false;
  for (const text of texts) {
    if (text.includes('MikroOrmModule')) {
      if (NEST_MODULE.test(text)) nestModule = true;
      if (NEST_REQUEST_CONTEXT_OFF.test(text)) nestOff = true;
    }
    // Registered by hand instead (`consumer.apply(MikroOrmMiddleware)`, or a NestMiddleware of the project's that opens a context).
    if ((text.includes('MikroOrmMiddleware') && NEST_APPLY_MIDDLEWARE.test(text)) || (text.includes('NestMiddleware') && NEST_OWN_MIDDLEWARE.test(text))) ownMiddleware = true;
  }
  flags.controllersInside = (nestModule && !nestOff) || ownMiddleware;
  return flags;
}

/** A function that opens a context for what runs after it (a middleware or hook): it calls `RequestContext.create(…)` or `.enter(…)`. */
const OPENS_CONTEXT = /\bRequestContext\s*\.\s*(?:create|enter)\s*\(/;
/** Methods that register a middleware or hook on an app or router. */
const MIDDLEWARE_METHODS = new Set(['use', 'addHook']);

/** `router.routes()` / `router.middleware()`: the middleware by which a koa-router router is mounted. */
function isKoaRouterMiddleware(value: ts.Expression): value is ts.CallExpression {
  if (!ts.isCallExpression(value) || value.arguments.length > 0) return false;
  const callee = unwrapExpression(value.expression);
  return ts.isPropertyAccessExpression(callee) && (callee.name.text === 'routes' || callee.name.text === 'middleware') && ts.isIdentifier(unwrapExpression(callee.expression));
}
const NEST_MODULE = /\bMikroOrmModule\s*\.\s*forRoot(?:Async)?\s*\(/;
const NEST_REQUEST_CONTEXT_OFF = /\bregisterRequestContext\s*:\s*false\b/;
const NEST_APPLY_MIDDLEWARE = /\.\s*apply\s*\([^)]*\bMikroOrmMiddleware\b/;
const NEST_OWN_MIDDLEWARE = /\bimplements\s+NestMiddleware\b[\s\S]{0,4000}?\bRequestContext\s*\.\s*(?:create|enter)\s*\(/;

/** Type names that, without types, make a value a context-needing object (`EntityManager`, `SqlEntityManager`, `EntityRepository<T>`, `BookRepository`). */
const MANAGER_TYPE_NAME = /(?:EntityManager|Repository)$/;
const MAX_DEPTH = 20;

/** A call that needs a context, as the rule sees it. */
export interface ContextCallMatch {
  call: ts.CallExpression;
  /** The method name (`find`). */
  name: string;
  evidence: Evidence;
  /** The receiver is this parameter of the enclosing function: what its callers pass decides. */
  receiverParameter?: number;
}

/** What the walker needs from the file walk. */
export interface ContextWalkHost {
  readonly scopes: ScopeTracker;
  readonly keepNodes: boolean;
  /** The class whose body the walk is in (for `this.em`). */
  currentClass(): ts.ClassLikeDeclaration | undefined;
  /** The function whose body the walk is in (undefined at module level). */
  currentFunction(): ts.Node | undefined;
  readonly sourceFile: ts.SourceFile;
}


/** The preset's half of the walk for one file. */
export class ContextModelWalker {
  private readonly model: ContextModel;
  private readonly entryPoints: EntryPoints;
  private readonly classes: readonly string[];

  constructor(
    private readonly surface: ContextSurface,
    private readonly host: ContextWalkHost,
  ) {
    this.model = surface.model;
    this.entryPoints = surface.entryPoints;
    this.classes = surface.model.receiverTypes;
  }

  // ---------------------------------------------------------------- calls that need a context

  /** `em.find(…)`, `repo.findOne(…)`, `orm.em.persist(…)`: a context-needing method on something that may be the ORM's, not a fork. */
  contextCall(call: ts.CallExpression): ContextCallMatch | undefined {
    const callee = unwrapExpression(call.expression);
    if (!ts.isPropertyAccessExpression(callee) || !this.model.methods.has(callee.name.text)) return undefined;
    const receiver = unwrapExpression(callee.expression);
    if (receiver.kind === SyntaxKind.SuperKeyword || this.isFork(receiver, 0)) return undefined;
    const origins = this.managerOrigins(receiver, false, 0);
    // Without a checker only the receiver's shape and origins can tell; with one, the type decides.
    if (!this.host.keepNodes && (origins === undefined || origins.length === 0)) return undefined;
    if (this.host.keepNodes && isNeverAManager(receiver)) return undefined;
    const match: ContextCallMatch = { call, name: callee.name.text, evidence: this.receiverEvidence(receiver, origins ?? []) };
    const parameter = this.parameterIndex(receiver);
    if (parameter !== undefined) match.receiverParameter = parameter;
    return match;
  }

  /** `em` of `em.find()` when it is a parameter of the function the call is in: its index. */
  private parameterIndex(receiver: ts.Expression): number | undefined {
    if (!ts.isIdentifier(receiver)) return undefined;
    const binding = this.host.scopes.lookup(receiver.text);
    if (binding?.kind !== 'variable' || binding.path.length > 0 || !ts.isParameter(binding.node)) return undefined;
    const fn = this.host.currentFunction();
    if (!fn || binding.node.parent !== fn) return undefined;
    const index = (fn as ts.SignatureDeclaration).parameters.indexOf(binding.node);
    return index >= 0 ? index : undefined;
  }

  /** The arguments of a call that are forks (`closeAccount(em.fork(), id)`), or undefined when none is. */
  forkArguments(call: ts.CallExpression | ts.NewExpression): number[] | undefined {
    let forks: number[] | undefined;
    call.arguments?.forEach((argument, index) => {
      if (this.isFork(argument, 0)) (forks ??= []).push(index);
    });
    return forks;
  }

  private receiverEvidence(receiver: ts.Expression, origins: Origin[]): Evidence {
    const evidence: Evidence = { target: 'orm', origins, classes: this.classes };
    if (this.host.keepNodes) {
      evidence.node = receiver;
      evidence.shape = 'receiver';
    }
    return evidence;
  }

  /** A forked EntityManager (or a repository of one): its own identity map, no context needed. */
  private isFork(expression: ts.Expression, depth: number): boolean {
    if (depth > MAX_DEPTH) return false;
    const node = unwrapExpression(expression);
    if (ts.isAwaitExpression(node)) return this.isFork(node.expression, depth + 1);
    if (ts.isCallExpression(node)) {
      const callee = unwrapExpression(node.expression);
      if (!ts.isPropertyAccessExpression(callee)) return false;
      if (this.model.forkMethods.has(callee.name.text)) return true;
      // `RequestContext.getEntityManager()`: the current context's EntityManager (undefined outside one), never the global one.
      if (callee.name.text === 'getEntityManager' && ts.isIdentifier(callee.expression) && this.model.openerCalls.some((opener) => opener.receiver === (callee.expression as ts.Identifier).text)) return true;
      return this.model.repositoryMethods.has(callee.name.text) && this.isFork(callee.expression, depth + 1);
    }
    if (ts.isIdentifier(node)) {
      const binding = this.host.scopes.lookup(node.text);
      if (binding?.kind === 'variable' && ts.isParameter(binding.node)) return this.isForkedParameter(binding.node);
      if (binding?.kind !== 'variable' || binding.path.length > 0 || binding.iterated || !binding.node.initializer) return false;
      return this.isFork(binding.node.initializer, depth + 1);
    }
    if (ts.isPropertyAccessExpression(node) && node.expression.kind === SyntaxKind.ThisKeyword) {
      const initializer = this.classMember(node.name.text)?.initializer ?? this.constructorAssignment(node.name.text);
      return initializer !== undefined && this.isFork(initializer, depth + 1);
    }
    // `args.em` in a lifecycle hook or EventSubscriber (`afterCreate(args: EventArgs<User>)`).
    if (ts.isPropertyAccessExpression(node) && this.model.managerProperties.has(node.name.text) && ts.isIdentifier(unwrapExpression(node.expression))) {
      const binding = this.host.scopes.lookup((unwrapExpression(node.expression) as ts.Identifier).text);
      const type = binding?.kind === 'variable' && ts.isParameter(binding.node) ? binding.node.type : undefined;
      return type !== undefined && ts.isTypeReferenceNode(type) && this.model.forkedArgumentTypes.has(ts.isIdentifier(type.typeName) ? type.typeName.text : type.typeName.right.text);
    }
    return false;
  }

  /** A parameter always filled with a fork: `run(em)` of a `Seeder`, or a callback's that its caller hands a fork. */
  private isForkedParameter(parameter: ts.ParameterDeclaration): boolean {
    if (this.isForkedCallbackParameter(parameter)) return true;
    const method = parameter.parent;
    if (!method || !ts.isMethodDeclaration(method) || !ts.isIdentifier(method.name)) return false;
    const cls = method.parent;
    if (!cls || !ts.isClassLike(cls)) return false;
    const index = method.parameters.indexOf(parameter);
    const methodName = method.name.text;
    return this.model.forkedParameters.some(
      (forked) =>
        forked.method === methodName &&
        forked.parameter === index &&
        (cls.heritageClauses ?? []).some((clause) => clause.token === SyntaxKind.ExtendsKeyword && clause.types.some((type) => baseName(type.expression) === forked.baseClass)),
    );
  }

  /**
   * `em` of `withFork(async (em) => em.count(Post))` when `withFork` (a function of this file)
   * calls that callback only with a fork in that place (`work(orm.em.fork())`).
   */
  private isForkedCallbackParameter(parameter: ts.ParameterDeclaration): boolean {
    // The callee's arguments are read in this scope: a name there may lead back to this parameter.
    if (this.parametersInProgress.has(parameter)) return false;
    this.parametersInProgress.add(parameter);
    try {
      return this.callerHandsFork(parameter);
    } finally {
      this.parametersInProgress.delete(parameter);
    }
  }

  private readonly parametersInProgress = new Set<ts.ParameterDeclaration>();

  private callerHandsFork(parameter: ts.ParameterDeclaration): boolean {
    const callback = parameter.parent;
    if (!callback || !(ts.isArrowFunction(callback) || ts.isFunctionExpression(callback))) return false;
    const call = callback.parent;
    if (!call || !ts.isCallExpression(call)) return false;
    const argumentIndex = call.arguments.indexOf(callback);
    const parameterIndex = callback.parameters.indexOf(parameter);
    const callee = unwrapExpression(call.expression);
    if (argumentIndex < 0 || parameterIndex < 0 || !ts.isIdentifier(callee)) return false;
    const binding = this.host.scopes.lookup(callee.text);
    const fn =
      binding?.kind === 'function'
        ? binding.node
        : binding?.kind === 'variable' && binding.node.initializer && ts.isFunctionLike(unwrapExpression(binding.node.initializer))
          ? (unwrapExpression(binding.node.initializer) as ts.FunctionLikeDeclaration)
          : undefined;
    const workParameter = fn?.parameters[argumentIndex]?.name;
    if (!fn?.body || !workParameter || !ts.isIdentifier(workParameter)) return false;
    let calls = 0;
    let forked = true;
    const visit = (node: ts.Node): void => {
      if (!forked) return;
      if (ts.isCallExpression(node) && ts.isIdentifier(unwrapExpression(node.expression)) && (unwrapExpression(node.expression) as ts.Identifier).text === workParameter.text) {
        calls += 1;
        const argument = node.arguments[parameterIndex];
        if (!argument || !this.isFork(argument, MAX_DEPTH - 2)) forked = false;
      }
      ts.forEachChild(node, visit);
    };
    visit(fn.body);
    return calls > 0 && forked;
  }

  /**
   * Origins of a value that is shaped like an EntityManager or repository (undefined when it is
   * not): annotated with such a type, `orm.em`, `em.getRepository(X)`, `this.em`, a variable
   * holding one, `this` in a repository class. A fork counts only when `allowFork`.
   */
  private managerOrigins(expression: ts.Expression, allowFork: boolean, depth: number): Origin[] | undefined {
    if (depth > MAX_DEPTH) return undefined;
    const node = unwrapExpression(expression);
    const scopes = this.host.scopes;
    switch (node.kind) {
      case SyntaxKind.AwaitExpression:
        return this.managerOrigins((node as ts.AwaitExpression).expression, allowFork, depth + 1);
      case SyntaxKind.CallExpression: {
        const callee = unwrapExpression((node as ts.CallExpression).expression);
        if (!ts.isPropertyAccessExpression(callee)) return undefined;
        const name = callee.name.text;
        if ((allowFork && this.model.forkMethods.has(name)) || this.model.repositoryMethods.has(name)) {
          return this.managerOrigins(callee.expression, allowFork, depth + 1);
        }
        return undefined;
      }
      case SyntaxKind.PropertyAccessExpression: {
        const access = node as ts.PropertyAccessExpression;
        if (access.expression.kind === SyntaxKind.ThisKeyword) {
          const member = this.classMember(access.name.text);
          if (member?.type) return this.typeShapedOrigins(member.type);
          if (member?.initializer) return this.managerOrigins(member.initializer, allowFork, depth + 1);
        }
        // `orm.em`, `this.orm.em`: the ORM instance's manager.
        if (this.model.managerProperties.has(access.name.text)) {
          const instance = scopes.originsOf(access.expression);
          // `DI.em` of a registry: its member's own origins too (the registry's may not derive from the ORM).
          const member = this.registryMemberOrigins(access, depth + 1) ?? [];
          return instance.length > 0 ? [...instance, ...member] : [...this.instanceOrigins(access.expression, depth + 1), ...member];
        }
        // `DI.users` of `const DI = {} as { users: EntityRepository<User> }` (a service registry).
        const memberType = this.registryMemberType(access);
        return memberType ? this.typeShapedOrigins(memberType) : this.registryMemberOrigins(access, depth + 1);
      }
      case SyntaxKind.Identifier: {
        const binding = scopes.lookup((node as ts.Identifier).text);
        if (binding?.kind !== 'variable' || binding.path.length > 0 || binding.iterated) return undefined;
        const declaration = binding.node;
        if (declaration.type) return this.typeShapedOrigins(declaration.type);
        if (declaration.initializer && !ts.isParameter(declaration)) return this.managerOrigins(declaration.initializer, allowFork, depth + 1);
        return undefined;
      }
      case SyntaxKind.ThisKeyword: {
        const cls = this.host.currentClass();
        if (!cls) return undefined;
        const origins: Origin[] = [];
        for (const clause of cls.heritageClauses ?? []) {
          if (clause.token !== SyntaxKind.ExtendsKeyword) continue;
          for (const type of clause.types) {
            const base = unwrapExpression(type.expression);
            const name = ts.isIdentifier(base) ? base.text : ts.isPropertyAccessExpression(base) ? base.name.text : undefined;
            if (name !== undefined && MANAGER_TYPE_NAME.test(name)) origins.push(...scopes.originsOf(type.expression));
          }
        }
        return origins.length > 0 ? origins : undefined;
      }
      default:
        return undefined;
    }
  }

  /** The declared type of `registry.member` when `registry` is a variable typed with an object type (`{} as { em: EntityManager }`, `const DI: { em: EntityManager }`). */
  private registryMemberType(access: ts.PropertyAccessExpression): ts.TypeNode | undefined {
    const holder = unwrapExpressionKeepingType(access.expression);
    if (!ts.isIdentifier(holder)) return undefined;
    const binding = this.host.scopes.lookup(holder.text);
    if (binding?.kind !== 'variable' || binding.path.length > 0 || !ts.isVariableDeclaration(binding.node)) return undefined;
    const declaration = binding.node;
    let type = declaration.type;
    if (!type && declaration.initializer && (ts.isAsExpression(declaration.initializer) || ts.isSatisfiesExpression(declaration.initializer))) type = declaration.initializer.type;
    if (!type || !ts.isTypeLiteralNode(type)) return undefined;
    for (const member of type.members) {
      if (ts.isPropertySignature(member) && member.name && ts.isIdentifier(member.name) && member.name.text === access.name.text) return member.type;
    }
    return undefined;
  }

  /**
   * An exported service registry typed inline (`export const DI = {} as { orm: MikroORM; em:
   * EntityManager }`): its export also derives from what its members' types name, so `DI.em`
   * in another module is the ORM's without types (syntactic-scope does not look into type literals).
   */
  registryExportOrigins(name: string): Origin[] {
    const binding = this.host.scopes.scope.values?.get(name);
    if (binding?.kind !== 'variable' || binding.path.length > 0 || !ts.isVariableDeclaration(binding.node)) return [];
    const declaration = binding.node;
    let type = declaration.type;
    if (!type && declaration.initializer && (ts.isAsExpression(declaration.initializer) || ts.isSatisfiesExpression(declaration.initializer))) type = declaration.initializer.type;
    if (!type || !ts.isTypeLiteralNode(type)) return [];
    const origins: Origin[] = [];
    for (const member of type.members) {
      if (ts.isPropertySignature(member) && member.type) origins.push(...this.host.scopes.typeOrigins(member.type));
    }
    return origins;
  }

  /**
   * `DI.posts` of a registry built from values (`const DI = { em, posts: em.getRepository(Post) }`)
   * where that member holds an EntityManager or repository; of a registry imported from a project
   * module, that module's `DI.posts` export (see `registryMemberExports`).
   */
  private registryMemberOrigins(access: ts.PropertyAccessExpression, depth: number): Origin[] | undefined {
    const holder = unwrapExpression(access.expression);
    if (!ts.isIdentifier(holder)) return undefined;
    const binding = this.host.scopes.lookup(holder.text);
    if (binding?.kind === 'import') {
      const { module, name } = binding.origin;
      return name !== '*' && isProjectModule(module) ? [{ module, name: `${name}.${access.name.text}` }] : undefined;
    }
    if (binding?.kind !== 'variable' || binding.path.length > 0 || binding.iterated || !ts.isVariableDeclaration(binding.node)) return undefined;
    const member = objectLiteralMember(binding.node, access.name.text);
    return member && this.managerOrigins(member, false, depth + 1);
  }

  /**
   * The members of an exported service registry that hold an EntityManager or repository, as
   * exports named `DI.posts`: typed inline (`export const DI = {} as { posts: EntityRepository<Post> }`)
   * or built from values (`export const DI = { em, posts: em.getRepository(Post) }`). Another
   * module's `DI.posts.findAll()` then derives from the ORM without types (`registryMemberOrigins`).
   */
  registryMemberExports(name: string): Record<string, ExportFact> {
    const members: Record<string, ExportFact> = {};
    const binding = this.host.scopes.scope.values?.get(name);
    if (binding?.kind !== 'variable' || binding.path.length > 0 || !ts.isVariableDeclaration(binding.node)) return members;
    const declaration = binding.node;
    let type = declaration.type;
    if (!type && declaration.initializer && (ts.isAsExpression(declaration.initializer) || ts.isSatisfiesExpression(declaration.initializer))) type = declaration.initializer.type;
    if (type && ts.isTypeLiteralNode(type)) {
      for (const member of type.members) {
        if (!ts.isPropertySignature(member) || !member.type || !member.name || !ts.isIdentifier(member.name)) continue;
        const origins = this.typeShapedOrigins(member.type);
        if (origins && origins.length > 0) members[`${name}.${member.name.text}`] = { origins };
      }
      return members;
    }
    const literal = declaration.initializer && unwrapExpression(declaration.initializer);
    if (type || !literal || !ts.isObjectLiteralExpression(literal)) return members;
    for (const property of literal.properties) {
      const value = ts.isPropertyAssignment(property) ? property.initializer : ts.isShorthandPropertyAssignment(property) ? property.name : undefined;
      if (!value || !property.name || !ts.isIdentifier(property.name)) continue;
      const origins = this.managerOrigins(value, false, 0);
      if (origins && origins.length > 0) members[`${name}.${property.name.text}`] = { origins };
    }
    return members;
  }

  /** Origins of `this.orm` / `orm` when annotated (`private readonly orm: MikroORM`). */
  private instanceOrigins(expression: ts.Expression, depth: number): Origin[] {
    const node = unwrapExpression(expression);
    if (depth > MAX_DEPTH || !ts.isPropertyAccessExpression(node) || node.expression.kind !== SyntaxKind.ThisKeyword) return [];
    const member = this.classMember(node.name.text);
    if (member?.type) return this.host.scopes.typeOrigins(member.type);
    return member?.initializer ? this.host.scopes.originsOf(member.initializer) : [];
  }

  /** A type annotation naming an EntityManager or repository: where it comes from (undefined for any other type). */
  private typeShapedOrigins(type: ts.TypeNode): Origin[] | undefined {
    const node = ts.isTypeReferenceNode(type) ? type : undefined;
    if (!node) return undefined;
    const name = ts.isIdentifier(node.typeName) ? node.typeName.text : node.typeName.right.text;
    return MANAGER_TYPE_NAME.test(name) ? this.host.scopes.typeOrigins(type) : undefined;
  }

  /** A property of the current class, or a constructor parameter property: its annotation and initializer. */
  private classMember(name: string): { type: ts.TypeNode | undefined; initializer: ts.Expression | undefined } | undefined {
    const cls = this.host.currentClass();
    if (!cls) return undefined;
    for (const member of cls.members) {
      if (ts.isPropertyDeclaration(member) && member.name && ts.isIdentifier(member.name) && member.name.text === name) {
        return { type: member.type, initializer: member.initializer };
      }
      if (ts.isConstructorDeclaration(member)) {
        for (const parameter of member.parameters) {
          if (ts.isIdentifier(parameter.name) && parameter.name.text === name && ts.isParameterPropertyDeclaration(parameter, member)) {
            return { type: parameter.type, initializer: undefined };
          }
        }
      }
    }
    return undefined;
  }

  /** `this.name = value` in the current class's constructor (a field set from a fork there is a fork). */
  private constructorAssignment(name: string): ts.Expression | undefined {
    const cls = this.host.currentClass();
    const constructor = cls?.members.find((member): member is ts.ConstructorDeclaration => ts.isConstructorDeclaration(member) && member.body !== undefined);
    for (const statement of constructor?.body?.statements ?? []) {
      if (!ts.isExpressionStatement(statement) || !ts.isBinaryExpression(statement.expression)) continue;
      const { left, operatorToken, right } = statement.expression;
      if (operatorToken.kind === SyntaxKind.EqualsToken && ts.isPropertyAccessExpression(left) && left.expression.kind === SyntaxKind.ThisKeyword && left.name.text === name) return right;
    }
    return undefined;
  }

  /** The class property or constructor parameter property `name` of the current class: its annotated type's name. */
  memberTypeName(name: string): string | undefined {
    const type = this.classMember(name)?.type;
    if (!type || !ts.isTypeReferenceNode(type)) return undefined;
    return ts.isIdentifier(type.typeName) ? type.typeName.text : undefined;
  }

  // ---------------------------------------------------------------- callbacks that run inside

  /**
   * Evidence that a function argument (inline, or a name) runs inside a context: the callback of
   * `RequestContext.create(em, cb)`, of `em.transactional(cb)`, or a route handler when the project
   * registers a context middleware.
   */
  entryEvidence(argument: ts.Node): Evidence | undefined {
    const call = argument.parent;
    if (!call || !ts.isCallExpression(call)) return undefined;
    const index = call.arguments.indexOf(argument as ts.Expression);
    if (index < 0) return undefined;
    const callee = unwrapExpression(call.expression);
    if (!ts.isPropertyAccessExpression(callee)) return undefined;
    const name = callee.name.text;
    const receiver = unwrapExpression(callee.expression);
    for (const opener of this.model.openerCalls) {
      if (opener.name !== name || opener.callbackArgument !== index) continue;
      if (opener.receiver !== undefined && !(ts.isIdentifier(receiver) && receiver.text === opener.receiver)) continue;
      const evidence: Evidence = { target: 'orm', origins: this.host.scopes.originsOf(callee) };
      if (this.host.keepNodes) {
        evidence.node = callee;
        evidence.shape = 'callee';
      }
      return evidence.origins.length > 0 || this.host.keepNodes ? evidence : undefined;
    }
    if (this.model.callbackMethods.get(name) === index) {
      const origins = this.managerOrigins(receiver, true, 0);
      if (!this.host.keepNodes && (origins === undefined || origins.length === 0)) return undefined;
      return this.receiverEvidence(receiver, origins ?? []);
    }
    // The path comes first (`app.get('/users', handler)`), except for middleware and `app.route('/users').get(handler)`.
    const pathFirst = name !== 'use' && !isRouteCall(receiver);
    if (this.entryPoints.routeMethods.has(name) && (index > 0 || !pathFirst) && isFunctionArgument(argument) && !this.isContextMiddleware(argument as ts.Expression)) {
      // `app.post('/rename', auth, rename)`: a handler after a context middleware of the same call runs in its context.
      if (call.arguments.slice(0, index).some((earlier) => isFunctionArgument(earlier) && this.isContextMiddleware(earlier))) return { target: 'orm', origins: [], verdict: 'yes' };
      return this.routeEvidence(call, receiver);
    }
    // Fastify: a request hook (`app.addHook('preHandler', hook)`) runs in the request's chain, inside a context hook registered before it, as a route does.
    if (name === 'addHook' && index === 1 && isRequestHook(call.arguments[0]) && isFunctionArgument(argument) && !this.isContextMiddleware(argument as ts.Expression)) {
      return this.routeEvidence(call, receiver);
    }
    return undefined;
  }

  // ---------------------------------------------------------------- HTTP apps and routers

  /** Router mounts seen in this file (`app.use('/users', usersRouter)`), for the project-wide verdict on routers. */
  readonly mounts: RouteMountFact[] = [];

  /**
   * A route handler's evidence: inside when its app or router registered a context middleware
   * before it (Express, Koa and Fastify run them in registration order); else inside when its
   * router is mounted only after such a middleware, which the project analysis decides from every
   * file's mounts (`route`); else none (it runs outside: its own root).
   */
  private routeEvidence(call: ts.CallExpression, receiver: ts.Expression): Evidence | undefined {
    // `app.route('/users').get(handler)` is a route of `app`.
    while (isRouteCall(receiver)) receiver = unwrapExpression(((receiver as ts.CallExpression).expression as ts.PropertyAccessExpression).expression);
    if (this.coveredBefore(call, receiver)) return { target: 'orm', origins: [], verdict: 'yes' };
    const plugin = this.inlinePlugin(receiver);
    if (plugin) return this.routeEvidence(plugin.call, plugin.app);
    const router = this.routerKey(receiver);
    return router ? { target: 'orm', origins: [], route: router } : undefined;
  }

  /** Records `app.use(path, router)` / `app.use(path, makeRouter(…))`: which router, on what, and whether after a context middleware. */
  noteCall(call: ts.CallExpression | ts.NewExpression): void {
    if (!ts.isCallExpression(call)) return;
    const callee = unwrapExpression(call.expression);
    if (!ts.isPropertyAccessExpression(callee) || (callee.name.text !== 'use' && callee.name.text !== 'register')) return;
    const plugin = callee.name.text === 'register';
    const receiver = unwrapExpression(callee.expression);
    let covered: boolean | undefined;
    let on: Origin | null | undefined;
    for (const argument of plugin ? call.arguments.slice(0, 1) : call.arguments) {
      const value = unwrapExpression(argument);
      let router: Origin | undefined;
      // Fastify: `app.register(registerUserRoutes)` runs the plugin with a child of `app`.
      if (plugin) router = ts.isIdentifier(value) ? this.factoryKey(value, '(plugin)') : undefined;
      else if (ts.isIdentifier(value)) router = this.routerKey(value);
      // Koa: `app.use(router.routes())` (koa-router's alias `router.middleware()`) mounts `router`.
      else if (isKoaRouterMiddleware(value)) router = this.routerKey(unwrapExpression((unwrapExpression(value.expression) as ts.PropertyAccessExpression).expression));
      else if (ts.isCallExpression(value) && ts.isIdentifier(unwrapExpression(value.expression))) router = this.factoryKey(unwrapExpression(value.expression) as ts.Identifier);
      if (!router) continue;
      covered ??= this.coveredBefore(call, receiver);
      if (on === undefined) on = this.routerKey(receiver) ?? null;
      this.mounts.push(on ? { router, on, covered } : { router, covered });
    }
  }

  /**
   * A router exported under another name (`export const AuthorController = router`,
   * `export default router`, `export { router as users }`) is mounted wherever that name is:
   * recorded as a mount of the router on its alias, which is covered when every mount of the alias is.
   */
  noteRouterAliases(sourceFile: ts.SourceFile): void {
    const file = sourceFile.fileName;
    const moduleVariable = (expression: ts.Expression | undefined): string | undefined => {
      const value = expression && unwrapExpression(expression);
      if (!value || !ts.isIdentifier(value)) return undefined;
      const binding = this.host.scopes.lookup(value.text);
      return binding?.kind === 'variable' && ts.isVariableDeclaration(binding.node) && ts.isSourceFile(binding.node.parent?.parent?.parent) ? value.text : undefined;
    };
    const alias = (from: string | undefined, to: string): void => {
      if (from !== undefined && from !== to) this.mounts.push({ router: { module: file, name: from }, on: { module: file, name: to }, covered: false });
    };
    for (const statement of sourceFile.statements) {
      if (ts.isVariableStatement(statement)) {
        for (const declaration of statement.declarationList.declarations) {
          if (ts.isIdentifier(declaration.name)) alias(moduleVariable(declaration.initializer), declaration.name.text);
        }
      } else if (ts.isExportAssignment(statement) && !statement.isExportEquals) {
        alias(moduleVariable(statement.expression), 'default');
      } else if (ts.isExportDeclaration(statement) && !statement.moduleSpecifier && statement.exportClause && ts.isNamedExports(statement.exportClause)) {
        for (const element of statement.exportClause.elements) {
          if (element.propertyName && ts.isIdentifier(element.propertyName)) alias(moduleVariable(element.propertyName), element.name.text);
        }
      }
    }
  }

  /** Did the app or router `receiver` register a context middleware in a statement before `call` (in its block or an enclosing one)? */
  private coveredBefore(call: ts.Node, receiver: ts.Expression): boolean {
    if (!ts.isIdentifier(receiver)) return false;
    for (let node: ts.Node = call; node.parent; node = node.parent) {
      const parent = node.parent;
      if (!ts.isBlock(parent) && !ts.isSourceFile(parent) && !ts.isModuleBlock(parent)) continue;
      for (const statement of parent.statements) {
        if (statement === node) break;
        if (this.registersContextMiddleware(statement, receiver.text)) return true;
      }
    }
    return false;
  }

  private registersContextMiddleware(statement: ts.Statement, receiverName: string): boolean {
    if (!ts.isExpressionStatement(statement)) return false;
    const call = unwrapExpression(statement.expression);
    if (!ts.isCallExpression(call)) return false;
    const callee = unwrapExpression(call.expression);
    if (!ts.isPropertyAccessExpression(callee) || !MIDDLEWARE_METHODS.has(callee.name.text)) return false;
    const target = unwrapExpression(callee.expression);
    return ts.isIdentifier(target) && target.text === receiverName && call.arguments.some((argument) => this.isContextMiddleware(argument));
  }

  /** A function that opens a context for what follows (`(req, res, next) => RequestContext.create(orm.em, next)`), inline or by name. */
  private isContextMiddleware(argument: ts.Expression): boolean {
    const value = unwrapExpression(argument);
    if (ts.isFunctionLike(value)) return OPENS_CONTEXT.test(this.textOf(value));
    if (!ts.isIdentifier(value)) return false;
    const binding = this.host.scopes.lookup(value.text);
    if (binding?.kind === 'function') return OPENS_CONTEXT.test(this.textOf(binding.node));
    if (binding?.kind === 'variable' && binding.node.initializer && ts.isFunctionLike(unwrapExpression(binding.node.initializer))) {
      return OPENS_CONTEXT.test(this.textOf(binding.node.initializer));
    }
    return false;
  }

  /** A node's text (nodes the walk has not reached have no parent links for getText()). */
  private textOf(node: ts.Node): string {
    return this.host.sourceFile.text.slice(node.pos, node.end);
  }

  /**
   * The project-wide name of an app or router: an import's origin; a module-level variable's
   * (this file, its name); a router a named function builds and returns (this file, `name()`);
   * any other local (this file, `@position`).
   */
  private routerKey(receiver: ts.Expression): Origin | undefined {
    if (!ts.isIdentifier(receiver)) return undefined;
    const binding = this.host.scopes.lookup(receiver.text);
    if (binding?.kind === 'import') return binding.origin;
    // The app a Fastify plugin function is given (`export async function routes(app) { app.get(…) }`).
    if (binding?.kind === 'variable' && ts.isParameter(binding.node) && binding.path.length === 0) {
      const fn = binding.node.parent;
      const name = fn && (ts.isFunctionDeclaration(fn) || ts.isFunctionExpression(fn) || ts.isArrowFunction(fn)) && fn.parameters[0] === binding.node ? functionName(fn) : undefined;
      return name === undefined ? undefined : { module: this.host.sourceFile.fileName, name: `${name}(plugin)` };
    }
    if (binding?.kind !== 'variable' || binding.path.length > 0 || !ts.isVariableDeclaration(binding.node)) return undefined;
    const declaration = binding.node;
    const file = this.host.sourceFile.fileName;
    const statement = declaration.parent?.parent;
    if (statement && ts.isVariableStatement(statement) && ts.isSourceFile(statement.parent)) return { module: file, name: receiver.text };
    for (let node: ts.Node | undefined = declaration.parent; node; node = node.parent) {
      if (!ts.isFunctionDeclaration(node) && !ts.isFunctionExpression(node) && !ts.isArrowFunction(node)) continue;
      const name = functionName(node);
      if (name !== undefined && returnsName(node, receiver.text)) return { module: file, name: `${name}()` };
      break;
    }
    return { module: file, name: `@${declaration.pos}` };
  }

  /** `makeRouter` of `app.use('/x', makeRouter(orm))`: the router that function returns (or, with `(plugin)`, the app a plugin function is given). */
  private factoryKey(callee: ts.Identifier, suffix = '()'): Origin | undefined {
    const binding = this.host.scopes.lookup(callee.text);
    if (binding?.kind === 'import' && binding.origin.name !== '*') return { module: binding.origin.module, name: `${binding.origin.name}${suffix}` };
    if (binding?.kind === 'function' || (binding?.kind === 'variable' && binding.path.length === 0)) return { module: this.host.sourceFile.fileName, name: `${callee.text}${suffix}` };
    return undefined;
  }

  /** `instance` of `app.register(async (instance) => { instance.get(…) })`: the register call and its app. */
  private inlinePlugin(receiver: ts.Expression): { call: ts.CallExpression; app: ts.Expression } | undefined {
    if (!ts.isIdentifier(receiver)) return undefined;
    const binding = this.host.scopes.lookup(receiver.text);
    if (binding?.kind !== 'variable' || !ts.isParameter(binding.node)) return undefined;
    const fn = binding.node.parent;
    if (!fn || fn.parameters[0] !== binding.node || !(ts.isArrowFunction(fn) || ts.isFunctionExpression(fn))) return undefined;
    const call = fn.parent;
    if (!call || !ts.isCallExpression(call) || call.arguments[0] !== fn) return undefined;
    const callee = unwrapExpression(call.expression);
    if (!ts.isPropertyAccessExpression(callee) || callee.name.text !== 'register') return undefined;
    return { call, app: unwrapExpression(callee.expression) };
  }

  /** Calls that run their callbacks in place, not later: `RequestContext.create(em, cb)`, `em.transactional(cb)`. */
  runsInPlace(call: ts.CallExpression | ts.NewExpression): boolean {
    const callee = unwrapExpression(call.expression);
    if (!ts.isPropertyAccessExpression(callee)) return false;
    const name = callee.name.text;
    return this.model.callbackMethods.has(name) || this.model.openerCalls.some((opener) => opener.name === name && (opener.receiver === undefined || (ts.isIdentifier(callee.expression) && callee.expression.text === opener.receiver)));
  }

  // ---------------------------------------------------------------- framework entry points

  /** A method's place: run inside a context by a decorator or its framework (a role), or started outside every context. */
  methodEntry(method: ts.MethodDeclaration): { role?: RoleCandidate; startsOutside?: boolean; startsInside?: boolean; unseenCallers?: Evidence } {
    const entry = this.methodEntryByDecorators(method);
    if (entry.role || entry.startsOutside || entry.startsInside) return entry;
    const unseenCallers = this.unseenCallersEvidence(method);
    return unseenCallers ? { unseenCallers } : entry;
  }

  /**
   * A method of a class that directly extends a preset's unseen-caller base class (`EntityRepository`
   * imported from the ORM): the ORM hands its instances out (`em.getRepository(Book)`), so its callers
   * may be invisible. The evidence holds when the base class comes from the ORM.
   */
  private unseenCallersEvidence(method: ts.MethodDeclaration): Evidence | undefined {
    const cls = method.parent;
    if (!cls || !ts.isClassLike(cls) || this.entryPoints.unseenCallerBaseClasses.size === 0) return undefined;
    for (const clause of cls.heritageClauses ?? []) {
      if (clause.token !== SyntaxKind.ExtendsKeyword) continue;
      for (const type of clause.types) {
        const name = baseName(type.expression);
        if (name === undefined || !this.entryPoints.unseenCallerBaseClasses.has(name)) continue;
        const origins = this.host.scopes.originsOf(type.expression);
        if (origins.length > 0) return { target: 'orm', origins };
      }
    }
    return undefined;
  }

  private methodEntryByDecorators(method: ts.MethodDeclaration): { role?: RoleCandidate; startsOutside?: boolean; startsInside?: boolean } {
    const decorators = decoratorsOf(method, this.host.scopes);
    for (const decorator of decorators) {
      if (!this.model.openerDecorators.has(decorator.name)) continue;
      const evidence: Evidence = { target: 'orm', origins: this.host.scopes.originsOf(decorator.callee) };
      if (this.host.keepNodes) {
        evidence.node = decorator.callee;
        evidence.shape = 'callee';
      }
      if (evidence.origins.length > 0 || this.host.keepNodes) return { role: { role: 'connection-callback', evidence } };
    }
    const cls = method.parent;
    const classDecorators = cls && ts.isClassLike(cls) ? decoratorsOf(cls, this.host.scopes) : [];
    if (
      this.surface.flags.controllersInside &&
      classDecorators.some((decorator) => this.entryPoints.insideClassDecorators.has(decorator.name)) &&
      decorators.some((decorator) => this.entryPoints.insideMethodDecorators.has(decorator.name))
    ) {
      return { startsInside: true };
    }
    const methodNameText = ts.isIdentifier(method.name) ? method.name.text : undefined;
    if (
      this.surface.flags.controllersInside &&
      methodNameText !== undefined &&
      cls &&
      ts.isClassLike(cls) &&
      (cls.heritageClauses ?? []).some(
        (clause) => clause.token === SyntaxKind.ImplementsKeyword && clause.types.some((type) => this.entryPoints.insideInterfaceMethods.get(baseName(type.expression) ?? '')?.includes(methodNameText)),
      )
    ) {
      return { startsInside: true };
    }
    if (decorators.some((decorator) => this.entryPoints.outsideMethodDecorators.has(decorator.name))) return { startsOutside: true };
    const methodName = ts.isIdentifier(method.name) ? method.name.text : undefined;
    if (methodName !== undefined && classDecorators.some((decorator) => this.entryPoints.outsideClassMethods.get(decorator.name)?.includes(methodName))) {
      return { startsOutside: true };
    }
    return {};
  }
}

/** The value of property `name` of an untyped object literal a variable is initialised with (`{ em, posts: em.getRepository(Post) }`). */
function objectLiteralMember(declaration: ts.VariableDeclaration, name: string): ts.Expression | undefined {
  const literal = !declaration.type && declaration.initializer ? unwrapExpression(declaration.initializer) : undefined;
  if (!literal || !ts.isObjectLiteralExpression(literal)) return undefined;
  for (const property of literal.properties) {
    if (!property.name || !ts.isIdentifier(property.name) || property.name.text !== name) continue;
    if (ts.isPropertyAssignment(property)) return property.initializer;
    if (ts.isShorthandPropertyAssignment(property)) return property.name;
  }
  return undefined;
}

/** Parentheses and `!` only (an `as` cast is the type this looks at). */
function unwrapExpressionKeepingType(node: ts.Expression): ts.Expression {
  let current = node;
  while (ts.isParenthesizedExpression(current) || ts.isNonNullExpression(current)) current = current.expression;
  return current;
}

function baseName(expression: ts.Expression): string | undefined {
  const node = unwrapExpression(expression);
  return ts.isIdentifier(node) ? node.text : ts.isPropertyAccessExpression(node) ? node.name.text : undefined;
}

function functionName(fn: ts.FunctionDeclaration | ts.FunctionExpression | ts.ArrowFunction): string | undefined {
  if (fn.name) return fn.name.text;
  const holder = fn.parent;
  return holder && ts.isVariableDeclaration(holder) && ts.isIdentifier(holder.name) ? holder.name.text : undefined;
}

/** Does `fn` return the local `name` (`return router;`), not counting nested functions? */
function returnsName(fn: ts.FunctionLikeDeclaration, name: string): boolean {
  const body = fn.body;
  if (!body) return false;
  if (!ts.isBlock(body)) return ts.isIdentifier(unwrapExpression(body)) && (unwrapExpression(body) as ts.Identifier).text === name;
  let found = false;
  const visit = (node: ts.Node): void => {
    if (found || ts.isFunctionLike(node)) return;
    if (ts.isReturnStatement(node) && node.expression && ts.isIdentifier(unwrapExpression(node.expression)) && (unwrapExpression(node.expression) as ts.Identifier).text === name) {
      found = true;
      return;
    }
    ts.forEachChild(node, visit);
  };
  ts.forEachChild(body, visit);
  return found;
}

/** `app.route('/users')` (Express) */
function isRouteCall(node: ts.Expression): boolean {
  if (!ts.isCallExpression(node)) return false;
  const callee = unwrapExpression(node.expression);
  return ts.isPropertyAccessExpression(callee) && callee.name.text === 'route';
}

/** Fastify's request lifecycle hooks up to the reply being sent: each runs after the ones before it, in their async context. */
const REQUEST_HOOKS = new Set(['onRequest', 'preParsing', 'preValidation', 'preHandler', 'preSerialization', 'onSend']);

function isRequestHook(node: ts.Expression | undefined): boolean {
  return node !== undefined && ts.isStringLiteralLike(node) && REQUEST_HOOKS.has(node.text);
}

function isFunctionArgument(node: ts.Node): boolean {
  return ts.isFunctionLike(node) || ts.isIdentifier(node) || ts.isPropertyAccessExpression(node);
}

/** Receivers no type makes an EntityManager: literals. Asking the checker about them is wasted work. */
function isNeverAManager(node: ts.Expression): boolean {
  switch (node.kind) {
    case SyntaxKind.ArrayLiteralExpression:
    case SyntaxKind.ObjectLiteralExpression:
    case SyntaxKind.StringLiteral:
    case SyntaxKind.NoSubstitutionTemplateLiteral:
    case SyntaxKind.TemplateExpression:
    case SyntaxKind.NumericLiteral:
    case SyntaxKind.RegularExpressionLiteral:
      return true;
    default:
      return false;
  }
}

/** `@Name()` / `@Name` / `@ns.Name()`: the decorator's name and the expression naming it. */
function decoratorsOf(node: ts.Node, scopes: ScopeTracker): { name: string; callee: ts.Expression }[] {
  if (!ts.canHaveDecorators(node)) return [];
  const found: { name: string; callee: ts.Expression }[] = [];
  for (const decorator of ts.getDecorators(node) ?? []) {
    const expression = unwrapExpression(decorator.expression);
    const callee = ts.isCallExpression(expression) ? unwrapExpression(expression.expression) : expression;
    let name = ts.isIdentifier(callee) ? callee.text : ts.isPropertyAccessExpression(callee) ? callee.name.text : undefined;
    // `import { Post as HttpPost } from '@nestjs/common'`: the decorator is `Post`.
    if (ts.isIdentifier(callee) && scopes.renamedImports.has(callee.text)) {
      const binding = scopes.lookup(callee.text);
      if (binding?.kind === 'import' && binding.origin.name !== '*' && binding.origin.name !== 'default') name = binding.origin.name;
    }
    if (name !== undefined) found.push({ name, callee });
  }
  return found;
}
