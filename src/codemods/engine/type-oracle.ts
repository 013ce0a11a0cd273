/**
 * Type-aware answers from one ts.Program: is this receiver's method declared in an ORM module,
 * is this callee the connection function, which function does this name call?
 *
 * It asks the checker only for declared types and follows call chains itself
 * (`Question.objects.filter({...}).aexists()`: the type of `Question`, then the declared return
 * type of `filter`, then the property `aexists`). Resolving every call's overloads and checking
 * its arguments, as `tsc` does, costs most of a type-check and tells us nothing we need.
 */
import ts from '../typescript.cjs';

import type { Evidence } from './facts.js';
import { unwrapExpression } from './syntactic-scope.js';

// ts.X is a getter on TypeScript's module object: read the enum once, not in every switch case.
const { SyntaxKind } = ts;

export type Verdict = 'yes' | 'no' | 'unknown';

/** Receiver shapes typeOf leaves to the checker. */
const CHECKER_TYPED_RECEIVERS = new Set<ts.SyntaxKind>([SyntaxKind.ElementAccessExpression, SyntaxKind.ConditionalExpression, SyntaxKind.BinaryExpression]);

export interface OracleTargets {
  /** Files whose declarations are "the ORM" (the ORM modules and the files they pull in). */
  ormFiles: ReadonlySet<string>;
  /** Files that may declare the connection function. */
  connectionFiles: ReadonlySet<string>;
  connectionName: string;
  syncToAsyncName: string;
}

const MAX_DEPTH = 30;

export class TypeOracle {
  private readonly checker: ts.TypeChecker;
  private readonly typeMemo = new Map<ts.Node, ts.Type | null>();
  private readonly inProgress = new Set<ts.Node>();

  constructor(
    program: ts.Program,
    private readonly targets: OracleTargets,
  ) {
    this.checker = program.getTypeChecker();
  }

  verdict(evidence: Evidence): Verdict {
    const node = evidence.node;
    if (!node) return 'unknown';
    const files = evidence.target === 'connection' ? this.targets.connectionFiles : this.targets.ormFiles;
    if (files.size === 0) return 'unknown';
    const wantedName =
      evidence.target === 'connection' ? this.targets.connectionName : evidence.target === 'sync-to-async' ? this.targets.syncToAsyncName : undefined;

    if (evidence.shape === 'iterated') {
      const type = this.typeOf(node as ts.Expression);
      if (!type || isUnknownType(type)) return 'unknown';
      return this.isQuerySetType(type, files) ? 'yes' : 'no';
    }

    if (evidence.shape === 'foreign-key') return this.foreignKeyVerdict(node as ts.PropertyAccessExpression, files);

    if (evidence.shape === 'receiver') return this.receiverVerdict(node as ts.Expression, evidence.classes ?? [], files);

    if (wantedName !== undefined) return this.namedFunctionVerdict(node as ts.Expression, wantedName, files);
    const symbol = this.calleeSymbol(node as ts.Expression);
    if (symbol === 'unknown') return 'unknown';
    if (!symbol) return 'no';
    return declaredIn(symbol, files) ? 'yes' : 'no';
  }

  /** Is the receiver's type (some member of a union) one of `classes` declared in those files, or a class or interface extending one? */
  private receiverVerdict(receiver: ts.Expression, classes: readonly string[], files: ReadonlySet<string>): Verdict {
    const type = this.typeOf(receiver);
    if (!type || isUnknownType(type)) return 'unknown';
    const checker = this.checker;
    const seen = new Set<ts.Type>();
    const extendsOne = (current: ts.Type, depth: number): boolean => {
      if (depth > MAX_DEPTH || seen.has(current)) return false;
      seen.add(current);
      // `orm.em` is `D[typeof EntityManagerType] & EntityManager`; a generic `EM extends EntityManager` is its constraint.
      if (current.isUnionOrIntersection()) return current.types.some((member) => extendsOne(member, depth + 1));
      if (current.flags & ts.TypeFlags.TypeParameter) {
        const constraint = checker.getBaseConstraintOfType(current);
        return constraint !== undefined && constraint !== current && extendsOne(constraint, depth + 1);
      }
      const symbol = current.getSymbol();
      if (symbol && classes.includes(symbol.getName()) && declaredIn(symbol, files)) return true;
      const target = (current as ts.TypeReference).target ?? current;
      if (!target.isClassOrInterface()) return false;
      return checker.getBaseTypes(target).some((base) => extendsOne(base, depth + 1));
    };
    if (extendsOne(checker.getNonNullableType(type), 0)) return 'yes';
    // A declared return type that needs the call's inference (`getRepository<T>()` returns a conditional type): ask the checker.
    if (type.flags & (ts.TypeFlags.Conditional | ts.TypeFlags.IndexedAccess | ts.TypeFlags.Substitution | ts.TypeFlags.TypeParameter)) {
      const inferred = checker.getTypeAtLocation(receiver);
      if (!isUnknownType(inferred) && extendsOne(checker.getNonNullableType(inferred), 0)) return 'yes';
    }
    return 'no';
  }

