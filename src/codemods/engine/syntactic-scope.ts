/**
 * Lexical scopes of one file and where each name's value comes from ("origins"), without a type
 * checker: the syntactic half of "is this receiver the ORM?". A value derives from an import when
 * it is the import, a property of it, a call on it, an await of it, a destructured part of it,
 * an element iterated from it, or is annotated with a type imported from it.
 */
import ts from '../typescript.cjs';
import { isProjectModule } from './origin-resolver.js';

import type { Origin } from './facts.js';

// ts.X is a getter on TypeScript's module object: read the enum once, not in every switch case.
const { SyntaxKind } = ts;

export type Binding =
  | { kind: 'import'; origin: Origin }
  | { kind: 'function'; node: ts.FunctionLikeDeclaration }
  | { kind: 'class'; node: ts.ClassLikeDeclaration }
  | { kind: 'variable'; node: ts.VariableDeclaration | ts.ParameterDeclaration; path: readonly string[]; iterated: ts.Expression | undefined }
  | { kind: 'type'; node: ts.TypeAliasDeclaration | ts.InterfaceDeclaration }
  | { kind: 'opaque' };

export class Scope {
  /** Created on first binding: most blocks declare nothing. */
  values: Map<string, Binding> | undefined;
  types: Map<string, Binding> | undefined;
  constructor(readonly parent: Scope | undefined) {}

  setValue(name: string, binding: Binding): void {
    (this.values ??= new Map()).set(name, binding);
  }

  setType(name: string, binding: Binding): void {
    (this.types ??= new Map()).set(name, binding);
  }
}

/** Does a statement list declare a name (worth a scope of its own)? */
export function declaresNames(statements: readonly ts.Statement[]): boolean {
  for (const statement of statements) {
    switch (statement.kind) {
      case SyntaxKind.VariableStatement:
      case SyntaxKind.FunctionDeclaration:
      case SyntaxKind.ClassDeclaration:
      case SyntaxKind.ImportDeclaration:
      case SyntaxKind.ImportEqualsDeclaration:
      case SyntaxKind.TypeAliasDeclaration:
      case SyntaxKind.InterfaceDeclaration:
      case SyntaxKind.EnumDeclaration:
      case SyntaxKind.ModuleDeclaration:
        return true;
      default:
        break;
    }
  }
  return false;
}

/** Resolves a module specifier written in `fromFile` to a module key (absolute path or bare specifier). */
export type SpecifierResolver = (specifier: string) => string | undefined;

const ARRAY_STEP = '[]';

/** Methods that return a new QuerySet (Django's and this runtime's chain builders). */
const QUERYSET_BUILDERS = new Set(['all', 'filter', 'exclude', 'orderBy', 'limit', 'offset', 'values', 'using', 'none', 'distinct', 'reverse', 'selectRelated', 'prefetchRelated', 'annotate', 'only', 'defer']);
/** The manager property of a model class, the start of every chain. */
const MANAGER_PROPERTY = 'objects';
/** QuerySet methods that return one instance (`getOrCreate` and its kin a `[instance, created]` pair). */
const INSTANCE_GETTERS = new Set(['get', 'aget', 'first', 'afirst', 'last', 'alast', 'latest', 'alatest', 'earliest', 'aearliest', 'create', 'acreate']);
const PAIR_GETTERS = new Set(['getOrCreate', 'agetOrCreate', 'updateOrCreate', 'aupdateOrCreate']);
/** Type names that declare a value a QuerySet. */
const QUERYSET_TYPE_NAMES = new Set(['QuerySet', 'Manager']);
const MAX_DEPTH = 40;

/** Strips parentheses, `!`, `as`, `satisfies` and `<T>` casts. */
export function unwrapExpression(node: ts.Expression): ts.Expression {
  let current = node;
  for (;;) {
    switch (current.kind) {
      case SyntaxKind.ParenthesizedExpression:
      case SyntaxKind.NonNullExpression:
      case SyntaxKind.AsExpression:
      case SyntaxKind.SatisfiesExpression:
      case SyntaxKind.TypeAssertionExpression:
        current = (current as ts.ParenthesizedExpression).expression;
        break;
      default:
        return current;
    }
  }
}

/**
 * `member` of each origin that is a whole module. Returns `origins` itself when none is (the usual
 * case): origin lists are shared, never mutated, so a chain of 10⁵ ORM calls allocates no copies.
 */
