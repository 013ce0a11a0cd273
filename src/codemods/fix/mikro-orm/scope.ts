/**
 * Where a MikroORM root can get its EntityManager from: a parameter, a local declared before
 * it, a module-level binding, an import, or (for class members) a property of `this`. Decided
 * from declarations only (type annotations, initialisers, names), with the project's own
 * TypeScript parser, so that scan's fixable count can ask the same question without ts-morph.
 */
import ts from '../../typescript.cjs';

/** What a binding holds: an EntityManager, the MikroORM instance, or a repository (which knows its EM). */
export type ContextSourceKind = 'em' | 'orm' | 'repository';

export interface ContextSource {
  kind: ContextSourceKind;
  /** The binding's name (a property name for class members). */
  name: string;
  /** What evaluates to the EntityManager where the root starts, e.g. `orm.em` or `this.em`. */
  expression: string;
}

const EM_TYPE = /^(?:EntityManager|SqlEntityManager|MongoEntityManager|[A-Z][A-Za-z]*SqlEntityManager)$/;
const ORM_TYPE = /^MikroORM$/;
const REPOSITORY_TYPE = /^(?:EntityRepository|SqlEntityRepository|MongoEntityRepository)$/;
/** Names that stand for the ORM when nothing declares a type (untyped parameters, imports). */
const EM_NAME = /^(?:em|entityManager)$/;
const ORM_NAME = /^(?:orm|mikroOrm|mikroORM)$/;

function typeNameOf(type: ts.TypeNode | undefined): string | undefined {
  if (!type) return undefined;
  if (ts.isTypeReferenceNode(type)) return ts.isIdentifier(type.typeName) ? type.typeName.text : type.typeName.right.text;
  return undefined;
}

function kindOfTypeName(name: string | undefined): ContextSourceKind | undefined {
  if (name === undefined) return undefined;
  if (EM_TYPE.test(name)) return 'em';
  if (ORM_TYPE.test(name)) return 'orm';
  if (REPOSITORY_TYPE.test(name)) return 'repository';
  return undefined;
}

function kindOfName(name: string): ContextSourceKind | undefined {
  if (EM_NAME.test(name)) return 'em';
  if (ORM_NAME.test(name)) return 'orm';
  return undefined;
}

function unwrap(expression: ts.Expression): ts.Expression {
  let current = expression;
  for (;;) {
    if (ts.isAwaitExpression(current) || ts.isParenthesizedExpression(current) || ts.isNonNullExpression(current) || ts.isAsExpression(current) || ts.isSatisfiesExpression(current)) {
      current = current.expression;
    } else {
      return current;
    }
  }
}

/**
 * Which ORM object an initialiser evaluates to: `MikroORM.init(…)`, `new MikroORM(…)`,
 * `orm.em`, `orm.em.fork()`, `em.fork()`. `known` says what a plain name holds.
 */
function kindOfInitializer(initializer: ts.Expression | undefined, known: (name: string) => ContextSourceKind | undefined): ContextSourceKind | undefined {
  if (!initializer) return undefined;
  const expression = unwrap(initializer);
  if (ts.isIdentifier(expression)) return known(expression.text);
  if (ts.isNewExpression(expression) && ts.isIdentifier(expression.expression) && ORM_TYPE.test(expression.expression.text)) return 'orm';
  if (ts.isCallExpression(expression) && ts.isPropertyAccessExpression(expression.expression)) {
    const callee = expression.expression;
    if (ts.isIdentifier(callee.expression) && ORM_TYPE.test(callee.expression.text) && (callee.name.text === 'init' || callee.name.text === 'initSync')) return 'orm';
    if (callee.name.text === 'fork' && kindOfInitializer(callee.expression, known) === 'em') return 'em';
    return undefined;
  }
  if (ts.isPropertyAccessExpression(expression) && expression.name.text === 'em' && kindOfInitializer(expression.expression, known) === 'orm') return 'em';
  return undefined;
}

function expressionFor(kind: ContextSourceKind, reference: string): string {
  if (kind === 'orm') return `${reference}.em`;
  if (kind === 'repository') return `${reference}.getEntityManager()`;
  return reference;
}