  /**
   * `choice.question`: is `question` a foreign-key accessor of a model instance? The runtime's
   * instance types give each foreign key `f` the related instance and `fId` its key: the receiver
   * must be an ORM model instance (its `asave` declared in the ORM) with a property `fId`, and
   * `f` itself an ORM model instance. A plain field, `fId`, a method or a non-model is 'no'.
   */
  private foreignKeyVerdict(access: ts.PropertyAccessExpression, files: ReadonlySet<string>): Verdict {
    // The checker's own type: following declared types (typeOf) leaves a model's field map generic
    // (`defineModel`'s `F`), and only instantiated it shows the foreign keys. The candidates are few
    // (receivers that look like instances, array elements).
    const receiver = this.checker.getTypeAtLocation(access.expression);
    if (isUnknownType(receiver)) return 'unknown';
    const field = access.name.text;
    if (!this.isModelInstance(receiver, files) || !this.propertyOf(receiver, `${field}Id`)) return 'no';
    const property = this.propertyOf(receiver, field);
    if (!property) return 'no';
    const related = this.checker.getTypeOfSymbol(property);
    return this.isModelInstance(related, files) ? 'yes' : 'no';
  }

  /** A model instance: its `asave()` is declared in an ORM module (some member of a union is enough). */
  private isModelInstance(type: ts.Type, files: ReadonlySet<string>): boolean {
    const nonNull = this.checker.getNonNullableType(type);
    const members = nonNull.isUnion() ? nonNull.types : [nonNull];
    return members.some((member) => {
      const save = this.propertyOf(member, 'asave');
      return save !== undefined && declaredIn(save, files);
    });
  }

  /** Is the callee the function `name` of those files — itself, or an import/re-export alias named so there? */
  private namedFunctionVerdict(callee: ts.Expression, name: string, files: ReadonlySet<string>): Verdict {
    const node = unwrapExpression(callee);
    let symbol: ts.Symbol | undefined;
    if (ts.isIdentifier(node)) {
      symbol = this.checker.getSymbolAtLocation(node);
    } else {
      const resolved = this.calleeSymbol(node);
      if (resolved === 'unknown') return 'unknown';
      symbol = resolved;
    }
    if (!symbol) return 'unknown';
    let sawDeclaration = false;
    for (let current: ts.Symbol | undefined = symbol, hops = 0; current && hops < 10; hops += 1) {
      if (current.declarations?.length) sawDeclaration = true;
      if (current.getName() === name && declaredIn(current, files)) return 'yes';
      if (!(current.flags & ts.SymbolFlags.Alias)) break;
      current = this.checker.getImmediateAliasedSymbol(current);
    }
    return sawDeclaration && this.resolveAlias(symbol) ? 'no' : 'unknown';
  }

  /** Declarations (function-like nodes with a body) a referenced name resolves to; undefined when the checker cannot tell. */
  functionsReferencedBy(name: ts.Identifier | ts.PrivateIdentifier): ts.Node[] | undefined {
    const parent = name.parent;
    let symbol: ts.Symbol | undefined;
    if (parent && ts.isPropertyAccessExpression(parent) && parent.name === name) {
      const receiver = this.typeOf(parent.expression);
      if (!receiver || isUnknownType(receiver)) return undefined;
      symbol = this.propertyOf(receiver, name.text);
    } else {
      symbol = this.checker.getSymbolAtLocation(name);
    }
    if (!symbol) return undefined;
    symbol = this.resolveAlias(symbol);
    if (!symbol) return undefined;
    const nodes: ts.Node[] = [];
    for (const declaration of symbol.declarations ?? []) collectFunctionNodes(declaration, nodes);
    return nodes;
  }

  // ---------------------------------------------------------------- symbols

