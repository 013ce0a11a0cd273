import ts from '../typescript.cjs';

import { defineRule } from '../engine/rule-api.js';
import { calleeText, twinCallText } from './support.js';

// ts.X is a getter on TypeScript's module object: read the enum once, not in every switch case.
const { SyntaxKind } = ts;

/** A sync ORM method inside a connection block: SynchronousOnlyOperation at run time. */
export const syncInAsyncContext = defineRule({
  meta: {
    id: 'sync-in-async-context',
    description: 'A sync ORM call inside a connection block, or in a function that only runs inside one.',
    fixable: true,
    defaultSeverity: 'error',
    help:
      'Inside a newConnection() block the connection is async-only: a sync ORM method (get, count, save, atomic, ' +
      'a plain for…of over a QuerySet …) throws SynchronousOnlyOperation at run time. Call the async twin with ' +
      '`await` instead (count → acount, save → asave, atomic → aatomic), or move the sync code out of the block. ' +
      'Setting ORM_ALLOW_ASYNC_UNSAFE hides the error but not the problem.',
    messages: {
      call: '`{{callee}}()` is a sync ORM call inside a {{connection}}() block: it throws SynchronousOnlyOperation; use `await {{replacement}}`',
      iteration: 'A sync for…of over an ORM QuerySet inside a {{connection}}() block throws SynchronousOnlyOperation; use `for await`',
    },
  },
  nodeKinds: [SyntaxKind.CallExpression, SyntaxKind.ForOfStatement],
  check(node, context) {
    if (ts.isForOfStatement(node)) {
      if (node.awaitModifier) return;
      const iteration = context.ormIteration(node);
      if (!iteration) return;
      context.report({
        node: node.expression,
        messageId: 'iteration',
        data: { connection: context.connectionName },
        when: [context.when.insideConnection(), context.when.isOrm(iteration.evidence)],
      });
      return;
    }
    const match = context.ormCall(node as ts.CallExpression);
    if (!match || match.flavor !== 'sync') return;
    context.report({
      node,
      messageId: 'call',
      data: {
        callee: calleeText(match, context),
        method: match.name,
        twin: match.twin,
        replacement: twinCallText(match, context),
        connection: context.connectionName,
      },
      when: [context.when.insideConnection(), context.when.isOrm(match.evidence)],
    });
  },
});
