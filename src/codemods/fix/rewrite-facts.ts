/**
 * What fix's rewrite of one sync call, sync loop or thread wrapper depends on, read off the tree
 * by the scan's walk when it reports the finding: then scan's fixable count plans these rewrites
 * (fix/plan.ts) without parsing the file again. The checks are fix's own (rewrites.ts); only
 * which of them pass is kept.
 */
import ts from '../typescript.cjs';
import type { RewriteFacts } from '../engine/facts.js';
import { isFunctionWithBody } from '../engine/file-analysis.js';
import { importOfLocal } from './imports.js';
import { enclosingFunction, inParameters, rewriteWrapper } from './rewrites.js';
import { isAsyncFunction } from './wrap.js';

/**
 * `node` is what the rule reported (a call, or a wrapper's invocation); `statement` the for…of
 * of an iteration finding (the walk has not linked the reported expression to it yet).
 */
export function rewriteFactsOf(ruleId: string, messageId: string, node: ts.Node, statement: ts.Node, sourceFile: ts.SourceFile): RewriteFacts | undefined {
  if (ruleId === 'sync-to-async-wrapper') {
    if (messageId !== 'replace' || !ts.isCallExpression(node)) return undefined;
    // Which checks fail does not depend on the mode or the connection's name, only the edits do.
    return { kind: 'wrapper', rewritable: !('manual' in rewriteWrapper(node, '', sourceFile, 'plain', '')) };
  }
  if (ruleId !== 'sync-in-async-context') return undefined;
  // Never rewritten (sync-sites.ts unrewritableReason): manual wherever it is.
  if (messageId === 'iterable' || messageId === 'foreignKey') return { kind: 'sync', awaitIn: 'never', awaitAsync: false, shape: 'manual' };
  const iteration = messageId === 'iteration';
  const at = iteration ? statement : node;
  if (iteration ? !ts.isForOfStatement(at) : !ts.isCallExpression(at)) return undefined;
  const fn = enclosingFunction(at);
  let awaitIn: number | 'module' | 'never';
  let awaitAsync = false;
  if (ts.isSourceFile(fn)) awaitIn = 'module';
  else if (!isFunctionWithBody(fn) || inParameters(at, fn)) awaitIn = 'never';
  else {
    awaitIn = fn.getStart(sourceFile);
    awaitAsync = isAsyncFunction(fn);
  }
  let shape: number | 'plain' | 'manual' = 'plain';
  if (!iteration) {
    const callee = (at as ts.CallExpression).expression;
    if (ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.name)) shape = 'plain';
    else if (ts.isIdentifier(callee)) {
      const callback = (at as ts.CallExpression).arguments[0];
      const inline = callback && (ts.isArrowFunction(callback) || ts.isFunctionExpression(callback)) ? callback : undefined;
      shape = inline && importOfLocal(sourceFile, callee.text) ? inline.getStart(sourceFile) : 'manual';
    } else shape = 'manual';
  }
  return { kind: 'sync', awaitIn, awaitAsync, shape };
}