  private resolveAlias(symbol: ts.Symbol): ts.Symbol | undefined {
    let current = symbol;
    for (let i = 0; i < 10 && current.flags & ts.SymbolFlags.Alias; i += 1) {
      const next = this.checker.getAliasedSymbol(current);
      if (next === current) break;
      current = next;
    }
    // The checker's "unknown" symbol stands for an unresolved import.
    if (current.flags === ts.SymbolFlags.None && !current.declarations?.length) return undefined;
    return current;
  }

  /** The symbol a callee denotes; 'unknown' when types do not say (unresolved import, any). */
  private calleeSymbol(callee: ts.Expression): ts.Symbol | undefined | 'unknown' {
    const node = unwrapExpression(callee);
    if (ts.isPropertyAccessExpression(node)) {
      // A receiver typeOf does not follow (an array element, a conditional, `a ?? b`): the checker's own answer.
      // (Names and property chains it does not follow stay unknown: the syntactic origins answer, at no cost.)
      const receiver = this.typeOf(node.expression) ?? (CHECKER_TYPED_RECEIVERS.has(unwrapExpression(node.expression).kind) ? this.checker.getTypeAtLocation(node.expression) : undefined);
      if (!receiver || isUnknownType(receiver)) return 'unknown';
      return this.propertyOf(receiver, node.name.text);
    }
    if (ts.isIdentifier(node)) {
      const symbol = this.checker.getSymbolAtLocation(node);
      if (!symbol) return 'unknown';
      const resolved = this.resolveAlias(symbol);
      if (!resolved) return 'unknown';
      // A local variable holding the function: judge by its declared type's symbol.
      if (resolved.flags & (ts.SymbolFlags.Variable | ts.SymbolFlags.Property) && !(resolved.flags & ts.SymbolFlags.Function)) {
        const type = this.typeOf(node);
        if (!type || isUnknownType(type)) return 'unknown';
        return type.getSymbol() ?? resolved;
      }
      return resolved;
    }
    return 'unknown';
  }

  private propertyOf(type: ts.Type, name: string): ts.Symbol | undefined {
    const apparent = this.checker.getApparentType(this.checker.getNonNullableType(type));
    return this.checker.getPropertyOfType(apparent, name) ?? undefined;
  }

  // ---------------------------------------------------------------- types, following call chains

  typeOf(expression: ts.Expression, depth = 0): ts.Type | undefined {
    const memo = this.typeMemo.get(expression);
    if (memo !== undefined) return memo ?? undefined;
    if (depth > MAX_DEPTH || this.inProgress.has(expression)) return undefined;
    this.inProgress.add(expression);
    let type: ts.Type | undefined;
    try {
      type = this.computeTypeOf(expression, depth);
    } finally {
      this.inProgress.delete(expression);
    }
    this.typeMemo.set(expression, type ?? null);
    return type;
  }

  private computeTypeOf(node: ts.Expression, depth: number): ts.Type | undefined {
    const checker = this.checker;
    switch (node.kind) {
      case SyntaxKind.ParenthesizedExpression:
      case SyntaxKind.SatisfiesExpression:
        return this.typeOf((node as ts.ParenthesizedExpression).expression, depth + 1);
      case SyntaxKind.AsExpression:
      case SyntaxKind.TypeAssertionExpression: {
        const assertion = node as ts.AsExpression;
        if (ts.isConstTypeReference(assertion.type)) return this.typeOf(assertion.expression, depth + 1);
        return checker.getTypeFromTypeNode(assertion.type);
      }
      case SyntaxKind.NonNullExpression: {
        const inner = this.typeOf((node as ts.NonNullExpression).expression, depth + 1);
        return inner ? checker.getNonNullableType(inner) : undefined;
      }
      case SyntaxKind.AwaitExpression: {
        const inner = this.typeOf((node as ts.AwaitExpression).expression, depth + 1);
        return inner ? (checker.getAwaitedType(inner) ?? inner) : undefined;
      }
      case SyntaxKind.ThisKeyword:
        return checker.getTypeAtLocation(node);
      case SyntaxKind.Identifier: {
        const symbol = checker.getSymbolAtLocation(node);
        return symbol ? this.typeOfSymbol(symbol, depth) : undefined;
      }
      case SyntaxKind.PropertyAccessExpression: {
        const access = node as ts.PropertyAccessExpression;
        const receiver = this.typeOf(access.expression, depth + 1);
        if (!receiver || isUnknownType(receiver)) return undefined;
        const property = this.propertyOf(receiver, access.name.text);
        return property ? checker.getTypeOfSymbol(property) : undefined;
      }
      case SyntaxKind.CallExpression:
      case SyntaxKind.NewExpression: {
        const call = node as ts.CallExpression | ts.NewExpression;
        if (ts.isCallExpression(call) && call.expression.kind === SyntaxKind.ImportKeyword) return undefined;
        const callee = this.typeOf(call.expression, depth + 1);
        if (!callee || isUnknownType(callee)) return undefined;
        const kind = ts.isCallExpression(call) ? ts.SignatureKind.Call : ts.SignatureKind.Construct;
        const signatures = checker.getSignaturesOfType(callee, kind);
        const signature = signatures[0];
        if (!signature) return undefined;
        const declared = checker.getReturnTypeOfSignature(signature);
        // Generic results that are a bare type parameter need the real inference: ask the checker.
        if (declared.flags & ts.TypeFlags.TypeParameter || (signatures.length > 1 && !sameSymbol(signatures.map((s) => checker.getReturnTypeOfSignature(s))))) {
          return checker.getTypeAtLocation(call);
        }
        return declared;
      }
      default:
        return undefined;
    }
  }

