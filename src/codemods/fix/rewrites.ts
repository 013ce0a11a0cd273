/**
 * The in-place rewrites: a sync ORM call becomes `await` of its async twin, a sync `for…of` over
 * a QuerySet becomes `for await`, and a legacy `syncToAsync(() => qs.get(x))()` becomes
 * `qs.aget(x)` (or, where no block will hold it, `newConnection(() => qs.aget(x))`).
 */
import ts from '../typescript.cjs';
import type { ModuleRef } from './imports.js';
import type { TextEdit } from './text.js';
import { isAsyncFunction } from './wrap.js';
import { isFunctionWithBody } from '../engine/file-analysis.js';

const { SyntaxKind } = ts;

export type Planned = { kind: 'edits'; edits: TextEdit[] } | { kind: 'manual'; reason: string };

/** The innermost function (or the source file) a node runs in. */
export function enclosingFunction(node: ts.Node): ts.Node {
  for (let current = node.parent; current; current = current.parent) {
    if (isFunctionWithBody(current) || ts.isSourceFile(current)) return current;
    // Class field initializers and static blocks run in a function of their own.
    if (ts.isPropertyDeclaration(current) || ts.isClassStaticBlockDeclaration(current)) return current;
  }
  return node.getSourceFile();
}

/** Is `node` inside a parameter list of `fn` (where `await` is not allowed)? */
export function inParameters(node: ts.Node, fn: ts.Node): boolean {
  for (let current: ts.Node | undefined = node; current && current !== fn; current = current.parent) {
    if (ts.isParameter(current) && current.parent === fn) return true;
  }
  return false;
}

/** `await x` where x sits: parenthesised when the parent would otherwise bind tighter. */
function awaitEdits(expression: ts.Expression, sourceFile: ts.SourceFile): TextEdit[] {
  const parent = expression.parent;
  if (ts.isAwaitExpression(parent)) return [];
  const start = expression.getStart(sourceFile);
  const needsParentheses =
    ((ts.isPropertyAccessExpression(parent) || ts.isElementAccessExpression(parent)) && parent.expression === expression) ||
    ((ts.isCallExpression(parent) || ts.isNewExpression(parent)) && parent.expression === expression) ||
    (ts.isTaggedTemplateExpression(parent) && parent.tag === expression) ||
    ts.isNonNullExpression(parent) ||
    (ts.isBinaryExpression(parent) && parent.operatorToken.kind === SyntaxKind.AsteriskAsteriskToken && parent.left === expression);
  return needsParentheses
    ? [
        { start, end: start, text: '(await ' },
        { start: expression.end, end: expression.end, text: ')' },
      ]
    : [{ start, end: start, text: 'await ' }];
}

export interface AsyncContext {
  /** Can `await` be written directly in this function (async now, or made async by this fix)? */
  canAwaitIn(fn: ts.Node): boolean;
}

function awaitContextProblem(node: ts.Node, context: AsyncContext): string | undefined {
  const fn = enclosingFunction(node);
  if (ts.isSourceFile(fn)) return context.canAwaitIn(fn) ? undefined : 'it runs at the top level of a module outside a block';
  if (inParameters(node, fn)) return 'it is in a parameter default, where `await` is not allowed';
  if (!context.canAwaitIn(fn)) {
    const name = functionName(fn);
    return `it runs in a sync function${name ? ` (\`${name}\`)` : ''}, where it cannot be awaited: make that function async, then run fix again`;
  }
  return undefined;
}

export function functionName(fn: ts.Node): string | undefined {
  if ((ts.isFunctionDeclaration(fn) || ts.isFunctionExpression(fn) || ts.isMethodDeclaration(fn)) && fn.name && !ts.isComputedPropertyName(fn.name)) return fn.name.getText();
  const parent = fn.parent;
  if (parent && ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (parent && (ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) && !ts.isComputedPropertyName(parent.name)) return parent.name.getText();
  return undefined;
}

export interface SyncCallRewrite {
  edits: TextEdit[];
  /** An inline callback made async (atomic → aatomic): calls in it may now be awaited. */
  madeAsync?: ts.Node;
  /** The callee name this rewrite stopped using (`atomic`), for unused-import cleanup. */
  consumedLocal?: string;
  /** The twin a function-shaped call needs bound in the file (`aatomic`). */
  needsBinding?: { module: ModuleRef; name: string };
}

/** How the file can call a function's async twin: the module `local` came from, and the twin's reference. */
export type FunctionTwinLookup = (local: string, twin: string) => { reference: string; module: ModuleRef } | undefined;

/** `qs.count()` → `await qs.acount()`; `atomic(() => …)` → `await aatomic(async () => …)`. */
export function rewriteSyncCall(call: ts.CallExpression, twin: string, sourceFile: ts.SourceFile, context: AsyncContext, functionTwin: FunctionTwinLookup): SyncCallRewrite | { manual: string } {
  const problem = awaitContextProblem(call, context);
  if (problem) return { manual: problem };
  const callee = call.expression;
  if (ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.name)) {
    return { edits: [{ start: callee.name.getStart(sourceFile), end: callee.name.end, text: twin }, ...awaitEdits(call, sourceFile)] };
  }
  if (ts.isIdentifier(callee)) {
    const callback = call.arguments[0];
    const inline = callback && (ts.isArrowFunction(callback) || ts.isFunctionExpression(callback)) ? callback : undefined;
    if (!inline) return { manual: `its callback is not written in place, so the fix cannot make it async: call ${twin}() with an async callback by hand` };
    const found = functionTwin(callee.text, twin);
    if (found === undefined) return { manual: `\`${callee.text}\` is not imported by name from the ORM module, so the fix cannot import ${twin}() next to it` };
    const edits: TextEdit[] = [{ start: callee.getStart(sourceFile), end: callee.end, text: found.reference }, ...awaitEdits(call, sourceFile)];
    if (!isAsyncFunction(inline)) {
      const at = inline.getStart(sourceFile);
      edits.push({ start: at, end: at, text: 'async ' });
    }
    return { edits, madeAsync: inline, consumedLocal: callee.text, needsBinding: { module: found.module, name: twin } };
  }
  return { manual: 'the call has a shape the fix does not rewrite (a computed or wrapped callee)' };
}

