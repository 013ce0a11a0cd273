import ts from '../typescript.cjs';

import { defineRule } from '../engine/rule-api.js';
import { calleeText } from './support.js';
import { unwrapExpression } from '../engine/syntactic-scope.js';

// ts.X is a getter on TypeScript's module object: read the enum once, not in every switch case.
const { SyntaxKind } = ts;

/** An ORM a-method (or `for await` over a QuerySet) that runs outside every connection block. */
export const asyncOutsideConnection = defineRule({
  meta: {
    id: 'async-outside-connection',
    description: 'An async ORM call that does not run inside a connection block.',
    fixable: true,
    defaultSeverity: 'warning',
    help:
      'Async ORM methods (aget, aexists, asave, for await over a QuerySet, aatomic …) need an async connection. ' +
      'Outside a newConnection() block the runtime emits a PendingDeprecationWarning (ORM_ASYNC_NO_CONNECTION) ' +
      'and runs the sync method on a worker thread instead — a deprecated fallback that a later release removes. ' +
      'Wrap the outermost async function that reaches this call in `await newConnection(async () => { … })` ' +
      '(the finding lists it as the root of the call chain); `npx orm-migrate fix` does this for you.',
    messages: {
      call: '`{{callee}}()` runs outside any {{connection}}() block: it warns and falls back to a worker thread',
      // The mikro-orm preset (presets/mikro-orm.ts).
      contextCall:
        '`{{callee}}()` runs outside any {{context}} when reached from {{roots}}: MikroORM throws "Using global EntityManager instance methods for context specific actions is disallowed" (or, with allowGlobalContext, shares one identity map between callers)',
      iteration: '`for await` over an ORM QuerySet runs outside any {{connection}}() block: it warns and falls back to a worker thread',
    },
  },
  nodeKinds: [SyntaxKind.CallExpression, SyntaxKind.ForOfStatement],
  check(node, context) {
    if (context.preset.context) {
      // A preset with a context model: its context-needing calls, nothing else.
      if (!ts.isCallExpression(node)) return;
      const match = context.contextCall(node);
      if (!match) return;
      context.report({
        node,
        messageId: 'contextCall',
        data: { callee: context.excerpt(unwrapExpression(node.expression), 60), method: match.name, context: context.preset.wording.context },
        when: [context.when.outsideConnection(match.receiverParameter), context.when.isOrm(match.evidence)],
      });
      return;
    }
    if (ts.isForOfStatement(node)) {
      if (!node.awaitModifier) return;
      const iteration = context.ormIteration(node);
      if (!iteration) return;
      context.report({
        node: node.expression,
        messageId: 'iteration',
        data: { connection: context.connectionName },
        when: [context.when.outsideConnection(), context.when.isOrm(iteration.evidence)],
      });
      return;
    }
    const match = context.ormCall(node as ts.CallExpression);
    if (!match || match.flavor !== 'async') return;
    context.report({
      node,
      messageId: 'call',
      data: { callee: calleeText(match, context), method: match.name, twin: match.twin, connection: context.connectionName },
      when: [context.when.outsideConnection(), context.when.isOrm(match.evidence)],
    });
  },
});
