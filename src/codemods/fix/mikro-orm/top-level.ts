/**
 * Module top level under the mikro-orm preset. One shape is safe to rewrite: a script that
 * creates the ORM at top level with `await` and then uses it. The statements after that one move
 * into `await RequestContext.create(orm.em, async () => { … })`; everything else stays manual.
 */
import ts from '../../typescript.cjs';
import { contextSourceCreatedBy } from './scope.js';
import type { ContextSource } from './scope.js';

export type ModuleRootPlan = { kind: 'wrap'; source: ContextSource; after: number; end: number } | { kind: 'manual'; reason: string };

const MOVE_IT = 'move it into an async function (e.g. `main()`) and call that, then run fix again';

function containsAwait(node: ts.Node): boolean {
  let found = false;
  const visit = (child: ts.Node): void => {
    if (found || ts.isFunctionLike(child)) return;
    if (ts.isAwaitExpression(child) || (ts.isForOfStatement(child) && child.awaitModifier)) found = true;
    else ts.forEachChild(child, visit);
  };
  visit(node);
  return found;
}

/** Code that runs when the statement runs (calls, awaits, `new`), not inside a function it declares. */
function runsCode(statement: ts.Statement): boolean {
  if (ts.isImportDeclaration(statement) || ts.isImportEqualsDeclaration(statement) || ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement) || ts.isFunctionDeclaration(statement)) return false;
  let found = false;
  const visit = (child: ts.Node): void => {
    if (found || ts.isFunctionLike(child)) return;
    if (ts.isCallExpression(child) || ts.isNewExpression(child) || ts.isAwaitExpression(child) || ts.isTaggedTemplateExpression(child) || ts.isDecorator(child)) found = true;
    else ts.forEachChild(child, visit);
  };
  visit(statement);
  return found;
}

function isExported(statement: ts.Statement): boolean {
  if (ts.isExportDeclaration(statement) || ts.isExportAssignment(statement)) return true;
  return (ts.canHaveModifiers(statement) && ts.getModifiers(statement)?.some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword)) ?? false;
}

function declaredNames(statement: ts.Statement): string[] {
  if (ts.isVariableStatement(statement)) {
    const names: string[] = [];
    const collect = (name: ts.BindingName): void => {
      if (ts.isIdentifier(name)) names.push(name.text);
      else for (const element of name.elements) if (!ts.isOmittedExpression(element)) collect(element.name);
    };
    for (const declaration of statement.declarationList.declarations) collect(declaration.name);
    return names;
  }
  if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement) || ts.isEnumDeclaration(statement)) && statement.name) return [statement.name.text];
  return [];
}

function identifiersIn(nodes: readonly ts.Node[]): Set<string> {
  const names = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) names.add(node.text);
    ts.forEachChild(node, visit);
  };
  for (const node of nodes) visit(node);
  return names;
}

export function planModuleRoot(sourceFile: ts.SourceFile, commonjs: boolean): ModuleRootPlan {
  if (commonjs) return { kind: 'manual', reason: `top-level code of a CommonJS module cannot await a RequestContext: ${MOVE_IT}` };
  const statements = sourceFile.statements;
  const index = statements.findIndex((statement) => contextSourceCreatedBy(statement) !== undefined && containsAwait(statement));
  const creation = statements[index];
  const source = creation && contextSourceCreatedBy(creation);
  if (!creation || !source) {
    return { kind: 'manual', reason: `top-level code runs outside every RequestContext and no top-level \`const orm = await MikroORM.init(…)\` comes before it: ${MOVE_IT}` };
  }
  const before = statements.slice(0, index);
  const moved = statements.slice(index + 1);
  const early = before.find(runsCode);
  if (early) {
    const { line } = sourceFile.getLineAndCharacterOfPosition(early.getStart(sourceFile));
    return { kind: 'manual', reason: `top-level code before the ORM is created (line ${line + 1}) runs outside every RequestContext: ${MOVE_IT}` };
  }
  if (moved.length === 0) return { kind: 'manual', reason: `nothing after the ORM is created can move into a RequestContext: ${MOVE_IT}` };
  if (moved.some(isExported)) return { kind: 'manual', reason: `the module exports bindings declared after the ORM is created, which cannot move into a callback: ${MOVE_IT}` };
  const usedBefore = identifiersIn(before);
  const shared = moved.flatMap(declaredNames).find((name) => usedBefore.has(name));
  if (shared) return { kind: 'manual', reason: `\`${shared}\` is declared after the ORM is created and used by code before it, so it cannot move into a callback: ${MOVE_IT}` };
  return { kind: 'wrap', source, after: creation.end, end: (moved.at(-1) as ts.Statement).end };
}
