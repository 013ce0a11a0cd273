/** Every rule the scan runs. Adding a rule: one file in this directory, one line here. */
import type { Rule } from '../engine/rule-api.js';
import type { RuleId } from '../engine/types.js';
import { allowAsyncUnsafe } from './allow-async-unsafe.js';
import { asyncOutsideConnection } from './async-outside-connection.js';
import { floatingAsyncCall } from './floating-async-call.js';
import { syncInAsyncContext } from './sync-in-async-context.js';
import { syncToAsyncWrapper } from './sync-to-async-wrapper.js';

export const RULES: readonly Rule[] = [asyncOutsideConnection, syncInAsyncContext, syncToAsyncWrapper, allowAsyncUnsafe, floatingAsyncCall];

export function ruleById(id: RuleId): Rule {
  const rule = RULES.find((candidate) => candidate.meta.id === id);
  if (!rule) throw new Error(`no rule ${id}`);
  return rule;
}

export { parseErrorMeta } from './parse-error.js';
export { allowAsyncUnsafe, asyncOutsideConnection, floatingAsyncCall, syncInAsyncContext, syncToAsyncWrapper };
