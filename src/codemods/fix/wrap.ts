/**
 * Wrapping a call chain's root: its body moves, unchanged but one level deeper, into
 * `return newConnection(async () => { … })`. An arrow callback keeps `this`, `super` and
 * `new.target`; a `return` inside returns from the callback, which newConnection passes on.
 */
import ts from '../typescript.cjs';
import { isFunctionWithBody } from '../engine/file-analysis.js';
import type { SourceStyle } from './style.js';
import type { TextEdit } from './text.js';
import { indentEdits, indentationAt, isFirstOnLine, lineStartOf } from './text.js';

const { SyntaxKind } = ts;

export type WrappableFunction = ts.FunctionDeclaration | ts.FunctionExpression | ts.ArrowFunction | ts.MethodDeclaration;

export function isAsyncFunction(node: ts.Node): boolean {
  return (ts.canHaveModifiers(node) && ts.getModifiers(node)?.some((modifier) => modifier.kind === SyntaxKind.AsyncKeyword)) ?? false;
}

/** Does the body read `arguments` of this function (nested arrows see the same object; other functions have their own)? */
function usesArguments(fn: ts.FunctionLikeDeclaration): ts.Node | undefined {
  let found: ts.Node | undefined;
  const visit = (node: ts.Node): void => {
    if (found) return;
    if (node !== fn && isFunctionWithBody(node) && !ts.isArrowFunction(node)) return;
    if (ts.isClassLike(node)) return;
    if (ts.isIdentifier(node) && node.text === 'arguments') {
      const parent = node.parent;
      if (!(ts.isPropertyAccessExpression(parent) && parent.name === node) && !(ts.isPropertyAssignment(parent) && parent.name === node)) {
        found = node;
        return;
      }
    }
    ts.forEachChild(node, visit);
  };
  if (fn.body) visit(fn.body);
  return found;
}

/** What decides whether a function's body can be wrapped (the scan's walk records it: engine/facts.ts WrapFacts). */
export interface WrapShape {
  async: boolean;
  /** A constructor or an accessor. */
  accessor?: boolean;
  generator?: boolean;
  /** Handed directly as an argument to a call or `new`. */
  argument?: boolean;
  /** 1-based line of the first `arguments` the body reads. */
  argumentsLine?: number;
}

/** Why the fix cannot wrap a function of this shape, or undefined when it can. */
export function wrapProblem(shape: WrapShape): string | undefined {
  if (shape.accessor) return 'it is a constructor or accessor, which cannot be async: move the ORM calls into an async method';
  if (shape.generator) {
    return shape.async
      ? 'it is an async generator: a connection block cannot stay open across its yields; wrap the code that consumes it instead'
      : 'it is a generator: wrap the code that consumes it instead';
  }
  if (!shape.async) {
    // A callback handed to a call is a root because that call runs it later: its callers cannot hold a block for it.
    return shape.argument
      ? 'it is a callback that runs later (its caller does not wait for it) and is not async, so wrapping its body would change what it returns; make it async, then run fix again'
      : 'it is not async, so wrapping its body would change what it returns; make it async (or wrap its callers), then run fix again';
  }
  if (shape.argumentsLine !== undefined) return `its body uses \`arguments\` (line ${shape.argumentsLine}): replace it with rest parameters, then run fix again`;
  return undefined;
}

/** Why the fix cannot wrap this function's body, or undefined when it can (from its tree; the plan reads the scan's WrapFacts). */
export function unwrappableReason(node: ts.Node, sourceFile: ts.SourceFile): string | undefined {
  if (!isFunctionWithBody(node)) return 'it is not a function with a body';
  const async = isAsyncFunction(node);
  const holder = node.parent && (ts.isCallExpression(node.parent) || ts.isNewExpression(node.parent)) && node.parent.arguments?.includes(node as ts.Expression);
  const shape: WrapShape = {
    async,
    accessor: ts.isConstructorDeclaration(node) || ts.isGetAccessorDeclaration(node) || ts.isSetAccessorDeclaration(node),
    generator: node.asteriskToken !== undefined,
    argument: holder === true,
  };
  const problem = wrapProblem(shape);
  if (problem) return problem;
  const argumentsUse = usesArguments(node);
  if (!argumentsUse) return undefined;
  const { line } = sourceFile.getLineAndCharacterOfPosition(argumentsUse.getStart(sourceFile));
  return wrapProblem({ ...shape, argumentsLine: line + 1 });
}

/** Template literals and strings with line continuations: re-indenting their lines would change their value. */
export function literalRanges(node: ts.Node, sourceFile: ts.SourceFile): [number, number][] {
  const ranges: [number, number][] = [];
  const text = sourceFile.text;
  const visit = (child: ts.Node): void => {
    switch (child.kind) {
      case SyntaxKind.NoSubstitutionTemplateLiteral:
      case SyntaxKind.TemplateExpression:
      case SyntaxKind.StringLiteral: {
        const start = child.getStart(sourceFile);
        if (text.slice(start, child.end).includes('\n')) ranges.push([start, child.end]);
        return;
      }
      default:
        ts.forEachChild(child, visit);
    }
  };
  visit(node);
  return ranges;
}

/**
 * The edits that move a function's body into a `newConnection(async () => …)` callback.
 * `outerIndent`: the indentation that wraps around this function add to its lines (a callback
 * that is its own root inside a function the fix also wraps).
 */
export function wrapFunctionEdits(fn: ts.FunctionLikeDeclaration & { body: ts.ConciseBody }, sourceFile: ts.SourceFile, style: SourceStyle, connection: string, outerIndent = ''): TextEdit[] {
  const text = sourceFile.text;
  const semicolon = style.semicolons ? ';' : '';
  const body = fn.body;
  if (!ts.isBlock(body)) {
    // `async (id) => expr` → `async (id) => newConnection(async () => expr)`
    const start = body.getStart(sourceFile);
    return [
      { start, end: start, text: `${connection}(async () => ` },
      { start: body.end, end: body.end, text: ')' },
    ];
  }
  const open = body.getStart(sourceFile);
  const close = body.end - 1;
  if (!text.slice(open, close).includes('\n')) {
    return [
      { start: open + 1, end: open + 1, text: ` return ${connection}(async () => {` },
      { start: close, end: close, text: `})${semicolon} ` },
    ];
  }
  const first = body.statements[0];
  const closeIndent = indentationAt(text, lineStartOf(text, close));
  const innerIndent = outerIndent + (first && isFirstOnLine(text, first.getStart(sourceFile)) ? indentationAt(text, lineStartOf(text, first.getStart(sourceFile))) : closeIndent + style.indentUnit);
  const header = { start: open + 1, end: open + 1, text: `${style.newline}${innerIndent}return ${connection}(async () => {` };
  if (isFirstOnLine(text, close)) {
    const closeLine = lineStartOf(text, close);
    return [
      header,
      ...indentEdits(text, open, closeLine, style.indentUnit, literalRanges(body, sourceFile)),
      { start: closeLine, end: closeLine, text: `${innerIndent}})${semicolon}${style.newline}`, line: true },
    ];
  }
  // The closing brace shares a line with code: indent the lines in between, close on that line.
  return [
    header,
    ...indentEdits(text, open, close, style.indentUnit, literalRanges(body, sourceFile)),
    { start: close, end: close, text: `})${semicolon} ` },
  ];
}
