/**
 * Async work a function starts without waiting for it: a call whose promise is dropped, or an
 * async callback handed to forEach. Inside a newConnection block such work could still be
 * running when the block closes its connection, so a root that starts any stays manual.
 */
import ts from '../typescript.cjs';

export interface FloatingWork {
  kind: 'call' | 'forEach';
  /** The called name (`helper` for `helper()` or `this.helper()`); the callback's start for forEach. */
  name: string;
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

/** Statements (in the body and in callbacks written in it) that drop the promise of a call. */
export function floatingWork(body: ts.Node, sourceFile: ts.SourceFile): FloatingWork[] {
  const found: FloatingWork[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isExpressionStatement(node)) {
      let expression = stripped(node.expression);
      // `helper().then(…)` drops the chain's promise just the same.
      while (ts.isCallExpression(expression) && ts.isPropertyAccessExpression(expression.expression) && ['then', 'catch', 'finally'].includes(expression.expression.name.text) && ts.isCallExpression(stripped(expression.expression.expression))) {
        expression = stripped(expression.expression.expression);
      }
      if (ts.isCallExpression(expression)) {
        const name = calleeName(expression.expression);
        const start = expression.getStart(sourceFile);
        if (name === 'forEach') {
          for (const argument of expression.arguments) {
            const callback = stripped(argument);
            const isAsync = (ts.isArrowFunction(callback) || ts.isFunctionExpression(callback)) && ts.getModifiers(callback)?.some((modifier) => modifier.kind === ts.SyntaxKind.AsyncKeyword);
            if (isAsync) found.push({ kind: 'forEach', name, callbackStart: callback.getStart(sourceFile), start });
          }
        } else if (name !== undefined) {
          found.push({ kind: 'call', name, callbackStart: -1, start });
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(body);
  return found;
}