  /** A symbol's type without checking variable initializers the way the checker would. */
  private typeOfSymbol(symbol: ts.Symbol, depth: number): ts.Type | undefined {
    const resolved = this.resolveAlias(symbol);
    if (!resolved) return undefined;
    const declaration = resolved.valueDeclaration ?? resolved.declarations?.[0];
    if (!declaration) return undefined;
    if (ts.isVariableDeclaration(declaration) && ts.isIdentifier(declaration.name)) {
      if (declaration.type) return this.checker.getTypeFromTypeNode(declaration.type);
      if (declaration.initializer) return this.typeOf(declaration.initializer, depth + 1);
    }
    if (ts.isParameter(declaration) && declaration.type) return this.checker.getTypeFromTypeNode(declaration.type);
    return this.checker.getTypeOfSymbol(resolved);
  }

  /**
   * A QuerySet: an async-iterable type declared in the ORM (some member of a union is enough;
   * a model instance, one of its fields or an array of rows never is).
   */
  private isQuerySetType(type: ts.Type, files: ReadonlySet<string>): boolean {
    const checker = this.checker;
    const isQuerySet = (current: ts.Type): boolean => {
      if (current.isUnion()) return current.types.some(isQuerySet);
      if (!this.typeDeclaredIn(current, files)) return false;
      const apparent = checker.getApparentType(current);
      return checker.getPropertiesOfType(apparent).some((property) => String(property.escapedName).startsWith('__@asyncIterator'));
    };
    return isQuerySet(checker.getNonNullableType(type));
  }

  private typeDeclaredIn(type: ts.Type, files: ReadonlySet<string>): boolean {
    const seen = new Set<ts.Type>();
    const visit = (current: ts.Type): boolean => {
      if (seen.has(current)) return false;
      seen.add(current);
      const symbol = current.getSymbol();
      if (symbol && declaredIn(symbol, files)) return true;
      if (current.aliasSymbol && declaredIn(current.aliasSymbol, files)) return true;
      if (current.isUnionOrIntersection()) return current.types.some(visit);
      return false;
    };
    return visit(type);
  }
}

function isUnknownType(type: ts.Type): boolean {
  return (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) !== 0;
}

function sameSymbol(types: readonly ts.Type[]): boolean {
  const first = types[0]?.getSymbol();
  return types.every((type) => type.getSymbol() === first);
}

function declaredIn(symbol: ts.Symbol, files: ReadonlySet<string>): boolean {
  return symbol.declarations?.some((declaration) => files.has(declaration.getSourceFile().fileName)) ?? false;
}

function isFunctionNodeWithBody(node: ts.Node): boolean {
  return (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) || false;
}

/** The function nodes a declaration stands for (`const f = () => …` → the arrow; `class C` → its constructor). */
function collectFunctionNodes(declaration: ts.Node, into: ts.Node[]): void {
  if (isFunctionNodeWithBody(declaration)) {
    into.push(declaration);
    return;
  }
  if ((ts.isVariableDeclaration(declaration) || ts.isPropertyAssignment(declaration) || ts.isPropertyDeclaration(declaration)) && declaration.initializer) {
    const value = unwrapExpression(declaration.initializer);
    if (isFunctionNodeWithBody(value)) into.push(value);
    return;
  }
  if (ts.isClassDeclaration(declaration) || ts.isClassExpression(declaration)) {
    const constructor = declaration.members.find((member) => ts.isConstructorDeclaration(member) && member.body);
    if (constructor) into.push(constructor);
  }
}
