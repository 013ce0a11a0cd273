import ts from '../typescript.cjs';

import { defineRule } from '../engine/rule-api.js';
import type { RuleContext } from '../engine/rule-api.js';
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
      'a plain for…of over a QuerySet, `[...qs]`, `Array.from(qs)`, `const [first] = qs` …, and a foreign key read lazily, ' +
      '`choice.question`) throws SynchronousOnlyOperation at run time. ' +
      'Call the async twin with `await` instead (count → acount, save → asave, atomic → aatomic; `for await` over a QuerySet, ' +
      'collecting its rows first where an array is needed), or move the sync code out of the block. ' +
      'Setting ORM_ALLOW_ASYNC_UNSAFE hides the error but not the problem.',
    messages: {
      call: '`{{callee}}()` is a sync ORM call inside a {{connection}}() block: it throws SynchronousOnlyOperation; use `await {{replacement}}`',
      iteration: 'A sync for…of over an ORM QuerySet inside a {{connection}}() block throws SynchronousOnlyOperation; use `for await`',
      iterable:
        '`{{form}}` iterates an ORM QuerySet synchronously inside a {{connection}}() block: it throws SynchronousOnlyOperation; ' +
        'collect the rows with `for await (const row of qs) rows.push(row)` first (Node 20 has no Array.fromAsync)',
      foreignKey:
        '`{{form}}` reads a foreign key lazily inside a {{connection}}() block: unless the related object is cached it runs a sync query, ' +
        'which throws SynchronousOnlyOperation; use `await {{model}}.objects.aget({ pk: {{form}}Id })`',
    },
  },
  nodeKinds: [
    SyntaxKind.CallExpression,
    SyntaxKind.ForOfStatement,
    SyntaxKind.SpreadElement,
    SyntaxKind.NewExpression,
    SyntaxKind.VariableDeclaration,
    SyntaxKind.BinaryExpression,
    SyntaxKind.YieldExpression,
    SyntaxKind.PropertyAccessExpression,
  ],
  check(node, context) {
    if (node.kind === SyntaxKind.PropertyAccessExpression) {
      const read = context.foreignKeyRead(node as ts.PropertyAccessExpression);
      if (!read) return;
      context.report({
        node,
        messageId: 'foreignKey',
        data: { form: context.excerpt(node, 50), field: read.field, connection: context.connectionName },
        when: [context.when.insideConnection(), context.when.isOrm(read.evidence)],
      });
      return;
    }
    if (node.kind !== SyntaxKind.CallExpression && node.kind !== SyntaxKind.ForOfStatement) {
      reportIterable(node, context);
      return;
    }
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
    if (!match) {
      reportIterable(node, context);
      return;
    }
    if (match.flavor !== 'sync') return;
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

/** `[...qs]`, `Array.from(qs)`, `const [a] = qs` …: a sync iteration of a QuerySet other than for…of. */
function reportIterable(node: ts.Node, context: RuleContext<'call' | 'iteration' | 'iterable' | 'foreignKey'>): void {
  const iterable = context.ormIterable(node);
  if (!iterable) return;
  context.report({
    node,
    messageId: 'iterable',
    data: { form: context.excerpt(node.kind === SyntaxKind.SpreadElement ? node.parent : node, 50), connection: context.connectionName },
    when: [context.when.insideConnection(), context.when.isOrm(iterable.evidence)],
  });
}