function refine(origins: Origin[], member: string): Origin[] {
  if (!origins.some((origin) => origin.name === '*')) return origins;
  return origins.map((origin) => (origin.name === '*' ? { module: origin.module, name: member } : origin));
}

export class ScopeTracker {
  private current: Scope;
  private readonly originMemo = new Map<Binding, Origin[]>();
  private readonly returned = new Map<ts.Node, Origin[]>();
  /** Local names of imports renamed with `as` (the only names whose exported name differs). */
  readonly renamedImports = new Set<string>();
  private readonly inProgress = new Set<Binding>();

  constructor(private readonly resolveSpecifier: SpecifierResolver) {
    this.current = new Scope(undefined);
  }

  get scope(): Scope {
    return this.current;
  }

  push(): void {
    this.current = new Scope(this.current);
  }

  pop(): void {
    if (this.current.parent) this.current = this.current.parent;
  }

  lookup(name: string): Binding | undefined {
    for (let scope: Scope | undefined = this.current; scope; scope = scope.parent) {
      const binding = scope.values?.get(name);
      if (binding) return binding;
    }
    return undefined;
  }

  lookupType(name: string): Binding | undefined {
    for (let scope: Scope | undefined = this.current; scope; scope = scope.parent) {
      const binding = scope.types?.get(name) ?? scope.values?.get(name);
      if (binding) return binding;
    }
    return undefined;
  }

  bindValue(name: string, binding: Binding): void {
    this.current.setValue(name, binding);
  }

  /** Binds every name a declaration pattern introduces. */
  bindPattern(
    name: ts.BindingName,
    declaration: ts.VariableDeclaration | ts.ParameterDeclaration,
    iterated: ts.Expression | undefined,
    path: readonly string[] = [],
  ): void {
    if (ts.isIdentifier(name)) {
      this.bindValue(name.text, { kind: 'variable', node: declaration, path, iterated });
      return;
    }
    if (ts.isObjectBindingPattern(name)) {
      for (const element of name.elements) {
        const key = element.propertyName
          ? ts.isIdentifier(element.propertyName) || ts.isStringLiteral(element.propertyName) ? element.propertyName.text : ARRAY_STEP
          : ts.isIdentifier(element.name) ? element.name.text : ARRAY_STEP;
        this.bindPattern(element.name, declaration, iterated, [...path, element.dotDotDotToken ? ARRAY_STEP : key]);
      }
      return;
    }
    for (const element of name.elements) {
      if (ts.isBindingElement(element)) this.bindPattern(element.name, declaration, iterated, [...path, ARRAY_STEP]);
    }
  }

  /** Declarations of a statement list are visible from its start (functions hoist; let/const are in TDZ but still shadow). */
  hoist(statements: readonly ts.Statement[]): void {
    for (const statement of statements) this.hoistStatement(statement);
  }

  private hoistStatement(statement: ts.Statement): void {
    const scope = this.current;
    switch (statement.kind) {
      case SyntaxKind.VariableStatement:
        for (const declaration of (statement as ts.VariableStatement).declarationList.declarations) {
          this.bindPattern(declaration.name, declaration, undefined);
        }
        return;
      case SyntaxKind.FunctionDeclaration: {
        const fn = statement as ts.FunctionDeclaration;
        if (!fn.name) return;
        const existing = scope.values?.get(fn.name.text);
        // Overload signatures come first; the implementation (with a body) wins.
        if (!existing || existing.kind !== 'function' || !existing.node.body) {
          scope.setValue(fn.name.text, { kind: 'function', node: fn });
        }
        return;
      }
      case SyntaxKind.ClassDeclaration: {
        const cls = statement as ts.ClassDeclaration;
        if (cls.name) {
          const binding: Binding = { kind: 'class', node: cls };
          scope.setValue(cls.name.text, binding);
          scope.setType(cls.name.text, binding);
        }
        return;
      }
      case SyntaxKind.ImportDeclaration: {
        const declaration = statement as ts.ImportDeclaration;
        const clause = declaration.importClause;
        if (!clause || !ts.isStringLiteral(declaration.moduleSpecifier)) return;
        const module = this.resolveSpecifier(declaration.moduleSpecifier.text);
        if (module === undefined) return;
        const bind = (local: string, name: string): void => {
          const binding: Binding = { kind: 'import', origin: { module, name } };
          scope.setValue(local, binding);
          scope.setType(local, binding);
        };
        if (clause.name) bind(clause.name.text, 'default');
        const named = clause.namedBindings;
        if (named && ts.isNamespaceImport(named)) bind(named.name.text, '*');
        if (named && ts.isNamedImports(named)) {
          for (const element of named.elements) {
            const imported = (element.propertyName ?? element.name).text;
            if (imported !== element.name.text) this.renamedImports.add(element.name.text);
            bind(element.name.text, imported);
          }
        }
        return;
      }
      case SyntaxKind.ImportEqualsDeclaration: {
        const declaration = statement as ts.ImportEqualsDeclaration;
        const reference = declaration.moduleReference;
        if (ts.isExternalModuleReference(reference) && ts.isStringLiteral(reference.expression)) {
          const module = this.resolveSpecifier(reference.expression.text);
          if (module !== undefined) scope.setValue(declaration.name.text, { kind: 'import', origin: { module, name: '*' } });
        } else {
          scope.setValue(declaration.name.text, { kind: 'opaque' });
        }
        return;
      }
      case SyntaxKind.TypeAliasDeclaration:
      case SyntaxKind.InterfaceDeclaration: {
        const declaration = statement as ts.TypeAliasDeclaration | ts.InterfaceDeclaration;
        scope.setType(declaration.name.text, { kind: 'type', node: declaration });
        return;
      }
      case SyntaxKind.EnumDeclaration:
      case SyntaxKind.ModuleDeclaration: {
        const declaration = statement as ts.EnumDeclaration | ts.ModuleDeclaration;
        if (ts.isIdentifier(declaration.name)) scope.setValue(declaration.name.text, { kind: 'opaque' });
        return;
      }
      default:
        return;
    }
  }

