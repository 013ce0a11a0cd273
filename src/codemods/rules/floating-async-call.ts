import ts from '../typescript.cjs';

import { defineRule } from '../engine/rule-api.js';
import { calleeText } from './support.js';

// ts.X is a getter on TypeScript's module object: read the enum once, not in every switch case.
const { SyntaxKind } = ts;

function isTransparentWrapper(node: ts.Node): boolean {
  return (
    ts.isParenthesizedExpression(node) ||
    ts.isAsExpression(node) ||
    ts.isNonNullExpression(node) ||
    ts.isSatisfiesExpression(node) ||
    ts.isTypeAssertionExpression(node)
  );
}

/** Is the value of `expression` dropped on the floor (an expression statement, a comma's left side)? */
function isDiscarded(expression: ts.Expression): boolean {
  let node: ts.Node = expression;
  for (;;) {
    const parent = node.parent;
    if (!parent) return false;
    if (isTransparentWrapper(parent)) {
      node = parent;
      continue;
    }
    if (ts.isConditionalExpression(parent) && parent.condition !== node) {
      node = parent;
      continue;
    }
    if (ts.isBinaryExpression(parent)) {
      const operator = parent.operatorToken.kind;
      if (operator === SyntaxKind.CommaToken) {
        if (parent.left === node) return true;
        node = parent;
        continue;
      }
      const logical = operator === SyntaxKind.AmpersandAmpersandToken || operator === SyntaxKind.BarBarToken || operator === SyntaxKind.QuestionQuestionToken;
      if (logical && parent.right === node) {
        node = parent;
        continue;
      }
      return false;
    }
    // `p.then(onFulfilled)` / `p.finally(…)` hand the rejection on to a new promise: follow that one.
    if (ts.isPropertyAccessExpression(parent) && parent.expression === node && ts.isCallExpression(parent.parent) && parent.parent.expression === parent) {
      const method = parent.name.text;
      const call = parent.parent;
      if (method === 'catch' || (method === 'then' && call.arguments.length >= 2)) return false;
      if (method === 'then' || method === 'finally') {
        node = call;
        continue;
      }
      return false;
    }
    return ts.isExpressionStatement(parent);
  }
}

/** An ORM a-method whose promise is neither awaited, returned nor handed on. */
export const floatingAsyncCall = defineRule({
  meta: {
    id: 'floating-async-call',
    description: 'An async ORM call whose promise is neither awaited, returned nor handed on.',
    fixable: false,
    defaultSeverity: 'error',
    help:
      'A floating promise of an async ORM call loses its errors (an unhandled rejection), and the query may run ' +
      'after the surrounding connection block has closed its connection. Await it, return it, or hand it to ' +
      'something that awaits it (Promise.all); write `void call()` if dropping it is really intended.',
    messages: {
      floating: 'The promise of `{{callee}}()` is neither awaited, returned nor handed on: add `await`',
    },
  },
  nodeKinds: [SyntaxKind.CallExpression],
  check(node, context) {
    const match = context.ormCall(node as ts.CallExpression);
    if (!match || match.flavor !== 'async') return;
    if (!isDiscarded(match.call)) return;
    context.report({
      node,
      messageId: 'floating',
      data: { callee: calleeText(match, context), method: match.name },
      when: [context.when.isOrm(match.evidence)],
    });
  },
});
