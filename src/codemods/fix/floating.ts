/**
 * Async work a function starts without waiting for it: a call whose promise is dropped, or an
 * async callback handed to forEach. Inside a newConnection block such work could still be
 * running when the block closes its connection, so a root that starts any stays manual.
 * (The scan's walk records the same per function: engine/floating-work.ts.)
 */
import ts from '../typescript.cjs';
import { floatingWorkOfStatement } from '../engine/floating-work.js';
import type { FloatingWorkItem } from '../engine/floating-work.js';

export type FloatingWork = FloatingWorkItem;

/** Statements (in the body and in callbacks written in it) that drop the promise of a call. */
export function floatingWork(body: ts.Node, sourceFile: ts.SourceFile): FloatingWork[] {
  const found: FloatingWork[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isExpressionStatement(node)) floatingWorkOfStatement(node, sourceFile, found);
    ts.forEachChild(node, visit);
  };
  visit(body);
  return found;
}