/** A binding the root can read, found in some scope. */
interface Candidate {
  kind: ContextSourceKind;
  name: string;
  /** A function without parameters declared to return the EM or the ORM (`getOrm(): MikroORM`): used as `getOrm()`. */
  accessor?: boolean;
  /** Where its declaration ends (a binding read before that would be in its temporal dead zone). */
  declaredEnd: number;
  moduleLevel: boolean;
}

function namesReadIn(node: ts.Node): Set<string> {
  const names = new Set<string>();
  const visit = (child: ts.Node): void => {
    if (ts.isIdentifier(child)) names.add(child.text);
    ts.forEachChild(child, visit);
  };
  visit(node);
  return names;
}

/**
 * Names the body assigns (`em = orm.em`, `[em] = …`, `({ em } = …)`, `em ??= …`), nested
 * functions included: such a binding does not hold at the function's start what the body uses
 * (a module-level `let em` set by the script's main itself), so it cannot open the context there.
 */
function namesAssignedIn(node: ts.Node): Set<string> {
  const names = new Set<string>();
  const targets = (target: ts.Node): void => {
    if (ts.isIdentifier(target)) names.add(target.text);
    else if (ts.isParenthesizedExpression(target)) targets(target.expression);
    else if (ts.isArrayLiteralExpression(target)) target.elements.forEach(targets);
    else if (ts.isObjectLiteralExpression(target)) {
      for (const property of target.properties) {
        if (ts.isShorthandPropertyAssignment(property)) names.add(property.name.text);
        else if (ts.isPropertyAssignment(property)) targets(property.initializer);
        else if (ts.isSpreadAssignment(property)) targets(property.expression);
      }
    } else if (ts.isSpreadElement(target)) targets(target.expression);
    else if (ts.isBinaryExpression(target) && target.operatorToken.kind === ts.SyntaxKind.EqualsToken) targets(target.left);
  };
  const visit = (child: ts.Node): void => {
    if (ts.isBinaryExpression(child) && child.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && child.operatorToken.kind <= ts.SyntaxKind.LastAssignment) targets(child.left);
    ts.forEachChild(child, visit);
  };
  visit(node);
  return names;
}

function candidatesOfVariableStatement(statement: ts.VariableStatement, known: (name: string) => ContextSourceKind | undefined, moduleLevel: boolean): Candidate[] {
  const found: Candidate[] = [];
  for (const declaration of statement.declarationList.declarations) {
    if (!ts.isIdentifier(declaration.name)) continue;
    const kind = kindOfTypeName(typeNameOf(declaration.type)) ?? (declaration.type ? undefined : kindOfInitializer(declaration.initializer, known));
    if (kind) found.push({ kind, name: declaration.name.text, declaredEnd: statement.end, moduleLevel });
  }
  return found;
}

function candidatesOfParameters(fn: ts.SignatureDeclaration, untypedByName: boolean): Candidate[] {
  const found: Candidate[] = [];
  for (const parameter of fn.parameters) {
    if (!ts.isIdentifier(parameter.name)) continue;
    const kind = parameter.type ? kindOfTypeName(typeNameOf(parameter.type)) : untypedByName ? kindOfName(parameter.name.text) : undefined;
    if (kind) found.push({ kind, name: parameter.name.text, declaredEnd: 0, moduleLevel: false });
  }
  return found;
}

/**
 * What an imported binding holds, read from the declaration it imports: a kind, `null` when that
 * declaration is something else, undefined when it cannot be read (a package, a missing file).
 */
export type ImportLookup = (fromFile: string, specifier: string, exportedName: string) => Declared | null | undefined;

export interface Declared {
  kind: ContextSourceKind;
  accessor?: boolean;
}

/** `function getOrm(): MikroORM` without required parameters: a call of it is the ORM. */
function accessorKind(fn: ts.FunctionDeclaration): ContextSourceKind | undefined {
  if (fn.parameters.some((parameter) => !parameter.questionToken && !parameter.initializer && !parameter.dotDotDotToken)) return undefined;
  if (fn.asteriskToken || (ts.getModifiers(fn)?.some((modifier) => modifier.kind === ts.SyntaxKind.AsyncKeyword) ?? false)) return undefined;
  return kindOfTypeName(typeNameOf(fn.type));
}

