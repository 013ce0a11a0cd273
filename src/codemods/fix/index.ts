/** `orm-migrate fix` as a library: plan the rewrites (nothing written), diff them, write them. */
export { planFix, rewrittenFindings } from './plan.js';
export { FIXABLE_RULE_IDS, isFixableRuleId } from './types.js';
export type { FixFailure, FixOptions, FixPlan, FixableRuleId, FixedFile, ManualItem } from './types.js';
export { unifiedDiff } from './diff.js';
export { ConcurrentChangeError, uncommittedChanges, writeFileAtomically } from './write.js';
export type { DirtyFile, GitCheck } from './write.js';