  /** Module a `require('x')` / `import('x')` call loads, if it is one. */
  requiredModule(call: ts.CallExpression): string | undefined {
    const argument = call.arguments[0];
    if (!argument || !ts.isStringLiteralLike(argument)) return undefined;
    const isRequire = ts.isIdentifier(call.expression) && call.expression.text === 'require' && !this.lookup('require');
    if (!isRequire && call.expression.kind !== SyntaxKind.ImportKeyword) return undefined;
    return this.resolveSpecifier(argument.text);
  }

  /** Where an expression's value comes from (empty when it derives from no import). */
  originsOf(expression: ts.Expression, depth = 0): Origin[] {
    if (depth > MAX_DEPTH) return [];
    const node = unwrapExpression(expression);
    switch (node.kind) {
      case SyntaxKind.Identifier: {
        const binding = this.lookup((node as ts.Identifier).text);
        return binding ? this.bindingOrigins(binding, depth + 1) : [];
      }
      case SyntaxKind.PropertyAccessExpression: {
        const access = node as ts.PropertyAccessExpression;
        return refine(this.originsOf(access.expression, depth + 1), access.name.text);
      }
      case SyntaxKind.ElementAccessExpression: {
        const access = node as ts.ElementAccessExpression;
        const inner = this.originsOf(access.expression, depth + 1);
        return ts.isStringLiteralLike(access.argumentExpression) ? refine(inner, access.argumentExpression.text) : inner;
      }
      case SyntaxKind.CallExpression: {
        const call = node as ts.CallExpression;
        const required = this.requiredModule(call);
        if (required !== undefined) return [{ module: required, name: '*' }];
        return this.originsOf(call.expression, depth + 1);
      }
      case SyntaxKind.NewExpression:
        return this.originsOf((node as ts.NewExpression).expression, depth + 1);
      case SyntaxKind.AwaitExpression:
        return this.originsOf((node as ts.AwaitExpression).expression, depth + 1);
      case SyntaxKind.ArrowFunction:
      case SyntaxKind.FunctionExpression:
        return this.returnOrigins(node as ts.ArrowFunction | ts.FunctionExpression, depth + 1);
      case SyntaxKind.TaggedTemplateExpression:
        return this.originsOf((node as ts.TaggedTemplateExpression).tag, depth + 1);
      case SyntaxKind.ConditionalExpression: {
        const conditional = node as ts.ConditionalExpression;
        return [...this.originsOf(conditional.whenTrue, depth + 1), ...this.originsOf(conditional.whenFalse, depth + 1)];
      }
      case SyntaxKind.BinaryExpression: {
        const binary = node as ts.BinaryExpression;
        const operator = binary.operatorToken.kind;
        if (operator === SyntaxKind.QuestionQuestionToken || operator === SyntaxKind.BarBarToken) {
          return [...this.originsOf(binary.left, depth + 1), ...this.originsOf(binary.right, depth + 1)];
        }
        if (operator === SyntaxKind.AmpersandAmpersandToken || operator === SyntaxKind.CommaToken || operator === SyntaxKind.EqualsToken) {
          return this.originsOf(binary.right, depth + 1);
        }
        return [];
      }
      default:
        return [];
    }
  }