/** Imported bindings: known from the exporting module's declaration when it can be read, by name otherwise. */
function candidatesOfImport(statement: ts.ImportDeclaration, lookup: ImportLookup | undefined): Candidate[] {
  const clause = statement.importClause;
  if (!clause || clause.isTypeOnly || !ts.isStringLiteral(statement.moduleSpecifier)) return [];
  const specifier = statement.moduleSpecifier.text;
  const fromFile = statement.getSourceFile().fileName;
  const found: Candidate[] = [];
  const add = (identifier: ts.Identifier, exportedName: string): void => {
    const declared = lookup?.(fromFile, specifier, exportedName);
    if (declared === null) return;
    if (declared) found.push({ kind: declared.kind, name: identifier.text, declaredEnd: 0, moduleLevel: true, ...(declared.accessor ? { accessor: true } : {}) });
    else {
      const kind = kindOfName(identifier.text);
      if (kind) found.push({ kind, name: identifier.text, declaredEnd: 0, moduleLevel: true });
    }
  };
  if (clause.name) add(clause.name, 'default');
  if (clause.namedBindings && ts.isNamedImports(clause.namedBindings)) {
    for (const element of clause.namedBindings.elements) if (!element.isTypeOnly) add(element.name, (element.propertyName ?? element.name).text);
  }
  return found;
}

/** What a module's export `name` holds, from its own declarations (`export const orm = await MikroORM.init()`, `export let em: EntityManager`). */
export function exportedKind(sourceFile: ts.SourceFile, name: string, reexport: (specifier: string, name: string) => Declared | null | undefined): Declared | null | undefined {
  const known = (local: string): ContextSourceKind | undefined => {
    const declared = localKinds.get(local);
    return declared && !declared.accessor ? declared.kind : undefined;
  };
  const localKinds = new Map<string, Declared | null>();
  const exported = new Map<string, string>();
  for (const statement of sourceFile.statements) {
    if (ts.isVariableStatement(statement)) {
      const isExported = ts.getModifiers(statement)?.some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword) ?? false;
      const kinds = candidatesOfVariableStatement(statement, known, true);
      for (const declaration of statement.declarationList.declarations) {
        if (!ts.isIdentifier(declaration.name)) continue;
        const kind = kinds.find((candidate) => candidate.name === (declaration.name as ts.Identifier).text)?.kind;
        localKinds.set(declaration.name.text, kind ? { kind } : null);
        if (isExported) exported.set(declaration.name.text, declaration.name.text);
      }
    } else if (ts.isExportDeclaration(statement) && statement.exportClause && ts.isNamedExports(statement.exportClause) && !statement.isTypeOnly) {
      for (const element of statement.exportClause.elements) {
        if (element.name.text !== name) continue;
        const local = (element.propertyName ?? element.name).text;
        if (statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)) return reexport(statement.moduleSpecifier.text, local);
        exported.set(name, local);
      }
    } else if (ts.isExportAssignment(statement) && name === 'default' && ts.isIdentifier(statement.expression)) {
      exported.set('default', statement.expression.text);
    } else if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) && statement.name) {
      const accessor = ts.isFunctionDeclaration(statement) ? accessorKind(statement) : undefined;
      localKinds.set(statement.name.text, accessor ? { kind: accessor, accessor: true } : null);
      if (ts.getModifiers(statement)?.some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword)) exported.set(statement.name.text, statement.name.text);
    }
  }
  const local = exported.get(name);
  if (local === undefined || !localKinds.has(local)) return undefined;
  return localKinds.get(local);
}

function statementsOf(node: ts.Node): readonly ts.Statement[] {
  if (ts.isSourceFile(node) || ts.isBlock(node) || ts.isModuleBlock(node)) return node.statements;
  if (ts.isCaseClause(node) || ts.isDefaultClause(node)) return node.statements;
  return [];
}

