/**
 * A-calls at the top level of a module (top-level await) become one block: the statements from
 * the first to the last such call move into `await newConnection(async () => { … })`, when
 * nothing outside that range needs what they declare.
 */
import ts from '../typescript.cjs';
import type { SourceStyle } from './style.js';
import type { TextEdit } from './text.js';
import { indentEdits, lineStartOf } from './text.js';
import { literalRanges } from './wrap.js';
import { isFunctionWithBody } from '../engine/file-analysis.js';

const { SyntaxKind } = ts;

export type ModulePlan = { kind: 'edits'; edits: TextEdit[]; range: [number, number] } | { kind: 'manual'; reason: string };

function isExported(statement: ts.Statement): boolean {
  return (ts.canHaveModifiers(statement) && ts.getModifiers(statement)?.some((modifier) => modifier.kind === SyntaxKind.ExportKeyword)) ?? false;
}

function declaredNames(statement: ts.Statement): string[] {
  const names: string[] = [];
  const bind = (name: ts.BindingName): void => {
    if (ts.isIdentifier(name)) names.push(name.text);
    else for (const element of name.elements) if (!ts.isOmittedExpression(element)) bind(element.name);
  };
  if (ts.isVariableStatement(statement)) for (const declaration of statement.declarationList.declarations) bind(declaration.name);
  else if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement) || ts.isEnumDeclaration(statement) || ts.isModuleDeclaration(statement)) && statement.name && ts.isIdentifier(statement.name)) {
    names.push(statement.name.text);
  }
  return names;
}

/** Identifier texts read outside [from, to) (property names after a dot do not count). */
function namesUsedOutside(sourceFile: ts.SourceFile, from: number, to: number): Set<string> {
  const used = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (node.end <= to && node.getStart(sourceFile) >= from) return;
    if (ts.isIdentifier(node)) {
      const parent = node.parent;
      if (!(ts.isPropertyAccessExpression(parent) && parent.name === node)) used.add(node.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return used;
}

/** Has a top-level `await` (not inside a nested function) in these statements. */
function hasTopLevelAwait(statements: readonly ts.Statement[]): boolean {
  let found = false;
  const visit = (node: ts.Node): void => {
    if (found || isFunctionWithBody(node) || ts.isClassLike(node)) return;
    if (ts.isAwaitExpression(node) || (ts.isForOfStatement(node) && node.awaitModifier)) {
      found = true;
      return;
    }
    ts.forEachChild(node, visit);
  };
  for (const statement of statements) visit(statement);
  return found;
}

/** Calls in the range whose callee is named like a project function: that function would then run inside the block. */
function callsProjectFunction(statements: readonly ts.Statement[], projectFunctionNames: ReadonlySet<string>): string | undefined {
  let found: string | undefined;
  const visit = (node: ts.Node): void => {
    if (found) return;
    if (ts.isCallExpression(node) || ts.isNewExpression(node)) {
      const callee = node.expression;
      const name = ts.isIdentifier(callee) ? callee.text : ts.isPropertyAccessExpression(callee) ? callee.name.text : undefined;
      if (name !== undefined && projectFunctionNames.has(name)) {
        found = name;
        return;
      }
    }
    ts.forEachChild(node, visit);
  };
  for (const statement of statements) visit(statement);
  return found;
}

export interface ModuleRootRequest {
  /** Offsets of the a-calls reached from the module's top level. */
  offsets: readonly number[];
  /** Names of the project's functions (a call to one of them in the range makes it manual). */
  projectFunctionNames: ReadonlySet<string>;
  /** How the file refers to the connection function. */
  connection: string;
}

export function planModuleRoot(sourceFile: ts.SourceFile, style: SourceStyle, request: ModuleRootRequest): ModulePlan {
  const statements = sourceFile.statements;
  const indexes = request.offsets.map((offset) => statements.findIndex((statement) => statement.getStart(sourceFile) <= offset && offset < statement.end));
  if (indexes.some((index) => index < 0)) return { kind: 'manual', reason: 'the calls are not in top-level statements the fix can move' };
  const first = Math.min(...indexes);
  const last = Math.max(...indexes);
  const range = statements.slice(first, last + 1);
  const firstStatement = range[0] as ts.Statement;
  const lastStatement = range[range.length - 1] as ts.Statement;
  if (!hasTopLevelAwait(range)) {
    return { kind: 'manual', reason: 'the a-calls at the top level are not awaited there: wrap them in a newConnection block by hand' };
  }
  const semicolon = style.semicolons ? ';' : '';
  const start = firstStatement.getStart(sourceFile);
  const end = lastStatement.end;

  // `[export] const x = await <expr>;` on its own: the block goes around the awaited expression.
  if (range.length === 1 && ts.isVariableStatement(firstStatement) && firstStatement.declarationList.declarations.length === 1) {
    const initializer = firstStatement.declarationList.declarations[0]?.initializer;
    if (initializer && ts.isAwaitExpression(initializer)) {
      const called = callsProjectFunction([firstStatement], request.projectFunctionNames);
      if (called) return { kind: 'manual', reason: `the top-level statement calls \`${called}()\`, which would then run inside the block: wrap it by hand` };
      const operand = initializer.expression;
      const operandStart = operand.getStart(sourceFile);
      return {
        kind: 'edits',
        range: [start, end],
        edits: [
          { start: operandStart, end: operandStart, text: `${request.connection}(async () => ` },
          { start: operand.end, end: operand.end, text: ')' },
        ],
      };
    }
  }

  const blocked = range.find((statement) => ts.isImportDeclaration(statement) || ts.isImportEqualsDeclaration(statement) || ts.isExportDeclaration(statement) || ts.isExportAssignment(statement) || isExported(statement));
  if (blocked) {
    const { line } = sourceFile.getLineAndCharacterOfPosition(blocked.getStart(sourceFile));
    return { kind: 'manual', reason: `the top-level code to wrap (lines ${sourceFile.getLineAndCharacterOfPosition(start).line + 1}–${sourceFile.getLineAndCharacterOfPosition(end).line + 1}) exports or imports (line ${line + 1}): wrap it by hand` };
  }
  const used = namesUsedOutside(sourceFile, start, end);
  const escaping = range.flatMap(declaredNames).find((name) => used.has(name));
  if (escaping) {
    return { kind: 'manual', reason: `the top-level code to wrap declares \`${escaping}\`, which code outside it uses: wrap it by hand` };
  }
  const called = callsProjectFunction(range, request.projectFunctionNames);
  if (called) return { kind: 'manual', reason: `the top-level code to wrap calls \`${called}()\`, which would then run inside the block: wrap it by hand` };

  const lineStart = lineStartOf(sourceFile.text, start);
  const indent = sourceFile.text.slice(lineStart, start);
  return {
    kind: 'edits',
    range: [start, end],
    edits: [
      { start, end: start, text: `await ${request.connection}(async () => {${style.newline}${indent}${style.indentUnit}` },
      ...indentEdits(sourceFile.text, start, end, style.indentUnit, literalRanges(sourceFile, sourceFile).filter(([from, to]) => to > start && from < end)),
      { start: end, end, text: `${style.newline}${indent}})${semicolon}` },
    ],
  };
}