  /**
   * Origins of an iterated expression when it is, syntactically, a QuerySet: a model manager
   * (`Model.objects`), a chain of QuerySet builders on one (`Model.objects.filter(…)`), a variable
   * holding such a chain, or a value annotated `QuerySet<…>` / `Manager<…>`. Anything else (a
   * field of an instance, an array, a union of rows) is not a QuerySet: no origins.
   */
  querySetOrigins(expression: ts.Expression): Origin[] {
    return this.isQuerySetShaped(expression, 0) ? this.originsOf(expression) : [];
  }

  /**
   * Origins of an expression when it is, syntactically, a model instance: what `get`/`aget`/
   * `first`/`create` … of a QuerySet returns (awaited or not; the first of a `getOrCreate` pair),
   * a variable holding it, an element of a loop over a QuerySet, or a value with a type
   * annotation (its origins name the model, `InstanceOf<typeof Choice>`). Anything else: none.
   */
  instanceOrigins(expression: ts.Expression): Origin[] {
    if (!this.isInstanceShaped(expression, 0)) return [];
    const origins = this.originsOf(expression);
    // Models are defined in the project: a value only a package's types describe (`req: Request`) is none.
    return origins.some((origin) => isProjectModule(origin.module)) ? origins : [];
  }

  private isInstanceShaped(expression: ts.Expression, depth: number): boolean {
    if (depth > MAX_DEPTH) return false;
    let node = unwrapExpression(expression);
    if (node.kind === SyntaxKind.AwaitExpression) node = unwrapExpression((node as ts.AwaitExpression).expression);
    if (ts.isCallExpression(node)) return this.isGetterCall(node, INSTANCE_GETTERS);
    if (ts.isNewExpression(node)) return true;
    if (!ts.isIdentifier(node)) return false;
    const binding = this.lookup(node.text);
    if (!binding || binding.kind !== 'variable') return false;
    if (binding.iterated) return binding.path.length === 0 && this.isQuerySetShaped(binding.iterated, depth + 1);
    const declaration = binding.node;
    if (binding.path.length === 0 && declaration.type) return true;
    if (!declaration.initializer || ts.isParameter(declaration)) return false;
    const first = ts.isArrayBindingPattern(declaration.name) ? declaration.name.elements[0] : undefined;
    if (first && !ts.isOmittedExpression(first) && ts.isIdentifier(first.name) && first.name.text === node.text) {
      let pair = unwrapExpression(declaration.initializer);
      if (pair.kind === SyntaxKind.AwaitExpression) pair = unwrapExpression((pair as ts.AwaitExpression).expression);
      return ts.isCallExpression(pair) && this.isGetterCall(pair, PAIR_GETTERS);
    }
    return binding.path.length === 0 && this.isInstanceShaped(declaration.initializer, depth + 1);
  }

  private isGetterCall(call: ts.CallExpression, getters: ReadonlySet<string>): boolean {
    const callee = unwrapExpression(call.expression);
    return ts.isPropertyAccessExpression(callee) && getters.has(callee.name.text) && this.isQuerySetShaped(callee.expression, 0);
  }

  private isQuerySetShaped(expression: ts.Expression, depth: number): boolean {
    if (depth > MAX_DEPTH) return false;
    const node = unwrapExpression(expression);
    if (ts.isPropertyAccessExpression(node)) return node.name.text === MANAGER_PROPERTY;
    if (ts.isCallExpression(node)) {
      const callee = unwrapExpression(node.expression);
      return ts.isPropertyAccessExpression(callee) && QUERYSET_BUILDERS.has(callee.name.text) && this.isQuerySetShaped(callee.expression, depth + 1);
    }
    if (ts.isConditionalExpression(node)) return this.isQuerySetShaped(node.whenTrue, depth + 1) && this.isQuerySetShaped(node.whenFalse, depth + 1);
    if (!ts.isIdentifier(node)) return false;
    const binding = this.lookup(node.text);
    if (!binding || binding.kind !== 'variable' || binding.path.length > 0 || binding.iterated) return false;
    const declaration = binding.node;
    if (declaration.type) return isQuerySetType(declaration.type);
    return declaration.initializer !== undefined && !ts.isParameter(declaration) && this.isQuerySetShaped(declaration.initializer, depth + 1);
  }

