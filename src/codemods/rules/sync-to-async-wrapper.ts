import ts from '../typescript.cjs';

import type { OrmCallMatch, RuleContext } from '../engine/rule-api.js';
import { defineRule } from '../engine/rule-api.js';
import { unwrapExpression } from '../engine/syntactic-scope.js';
import { calleeText, twinCallText } from './support.js';

// ts.X is a getter on TypeScript's module object: read the enum once, not in every switch case.
const { SyntaxKind } = ts;

/** The sync ORM calls a wrapped callback makes (not looking into nested functions). */
function syncOrmCallsIn(fn: ts.ArrowFunction | ts.FunctionExpression, context: RuleContext<string>): OrmCallMatch[] {
  const found: OrmCallMatch[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const match = context.ormCall(node);
      if (match?.flavor === 'sync') found.push(match);
    }
    if (!ts.isFunctionLike(node)) ts.forEachChild(node, visit);
  };
  ts.forEachChild(fn.body, visit);
  if (ts.isCallExpression(fn.body)) {
    const match = context.ormCall(fn.body);
    if (match?.flavor === 'sync') found.unshift(match);
  }
  return found;
}

/** The single call a callback consists of: `() => qs.get(x)` or `() => { return qs.get(x); }`. */
function soleCall(fn: ts.ArrowFunction | ts.FunctionExpression): ts.CallExpression | undefined {
  const body = fn.body;
  if (!ts.isBlock(body)) {
    const expression = unwrapExpression(body);
    return ts.isCallExpression(expression) ? expression : undefined;
  }
  const only = body.statements.length === 1 ? body.statements[0] : undefined;
  if (only && ts.isReturnStatement(only) && only.expression) {
    const expression = unwrapExpression(only.expression);
    return ts.isCallExpression(expression) ? expression : undefined;
  }
  return undefined;
}

/** Legacy `syncToAsync(() => qs.get(x))()`: a sync ORM call pushed to a thread instead of its async twin. */
export const syncToAsyncWrapper = defineRule({
  meta: {
    id: 'sync-to-async-wrapper',
    description: 'A legacy syncToAsync() wrapper around a sync ORM call that has an async twin.',
    fixable: true,
    defaultSeverity: 'warning',
    help:
      'syncToAsync(() => qs.get(x))() runs the sync ORM method on a worker thread: a hop that costs far more than ' +
      'the query, and a connection outside the surrounding block. The ORM has native async twins: write ' +
      '`await qs.aget(x)` (inside a newConnection() block) instead. `npx orm-migrate fix` rewrites the simple cases.',
    messages: {
      replace: '`syncToAsync(…)` wraps `{{callee}}()`: write `await {{replacement}}` instead',
      wrapper: '`syncToAsync(…)` pushes sync ORM calls (`{{callee}}()` …) to a thread: call their async twins with `await` instead',
      reference: '`syncToAsync({{wrapped}})` pushes a sync function to a thread: call the async ORM methods with `await` instead',
    },
  },
  nodeKinds: [SyntaxKind.CallExpression],
  appliesTo: (text, surface) => text.includes(surface.syncToAsyncName),
  check(node, context) {
    const wrapper = context.syncToAsyncCall(node as ts.CallExpression);
    if (!wrapper) return;
    const argument = wrapper.call.arguments[0];
    if (!argument) return;
    const wrapped = unwrapExpression(argument);
    const isOrmWrapper = context.when.isOrm(wrapper.evidence);
    // `syncToAsync(fn)()`: the finding spans the invocation too, which is what a rewrite replaces.
    const parent = wrapper.call.parent;
    const invoked = ts.isCallExpression(parent) && parent.expression === wrapper.call;
    const reported = invoked ? parent : wrapper.call;
    if (ts.isArrowFunction(wrapped) || ts.isFunctionExpression(wrapped)) {
      const calls = syncOrmCallsIn(wrapped, context);
      const first = calls[0];
      if (!first) return;
      const sole = soleCall(wrapped);
      const data = { callee: calleeText(first, context), method: first.name, twin: first.twin };
      const simple = sole === first.call && wrapped.parameters.length === 0 && invoked;
      context.report({
        node: reported,
        messageId: simple ? 'replace' : 'wrapper',
        data: simple ? { ...data, replacement: twinCallText(first, context) } : data,
        when: [isOrmWrapper, context.when.isOrm(first.evidence)],
      });
      return;
    }
    if (ts.isIdentifier(wrapped) || ts.isPropertyAccessExpression(wrapped)) {
      context.report({ node: reported, messageId: 'reference', data: { wrapped: context.excerpt(wrapped, 40) }, when: [isOrmWrapper] });
    }
  },
});
