import ts from '../typescript.cjs';

import { ALLOW_ASYNC_UNSAFE_ENV } from '../../runtime-shim/surface.js';
import { defineRule } from '../engine/rule-api.js';

// ts.X is a getter on TypeScript's module object: read the enum once, not in every switch case.
const { SyntaxKind } = ts;

/** Values that leave the check on: setting one of these is not a finding. */
const OFF_VALUES = new Set(['', '0', 'false', 'no']);

function isEnvName(node: ts.Node): boolean {
  if (ts.isIdentifier(node) || ts.isStringLiteralLike(node)) return node.text === ALLOW_ASYNC_UNSAFE_ENV;
  if (ts.isComputedPropertyName(node)) return isEnvName(node.expression);
  return false;
}

function setsOff(value: ts.Expression | undefined): boolean {
  if (!value) return false;
  if (ts.isStringLiteralLike(value)) return OFF_VALUES.has(value.text.trim().toLowerCase());
  if (ts.isNumericLiteral(value)) return value.text === '0';
  return value.kind === SyntaxKind.FalseKeyword || (ts.isIdentifier(value) && value.text === 'undefined');
}

function isAssignmentOperator(kind: ts.SyntaxKind): boolean {
  return kind >= SyntaxKind.FirstAssignment && kind <= SyntaxKind.LastAssignment;
}

/** Code that turns on ORM_ALLOW_ASYNC_UNSAFE (assignment, an env object, a stub/set call). */
export const allowAsyncUnsafe = defineRule({
  meta: {
    id: 'allow-async-unsafe',
    description: `Code that sets ${ALLOW_ASYNC_UNSAFE_ENV}.`,
    fixable: false,
    defaultSeverity: 'warning',
    help:
      `${ALLOW_ASYNC_UNSAFE_ENV}=1 turns off the SynchronousOnlyOperation check, so sync ORM calls inside a ` +
      'connection block run on the async connection from the event loop — blocking it and sharing the connection ' +
      'unsafely between tasks. Move the sync calls out of the block, or call their async twins, and drop the variable.',
    messages: {
      sets: `Sets ${ALLOW_ASYNC_UNSAFE_ENV}, which turns off the SynchronousOnlyOperation check: call the async twins instead`,
    },
  },
  nodeKinds: [SyntaxKind.BinaryExpression, SyntaxKind.PropertyAssignment, SyntaxKind.ShorthandPropertyAssignment, SyntaxKind.CallExpression],
  appliesTo: (text) => text.includes(ALLOW_ASYNC_UNSAFE_ENV),
  check(node, context) {
    if (ts.isBinaryExpression(node)) {
      if (!isAssignmentOperator(node.operatorToken.kind)) return;
      const left = node.left;
      const named =
        (ts.isPropertyAccessExpression(left) && isEnvName(left.name)) || (ts.isElementAccessExpression(left) && isEnvName(left.argumentExpression));
      if (named && !setsOff(node.right)) context.report({ node, messageId: 'sets' });
      return;
    }
    if (ts.isPropertyAssignment(node)) {
      if (isEnvName(node.name) && !setsOff(node.initializer)) context.report({ node, messageId: 'sets' });
      return;
    }
    if (ts.isShorthandPropertyAssignment(node)) {
      if (isEnvName(node.name)) context.report({ node, messageId: 'sets' });
      return;
    }
    // vi.stubEnv('ORM_ALLOW_ASYNC_UNSAFE', '1'), Reflect.set(process.env, 'ORM_ALLOW_ASYNC_UNSAFE', '1') …
    const call = node as ts.CallExpression;
    const index = call.arguments.findIndex((argument) => ts.isStringLiteralLike(argument) && isEnvName(argument));
    if (index === -1 || index === call.arguments.length - 1) return;
    if (!setsOff(call.arguments[index + 1])) context.report({ node, messageId: 'sets' });
  },
});
