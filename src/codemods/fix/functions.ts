/** Finding functions: scan's call-graph summaries by file and offset, and AST nodes at scan's offsets. */
import ts from '../typescript.cjs';
import type { ConnectionFunctionSummary, FunctionRef, ScanResult } from '../engine/types.js';
import { isFunctionWithBody } from '../engine/file-analysis.js';

/** The deepest node spanning exactly [start, end) that satisfies the test. */
export function nodeAt<T extends ts.Node>(sourceFile: ts.SourceFile, start: number, end: number, test: (node: ts.Node) => node is T): T | undefined {
  let found: T | undefined;
  const visit = (node: ts.Node): void => {
    if (node.pos > start || node.end < end) return;
    if (node.end === end && node.getStart(sourceFile) === start && test(node)) found = node;
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return found;
}

export function functionAt(sourceFile: ts.SourceFile, start: number): ts.Node | undefined {
  let found: ts.Node | undefined;
  const visit = (node: ts.Node): void => {
    if (found || node.end <= start || node.pos > start) return;
    if (isFunctionWithBody(node) && node.getStart(sourceFile) === start) {
      found = node;
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return found;
}

export class FunctionIndex {
  private readonly byId = new Map<string, ConnectionFunctionSummary>();
  private readonly byFile = new Map<string, ConnectionFunctionSummary[]>();
  private readonly rootsMemo = new Map<string, FunctionRef[]>();

  constructor(private readonly result: ScanResult) {
    for (const summary of result.connection.functions) {
      this.byId.set(summary.id, summary);
      const list = this.byFile.get(summary.file);
      if (list) list.push(summary);
      else this.byFile.set(summary.file, [summary]);
    }
  }

  get(id: string): ConnectionFunctionSummary | undefined {
    return this.byId.get(id);
  }

  all(): Iterable<ConnectionFunctionSummary> {
    return this.byId.values();
  }

  inFile(file: string): readonly ConnectionFunctionSummary[] {
    return this.byFile.get(file) ?? [];
  }

  /** The innermost function of the file whose span holds the offset (the module when none does). */
  enclosing(file: string, offset: number): ConnectionFunctionSummary | undefined {
    let best: ConnectionFunctionSummary | undefined;
    for (const summary of this.inFile(file)) {
      const contains = summary.kind === 'module' || (summary.start <= offset && offset < summary.end);
      if (contains && (!best || summary.start >= best.start)) best = summary;
    }
    return best;
  }

  rootsOf(id: string): FunctionRef[] {
    let roots = this.rootsMemo.get(id);
    if (!roots) {
      roots = this.result.connection.rootsOf(id);
      this.rootsMemo.set(id, roots);
    }
    return roots;
  }
}

/** "from `migrated` (src/app.ts:14)", "from the callback at src/app.ts:15": where a root is also called inside a block. */
export function insideCallerText(caller: FunctionRef, file: string): string {
  if (caller.kind === 'module') return `from the top-level code of ${file}`;
  if (caller.kind === 'named' && caller.name) return `from \`${caller.name}\` (${file}:${caller.line})`;
  return `from the callback at ${file}:${caller.line}`;
}

/** "`detail` (src/views.ts:4), `list` (src/views.ts:9) and 2 more": the other roots that reach a root. */
export function rootListText(roots: readonly FunctionRef[], display: (file: string) => string): string {
  const named = roots.slice(0, 3).map((root) => `${root.name ? `\`${root.name}\`` : 'a function'} (${display(root.file)}:${root.line})`);
  return named.join(', ') + (roots.length > 3 ? ` and ${roots.length - 3} more` : '');
}