/** Every name a scope declares (parameters, variables, functions, classes, imports). */
function namesDeclaredIn(scope: ts.Node): string[] {
  const names: string[] = [];
  if (ts.isFunctionLike(scope)) for (const parameter of scope.parameters) if (ts.isIdentifier(parameter.name)) names.push(parameter.name.text);
  for (const statement of statementsOf(scope)) {
    if (ts.isVariableStatement(statement)) for (const declaration of statement.declarationList.declarations) if (ts.isIdentifier(declaration.name)) names.push(declaration.name.text);
    if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement) || ts.isEnumDeclaration(statement)) && statement.name) names.push(statement.name.text);
    if (ts.isImportDeclaration(statement) && statement.importClause) {
      const clause = statement.importClause;
      if (clause.name) names.push(clause.name.text);
      const bindings = clause.namedBindings;
      if (bindings && ts.isNamedImports(bindings)) for (const element of bindings.elements) names.push(element.name.text);
      if (bindings && ts.isNamespaceImport(bindings)) names.push(bindings.name.text);
    }
  }
  return names;
}

/** The bindings the scopes around `fn` (its parameters first) offer, innermost first; a name an inner scope declares hides outer ones. */
function visibleCandidates(fn: ts.FunctionLikeDeclaration, typedSource: boolean, lookup: ImportLookup | undefined): Candidate[] {
  const found: Candidate[] = [];
  const hidden = new Set<string>();
  const start = fn.getStart();
  for (let scope: ts.Node | undefined = fn; scope; scope = scope.parent) {
    const moduleLevel = ts.isSourceFile(scope);
    const inScope: Candidate[] = ts.isFunctionLike(scope) ? candidatesOfParameters(scope, !typedSource) : [];
    if (scope !== fn) {
      const known = (name: string): ContextSourceKind | undefined => inScope.find((candidate) => candidate.name === name)?.kind ?? found.find((candidate) => candidate.name === name)?.kind ?? kindOfName(name);
      for (const statement of statementsOf(scope)) {
        if (ts.isVariableStatement(statement)) inScope.push(...candidatesOfVariableStatement(statement, known, moduleLevel));
        else if (ts.isImportDeclaration(statement)) inScope.push(...candidatesOfImport(statement, lookup));
        else if (ts.isFunctionDeclaration(statement) && statement.name && accessorKind(statement)) {
          inScope.push({ kind: accessorKind(statement) as ContextSourceKind, name: statement.name.text, declaredEnd: 0, moduleLevel: true, accessor: true });
        }
      }
    }
    // A local declared after the function is not initialised where it is written (module level is checked by use).
    for (const candidate of inScope) if (!hidden.has(candidate.name) && (candidate.moduleLevel || candidate.declaredEnd <= start)) found.push(candidate);
    // The function's own body is not a scope around it: the context is opened before its locals exist.
    for (const name of namesDeclaredIn(scope)) hidden.add(name);
  }
  return found;
}

export interface ScopeAnswer {
  source?: ContextSource;
  /**
   * When the EM is created inside the root's own body (`const orm = await MikroORM.init()` in a
   * script's main): the offset after that statement; the statements that follow it are wrapped.
   */
  after?: number;
}

/**
 * The EntityManager a plain function (or a callback) can open its context with. A binding the
 * body already reads wins; a module-level binding declared after the function counts only then
 * (the body would read it anyway).
 */
export function contextSourceInScope(fn: ts.FunctionLikeDeclaration & { body: ts.ConciseBody }, thisSources: readonly ContextSource[], typedSource: boolean, lookup?: ImportLookup): ScopeAnswer {
  const read = namesReadIn(fn.body);
  const assigned = namesAssignedIn(fn.body);
  const start = fn.getStart();
  // An accessor is called ahead of the body only when the body calls it anyway.
  const visible = visibleCandidates(fn, typedSource, lookup).filter(
    (candidate) => (!candidate.moduleLevel || candidate.declaredEnd <= start || read.has(candidate.name)) && (!candidate.accessor || read.has(candidate.name)) && !assigned.has(candidate.name),
  );
  const pick =
    visible.find((candidate) => read.has(candidate.name)) ?? thisSources.find((source) => read.has(source.name)) ?? visible[0] ?? thisSources[0];
  if (pick && 'expression' in pick) return { source: pick };
  if (pick) return { source: { kind: pick.kind, name: pick.name, expression: expressionFor(pick.kind, pick.accessor ? `${pick.name}()` : pick.name) } };
  // A script's main that creates the ORM itself: everything after that statement can run in a context.
  if (ts.isBlock(fn.body)) {
    const known = (name: string): ContextSourceKind | undefined => kindOfName(name);
    for (const statement of fn.body.statements) {
      if (!ts.isVariableStatement(statement)) continue;
      const [candidate] = candidatesOfVariableStatement(statement, known, false);
      if (candidate) return { source: { kind: candidate.kind, name: candidate.name, expression: expressionFor(candidate.kind, candidate.name) }, after: statement.end };
    }
  }
  return {};
}

