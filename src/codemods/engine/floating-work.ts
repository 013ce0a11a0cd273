/**
 * Async work one statement starts without waiting for it: a call whose promise is dropped, or
 * an async callback handed to forEach. The scan's walk records these per function (so `fix` can
 * tell, without parsing again, whether a root's work could outlive a block), and fix/floating.ts
 * collects them over a body.
 */
import ts from '../typescript.cjs';

export interface FloatingWorkItem {
  kind: 'call' | 'forEach';
  /** The called name (`helper` for `helper()` or `this.helper()`); `forEach` for forEach. */
  name: string;
  /** forEach: the async callback's start; -1 for calls. */
  callbackStart: number;
  /** Offset of the call, for messages. */
  start: number;
}

function stripped(expression: ts.Expression): ts.Expression {
  let current = expression;
  for (;;) {
    if (ts.isParenthesizedExpression(current)) current = current.expression;
    else if (ts.isVoidExpression(current)) current = current.expression;
    else return current;
  }
}

function calleeName(callee: ts.Expression): string | undefined {
  if (ts.isIdentifier(callee)) return callee.text;
  if (ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.name)) return callee.name.text;
  return undefined;
}

const PROMISE_CHAIN = new Set(['then', 'catch', 'finally']);

/** What this expression statement leaves floating, pushed onto `found` (nothing for most statements). */
export function floatingWorkOfStatement(statement: ts.ExpressionStatement, sourceFile: ts.SourceFile, found: FloatingWorkItem[]): void {
  let expression = stripped(statement.expression);
  // `helper().then(…)` drops the chain's promise just the same.
  while (ts.isCallExpression(expression) && ts.isPropertyAccessExpression(expression.expression) && PROMISE_CHAIN.has(expression.expression.name.text) && ts.isCallExpression(stripped(expression.expression.expression))) {
    expression = stripped(expression.expression.expression);
  }
  if (!ts.isCallExpression(expression)) return;
  const name = calleeName(expression.expression);
  if (name === undefined) return;
  const start = expression.getStart(sourceFile);
  if (name !== 'forEach') {
    found.push({ kind: 'call', name, callbackStart: -1, start });
    return;
  }
  for (const argument of expression.arguments) {
    const callback = stripped(argument);
    const isAsync = (ts.isArrowFunction(callback) || ts.isFunctionExpression(callback)) && ts.getModifiers(callback)?.some((modifier) => modifier.kind === ts.SyntaxKind.AsyncKeyword);
    if (isAsync) found.push({ kind: 'forEach', name, callbackStart: callback.getStart(sourceFile), start });
  }
}