/** `for (const q of qs)` → `for await (const q of qs)`. */
export function rewriteSyncIteration(statement: ts.ForOfStatement, sourceFile: ts.SourceFile, context: AsyncContext): Planned {
  const problem = awaitContextProblem(statement, context);
  if (problem) return { kind: 'manual', reason: problem };
  const at = statement.getStart(sourceFile) + 'for'.length;
  return { kind: 'edits', edits: [{ start: at, end: at, text: ' await' }] };
}

function onlyParentheses(expression: ts.Expression): ts.Expression {
  let current = expression;
  while (ts.isParenthesizedExpression(current)) current = current.expression;
  return current;
}

function usesThis(node: ts.Node): boolean {
  let found = false;
  const visit = (child: ts.Node): void => {
    if (found) return;
    if (child.kind === SyntaxKind.ThisKeyword || (ts.isIdentifier(child) && child.text === 'arguments')) {
      found = true;
      return;
    }
    if (child !== node && isFunctionWithBody(child) && !ts.isArrowFunction(child)) return;
    ts.forEachChild(child, visit);
  };
  visit(node);
  return found;
}

export interface WrapperRewrite {
  edits: TextEdit[];
  /** The local name of the wrapper function this rewrite stopped using. */
  consumedLocal?: string;
}

/**
 * `syncToAsync(() => qs.get(x))()`: `plain` → `qs.aget(x)`; `block` →
 * `newConnection(() => qs.aget(x))`, a fresh connection of its own like the thread had.
 */
export function rewriteWrapper(outer: ts.CallExpression, twin: string, sourceFile: ts.SourceFile, mode: 'plain' | 'block', connection: string): WrapperRewrite | { manual: string } {
  const wrapperCall = onlyParentheses(outer.expression);
  if (!ts.isCallExpression(wrapperCall) || outer.arguments.length > 0) return { manual: 'the wrapper is not invoked in place with no arguments' };
  const callback = wrapperCall.arguments[0] ? onlyParentheses(wrapperCall.arguments[0]) : undefined;
  if (!callback || !(ts.isArrowFunction(callback) || ts.isFunctionExpression(callback)) || callback.parameters.length > 0 || isAsyncFunction(callback)) {
    return { manual: 'the wrapped callback is not a plain `() => call` the fix can unwrap' };
  }
  if (ts.isFunctionExpression(callback) && usesThis(callback.body)) return { manual: 'the wrapped function uses `this` or `arguments`, which would change meaning' };
  const body = callback.body;
  let inner: ts.Expression | undefined;
  if (ts.isBlock(body)) {
    const only = body.statements.length === 1 ? body.statements[0] : undefined;
    if (only && ts.isReturnStatement(only) && only.expression) inner = onlyParentheses(only.expression);
  } else {
    inner = onlyParentheses(body);
  }
  if (!inner || !ts.isCallExpression(inner) || !ts.isPropertyAccessExpression(inner.expression) || !ts.isIdentifier(inner.expression.name)) {
    return { manual: 'the wrapped callback is not a single ORM method call' };
  }
  const rename: TextEdit = { start: inner.expression.name.getStart(sourceFile), end: inner.expression.name.end, text: twin };
  const callee = wrapperCall.expression;
  const consumedLocal = ts.isIdentifier(callee) ? callee.text : undefined;
  if (mode === 'block') {
    // Keep the callback, call newConnection instead of the wrapper, drop the invocation `()`.
    return {
      consumedLocal,
      edits: [
        { start: callee.getStart(sourceFile), end: callee.end, text: connection },
        rename,
        { start: outer.expression.end, end: outer.end, text: '' },
      ],
    };
  }
  return {
    consumedLocal,
    edits: [
      { start: outer.getStart(sourceFile), end: inner.getStart(sourceFile), text: '' },
      rename,
      { start: inner.end, end: outer.end, text: '' },
    ],
  };
}
