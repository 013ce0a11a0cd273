/** Message helpers shared by the rules (text only: no analysis, no file system). */
import ts from '../typescript.cjs';
import type { OrmCallMatch, RuleContext } from '../engine/rule-api.js';
import { unwrapExpression } from '../engine/syntactic-scope.js';

/** `Question.objects.aget` for `Question.objects.aget({ pk: 1 })`, shortened for a message. */
export function calleeText(match: OrmCallMatch, context: RuleContext<string>): string {
  return context.excerpt(unwrapExpression(match.call.expression), 60);
}

function argumentsText(call: ts.CallExpression, context: RuleContext<string>): string {
  if (call.arguments.length === 0) return '';
  const text = call.arguments.map((argument) => argument.getText(context.sourceFile)).join(', ').replace(/\s+/g, ' ');
  return text.length <= 40 ? text : '…';
}

/** The same call with the twin's name: `Question.objects.count()` → `Question.objects.acount()`. */
export function twinCallText(match: OrmCallMatch, context: RuleContext<string>): string {
  const callee = unwrapExpression(match.call.expression);
  const receiver = ts.isPropertyAccessExpression(callee) ? `${context.excerpt(callee.expression, 50)}${callee.questionDotToken ? '?.' : '.'}` : '';
  return `${receiver}${match.twin}(${argumentsText(match.call, context)})`;
}