/** The class a method, constructor or property initialiser belongs to, if `this` there is an instance. */
export function instanceClassOf(fn: ts.Node): ts.ClassLikeDeclaration | undefined {
  let current: ts.Node = fn;
  // Arrow functions see the `this` of the function they are written in.
  while (ts.isArrowFunction(current)) {
    let parent: ts.Node | undefined = current.parent;
    while (parent && !ts.isFunctionLike(parent) && !ts.isClassLike(parent) && !ts.isPropertyDeclaration(parent) && !ts.isSourceFile(parent)) parent = parent.parent;
    if (!parent || ts.isSourceFile(parent) || ts.isClassLike(parent)) return undefined;
    if (ts.isPropertyDeclaration(parent)) {
      return isStatic(parent) ? undefined : parent.parent as ts.ClassLikeDeclaration;
    }
    current = parent;
  }
  if ((ts.isMethodDeclaration(current) || ts.isConstructorDeclaration(current) || ts.isGetAccessor(current) || ts.isSetAccessor(current)) && ts.isClassLike(current.parent) && !isStatic(current)) {
    return current.parent;
  }
  return undefined;
}

export function isStatic(node: ts.Node): boolean {
  return (ts.canHaveModifiers(node) && ts.getModifiers(node)?.some((modifier) => modifier.kind === ts.SyntaxKind.StaticKeyword)) ?? false;
}

const PARAMETER_PROPERTY_MODIFIERS = new Set([ts.SyntaxKind.PublicKeyword, ts.SyntaxKind.PrivateKeyword, ts.SyntaxKind.ProtectedKeyword, ts.SyntaxKind.ReadonlyKeyword]);

/** Instance properties of a class (and of its base classes declared in the same file) that hold an EM, the ORM or a repository. */
/** The class a module exports under a name (following `export { X } from …`), for base classes declared elsewhere. */
export type ClassLookup = (fromFile: string, specifier: string, exportedName: string) => ts.ClassDeclaration | undefined;

function importedClass(sourceFile: ts.SourceFile, local: string, lookup: ClassLookup | undefined): ts.ClassDeclaration | undefined {
  if (!lookup) return undefined;
  for (const statement of sourceFile.statements) {
    if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
    const clause = statement.importClause;
    if (clause?.name?.text === local) return lookup(sourceFile.fileName, statement.moduleSpecifier.text, 'default');
    const bindings = clause?.namedBindings;
    if (bindings && ts.isNamedImports(bindings)) {
      const element = bindings.elements.find((candidate) => candidate.name.text === local);
      if (element) return lookup(sourceFile.fileName, statement.moduleSpecifier.text, (element.propertyName ?? element.name).text);
    }
  }
  return undefined;
}

/** A class a module declares and exports as `name`; `reexport` follows `export { name } from '…'`. */
export function exportedClass(sourceFile: ts.SourceFile, name: string, reexport: (specifier: string, name: string) => ts.ClassDeclaration | undefined): ts.ClassDeclaration | undefined {
  let local: string | undefined;
  for (const statement of sourceFile.statements) {
    if (ts.isClassDeclaration(statement) && statement.name && ts.getModifiers(statement)?.some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword)) {
      const isDefault = ts.getModifiers(statement)?.some((modifier) => modifier.kind === ts.SyntaxKind.DefaultKeyword) ?? false;
      if ((isDefault ? 'default' : statement.name.text) === name) return statement;
    }
    if (ts.isExportDeclaration(statement) && statement.exportClause && ts.isNamedExports(statement.exportClause)) {
      const element = statement.exportClause.elements.find((candidate) => candidate.name.text === name);
      if (!element) continue;
      const original = (element.propertyName ?? element.name).text;
      if (statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)) return reexport(statement.moduleSpecifier.text, original);
      local = original;
    }
  }
  if (local === undefined) return undefined;
  return sourceFile.statements.find((statement): statement is ts.ClassDeclaration => ts.isClassDeclaration(statement) && statement.name?.text === local);
}

