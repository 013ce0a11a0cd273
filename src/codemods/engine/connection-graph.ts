/**
 * The interprocedural half of the scan: which functions run only inside a connection block, and
 * from which outermost functions a call outside every block is reached.
 *
 * A function is inside when it is a connection callback, or when it has at least one in-project
 * caller and every caller is itself inside (a greatest fixed point, so recursion among inside
 * functions stays inside). Inline function expressions have exactly one "caller": the function
 * they are written in. The module top level is never inside; an exported function nobody in the
 * project calls has no caller and so is not inside either.
 */
import type { ReferenceVia } from './facts.js';
import type { FunctionKind } from './types.js';

export interface GraphFunction {
  kind: FunctionKind;
  async: boolean;
}

export interface GraphEdge {
  /** The function the reference is written in. */
  owner: number;
  via: ReferenceVia;
}

export class ConnectionGraph {
  /** Incoming references per function. */
  private readonly incoming: GraphEdge[][];
  private inside: boolean[] = [];
  private readonly rootsMemo = new Map<number, number[]>();

  constructor(private readonly functions: readonly GraphFunction[]) {
    this.incoming = functions.map(() => []);
  }

  addEdge(target: number, edge: GraphEdge): void {
    this.incoming[target]?.push(edge);
  }

  private edgeIsInside(edge: GraphEdge): boolean {
    if (edge.via === 'connection-entry') return true;
    if (edge.via === 'thread-entry') return false;
    return this.inside[edge.owner] === true;
  }

  solve(): void {
    const count = this.functions.length;
    const dependents: number[][] = Array.from({ length: count }, () => []);
    this.inside = this.functions.map((fn, index) => {
      if (fn.kind === 'connection-callback') return true;
      if (fn.kind === 'module' || fn.kind === 'thread-callback') return false;
      return (this.incoming[index]?.length ?? 0) > 0;
    });
    for (let target = 0; target < count; target += 1) {
      for (const edge of this.incoming[target] ?? []) dependents[edge.owner]?.push(target);
    }
    const queue: number[] = [];
    for (let index = 0; index < count; index += 1) if (this.inside[index]) queue.push(index);
    while (queue.length > 0) {
      const current = queue.pop() as number;
      const fn = this.functions[current];
      if (!this.inside[current] || !fn || fn.kind === 'connection-callback') continue;
      if ((this.incoming[current] ?? []).every((edge) => this.edgeIsInside(edge))) continue;
      this.inside[current] = false;
      for (const dependent of dependents[current] ?? []) if (this.inside[dependent]) queue.push(dependent);
    }
    this.rootsMemo.clear();
  }

  isInside(fn: number): boolean {
    return this.inside[fn] === true;
  }

  /**
   * The outermost functions through which `fn` is reached outside every block: follow callers
   * that are outside, through async functions and inline callbacks, up to a function with no
   * such caller, a caller at module top level, or a sync named caller.
   */
  rootsOf(fn: number): number[] {
    return this.roots(fn, new Set());
  }

  private roots(fn: number, stack: Set<number>): number[] {
    const memo = this.rootsMemo.get(fn);
    if (memo) return memo;
    const info = this.functions[fn];
    if (!info) return [];
    if (info.kind === 'module') return [fn];
    if (this.inside[fn]) return [];
    stack.add(fn);
    const found = new Set<number>();
    let cyclic = false;
    for (const edge of this.incoming[fn] ?? []) {
      if (this.edgeIsInside(edge)) continue;
      const owner = this.functions[edge.owner];
      if (edge.via === 'thread-entry' || !owner || owner.kind === 'module') {
        found.add(fn);
      } else if (stack.has(edge.owner)) {
        cyclic = true;
      } else if (owner.kind === 'inline' || owner.async) {
        for (const root of this.roots(edge.owner, stack)) found.add(root);
      } else {
        found.add(fn);
      }
    }
    stack.delete(fn);
    if (found.size === 0) found.add(fn);
    const result = [...found].sort((a, b) => a - b);
    // A result computed while a caller was still on the stack may be partial: do not memoise it.
    if (!cyclic) this.rootsMemo.set(fn, result);
    return result;
  }
}