  bindingOrigins(binding: Binding, depth = 0): Origin[] {
    // A function's origins grow once the walk has seen its return: never memoise them.
    if (binding.kind === 'function') return depth > MAX_DEPTH ? [] : this.returnOrigins(binding.node, depth);
    const memo = this.originMemo.get(binding);
    if (memo) return memo;
    if (this.inProgress.has(binding) || depth > MAX_DEPTH) return [];
    this.inProgress.add(binding);
    const origins = this.computeBindingOrigins(binding, depth);
    this.inProgress.delete(binding);
    this.originMemo.set(binding, origins);
    return origins;
  }

  private computeBindingOrigins(binding: Binding, depth: number): Origin[] {
    switch (binding.kind) {
      case 'import':
        return [binding.origin];
      case 'variable': {
        const declaration = binding.node;
        const origins: Origin[] = [];
        const source = binding.iterated ?? declaration.initializer;
        if (source) {
          let fromSource = this.originsOf(source, depth);
          // Destructuring an iterated element starts one level down; the element itself is the value.
          for (const step of binding.path) if (step !== ARRAY_STEP) fromSource = refine(fromSource, step);
          origins.push(...fromSource);
        }
        if (declaration.type) origins.push(...this.typeOrigins(declaration.type, depth));
        return origins;
      }
      case 'function':
        return this.returnOrigins(binding.node, depth);
      case 'class': {
        const origins: Origin[] = [];
        for (const clause of binding.node.heritageClauses ?? []) {
          for (const type of clause.types) origins.push(...this.originsOf(type.expression, depth));
        }
        return origins;
      }
      case 'type': {
        const declaration = binding.node;
        if (ts.isTypeAliasDeclaration(declaration)) return this.typeOrigins(declaration.type, depth);
        const origins: Origin[] = [];
        for (const clause of declaration.heritageClauses ?? []) {
          for (const type of clause.types) origins.push(...this.originsOf(type.expression, depth));
        }
        return origins;
      }
      case 'opaque':
        return [];
    }
  }

  /**
   * Records where a function's first returned value comes from, while the walk is inside it (so
   * its locals are in scope). Functions not walked yet are judged by their annotation alone.
   */
  recordReturn(fn: ts.Node, expression: ts.Expression): void {
    if (!this.returned.has(fn)) this.returned.set(fn, this.originsOf(expression));
  }

  /** Origins of what a function returns: its return type annotation and its first returned expression. */
  returnOrigins(fn: ts.FunctionLikeDeclaration, depth = 0): Origin[] {
    if (depth > MAX_DEPTH) return [];
    const origins: Origin[] = fn.type ? this.typeOrigins(fn.type, depth) : [];
    const returned = this.returned.get(fn);
    if (returned) origins.push(...returned);
    return origins;
  }

  /** Origins of the names a type annotation mentions (`QuerySet<T>`, `InstanceOf<typeof Question>`). */
  typeOrigins(type: ts.TypeNode, depth = 0): Origin[] {
    const origins: Origin[] = [];
    const visit = (node: ts.Node): void => {
      if (ts.isTypeReferenceNode(node)) {
        const name = leftmostIdentifier(node.typeName);
        const binding = this.lookupType(name.text);
        if (binding) origins.push(...this.bindingOrigins(binding, depth + 1));
      } else if (ts.isTypeQueryNode(node)) {
        const name = leftmostIdentifier(node.exprName);
        const binding = this.lookup(name.text);
        if (binding) origins.push(...this.bindingOrigins(binding, depth + 1));
      } else if (ts.isFunctionTypeNode(node) || ts.isTypeLiteralNode(node)) {
        return;
      }
      ts.forEachChild(node, visit);
    };
    visit(type);
    return origins;
  }
}

/** `QuerySet<T>`, `orm.Manager<T>` (nothing else: not an array of them, not a union with rows). */
function isQuerySetType(type: ts.TypeNode): boolean {
  if (!ts.isTypeReferenceNode(type)) return false;
  const name = ts.isIdentifier(type.typeName) ? type.typeName.text : type.typeName.right.text;
  return QUERYSET_TYPE_NAMES.has(name);
}

function leftmostIdentifier(name: ts.EntityName): ts.Identifier {
  let current: ts.EntityName = name;
  while (ts.isQualifiedName(current)) current = current.left;
  return current;
}
