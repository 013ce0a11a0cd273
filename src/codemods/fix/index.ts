/** `orm-migrate fix` as a library: plan the rewrites (nothing written), diff them, write them. */
export { FIXABLE_RULE_IDS, isFixableRuleId, planFix } from './plan.js';
export type { FixFailure, FixOptions, FixPlan, FixableRuleId, FixedFile, ManualItem } from './plan.js';
export { unifiedDiff } from './diff.js';
export { ConcurrentChangeError, uncommittedChanges, writeFileAtomically } from './write.js';
export type { DirtyFile, GitCheck } from './write.js';