/** Instance properties of a class (and of its base classes, in this file or imported from the project) that hold an EM, the ORM or a repository. */
export function classContextSources(cls: ts.ClassLikeDeclaration, classes?: ClassLookup, seen = new Set<ts.Node>()): ContextSource[] {
  if (seen.has(cls)) return [];
  seen.add(cls);
  const sourceFile = cls.getSourceFile();
  const found: ContextSource[] = [];
  const known = (): ContextSourceKind | undefined => undefined;
  for (const member of cls.members) {
    if (ts.isPropertyDeclaration(member) && !isStatic(member) && (ts.isIdentifier(member.name) || ts.isPrivateIdentifier(member.name))) {
      const kind = kindOfTypeName(typeNameOf(member.type)) ?? (member.type ? undefined : kindOfInitializer(member.initializer, known));
      if (kind) found.push({ kind, name: member.name.text, expression: expressionFor(kind, `this.${member.name.text}`) });
    }
    if (ts.isConstructorDeclaration(member)) {
      for (const parameter of member.parameters) {
        const isProperty = ts.getModifiers(parameter)?.some((modifier) => PARAMETER_PROPERTY_MODIFIERS.has(modifier.kind)) ?? false;
        if (!isProperty || !ts.isIdentifier(parameter.name)) continue;
        const kind = kindOfTypeName(typeNameOf(parameter.type));
        if (kind) found.push({ kind, name: parameter.name.text, expression: expressionFor(kind, `this.${parameter.name.text}`) });
      }
    }
  }
  const base = cls.heritageClauses?.find((clause) => clause.token === ts.SyntaxKind.ExtendsKeyword)?.types[0]?.expression;
  if (base && ts.isIdentifier(base)) {
    const declaration =
      sourceFile.statements.find((statement): statement is ts.ClassDeclaration => ts.isClassDeclaration(statement) && statement.name?.text === base.text) ??
      importedClass(sourceFile, base.text, classes);
    if (declaration) {
      // A private member of the base class is not `this.x` to the subclass's code (nor its decorator's provider).
      const inherited = classContextSources(declaration, classes, seen).filter((source) => !isPrivateMember(declaration, source.name));
      for (const source of inherited) if (!found.some((own) => own.name === source.name)) found.push(source);
    }
  }
  return found;
}

function isPrivateMember(cls: ts.ClassLikeDeclaration, name: string): boolean {
  if (name.startsWith('#')) return true;
  const isPrivate = (node: ts.Node): boolean => ts.canHaveModifiers(node) && (ts.getModifiers(node)?.some((modifier) => modifier.kind === ts.SyntaxKind.PrivateKeyword) ?? false);
  for (const member of cls.members) {
    if (ts.isPropertyDeclaration(member) && ts.isIdentifier(member.name) && member.name.text === name) return isPrivate(member);
    if (ts.isConstructorDeclaration(member)) {
      for (const parameter of member.parameters) if (ts.isIdentifier(parameter.name) && parameter.name.text === name) return isPrivate(parameter);
    }
  }
  return false;
}

/** A statement that creates the ORM (or takes its EM) and can stand before a context: `const orm = await MikroORM.init(…)`. */
export function contextSourceCreatedBy(statement: ts.Statement): ContextSource | undefined {
  if (!ts.isVariableStatement(statement)) return undefined;
  const [candidate] = candidatesOfVariableStatement(statement, kindOfName, true);
  return candidate ? { kind: candidate.kind, name: candidate.name, expression: expressionFor(candidate.kind, candidate.name) } : undefined;
}
