/**
 * Type-aware mode asks the checker everything it needs about a chunk of files while that
 * chunk's program is alive, records the answers in the facts and drops the AST references,
 * so the program can be freed before the next chunk is built.
 */
import type { Evidence, FileFacts, ReferenceFact } from './facts.js';
import { isProjectModule } from './origin-resolver.js';
import type { TypeOracle } from './type-oracle.js';

function settleEvidence(evidence: Evidence, oracle: TypeOracle): void {
  if (!evidence.node) return;
  evidence.verdict = oracle.verdict(evidence);
  delete evidence.node;
  delete evidence.shape;
  // A definite answer makes the syntactic fallback moot (a foreign key's origins still name its related model for the message).
  if (evidence.verdict !== 'unknown' && evidence.foreignKey === undefined) evidence.origins = [];
}

/** Names the file alone cannot place (a member of a typed value, a path-aliased import) go to the checker. */
function needsChecker(reference: ReferenceFact): boolean {
  const target = reference.target;
  if (target.kind === 'none') return true;
  return (target.kind === 'import' || target.kind === 'import-member') && !isProjectModule(target.module);
}

function settleReference(reference: ReferenceFact, oracle: TypeOracle): void {
  const node = reference.node;
  if (!node) return;
  delete reference.node;
  if (reference.entryEvidence) settleEvidence(reference.entryEvidence, oracle);
  if (!needsChecker(reference)) return;
  const functions = oracle.functionsReferencedBy(node);
  if (functions && functions.length > 0) {
    reference.typeTargets = functions.map((fn) => `${fn.getSourceFile().fileName}#${fn.getStart()}`);
  }
}

/** Drops every AST reference unanswered: the syntactic origins decide instead. */
function abandonTypeFacts(facts: FileFacts): void {
  const forget = (evidence: Evidence): void => {
    delete evidence.node;
    delete evidence.shape;
  };
  for (const fn of facts.functions) if (fn.role) forget(fn.role.evidence);
  for (const reference of facts.references) {
    delete reference.node;
    if (reference.entryEvidence) forget(reference.entryEvidence);
  }
  for (const candidate of facts.candidates) for (const condition of candidate.conditions) if (condition.kind === 'orm') forget(condition.evidence);
}

/**
 * Settles a file's facts with the checker; false (facts left to the syntactic answers) when the
 * checker overflows the stack on a pathologically deep expression.
 */
export function settleTypeFacts(facts: FileFacts, oracle: TypeOracle): boolean {
  try {
    settle(facts, oracle);
    return true;
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    abandonTypeFacts(facts);
    return false;
  }
}

function settle(facts: FileFacts, oracle: TypeOracle): void {
  for (const fn of facts.functions) if (fn.role) settleEvidence(fn.role.evidence, oracle);
  for (const reference of facts.references) settleReference(reference, oracle);
  for (const candidate of facts.candidates) {
    for (const condition of candidate.conditions) if (condition.kind === 'orm') settleEvidence(condition.evidence, oracle);
  }
  // Candidates the checker ruled out (`map.get()`, a decoy's `aget()`) can never become findings.
  facts.candidates = facts.candidates.filter((candidate) =>
    candidate.conditions.every((condition) => condition.kind !== 'orm' || condition.evidence.verdict !== 'no'),
  );
}
