/**
 * The interprocedural half of the scan: which functions run only inside a connection block, and
 * from which outermost functions a call outside every block is reached.
 *
 * A function is inside when it is a connection callback, or when every in-project call path
 * that reaches it passes through a block. Computed as the least fixed point of "outside": the
 * module top level, thread callbacks, functions passed to a call that runs them later
 * ('scheduled'), and every group of functions that nothing outside the group calls (an exported
 * function nobody in the project calls, a recursive function whose only caller is itself) are
 * outside, and so is everything an outside function calls. So recursion under a block stays
 * inside, while a cycle of callers that no block grounds never counts as inside. Inline function
 * expressions have exactly one "caller": the function they are written in. A function whose callers
 * may be invisible (GraphFunction.unseenCallers) is the exception: nothing visible calling it makes
 * it no root; only its visible callers can put it outside.
 */
import type { ReferenceVia } from './facts.js';
import type { FunctionKind } from './types.js';

export interface GraphFunction {
  kind: FunctionKind;
  async: boolean;
  /**
   * Called where the scan cannot see (a custom repository's method, handed out by the ORM): a group
   * of such functions that nothing visible calls is not outside, so not a root; visible callers
   * outside still make it outside.
   */
  unseenCallers?: boolean;
}

export interface GraphEdge {
  /** The function the reference is written in. */
  owner: number;
  via: ReferenceVia;
  /** Arguments of this call that are a preset's forks (see ReferenceFact.forkArguments). */
  forkArguments?: readonly number[];
}

/** Edges through which the caller's state passes to the callee (a plain call or a value handed on). */
function propagates(via: ReferenceVia): boolean {
  return via === 'call' || via === 'value';
}

/** A reference that starts the callee outside every block, whatever its caller is: a thread, or later. */
function startsOutside(via: ReferenceVia): boolean {
  return via === 'thread-entry' || via === 'scheduled';
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
    if (startsOutside(edge.via)) return false;
    return this.inside[edge.owner] === true;
  }

  /** Kinds whose verdict does not depend on callers. */
  private isFixed(fn: number): boolean {
    const kind = this.functions[fn]?.kind;
    return kind === 'module' || kind === 'connection-callback' || kind === 'thread-callback';
  }

  solve(): void {
    const count = this.functions.length;
    const outgoing: number[][] = Array.from({ length: count }, () => []);
    for (let target = 0; target < count; target += 1) {
      if (this.isFixed(target)) continue;
      for (const edge of this.incoming[target] ?? []) if (propagates(edge.via)) outgoing[edge.owner]?.push(target);
    }
    const component = stronglyConnectedComponents(count, outgoing);
    // A group of functions that no function outside it calls has no block to ground it.
    const groundedFromOutside = new Set<number>();
    for (let target = 0; target < count; target += 1) {
      for (const edge of this.incoming[target] ?? []) {
        if (!propagates(edge.via) || component[edge.owner] !== component[target]) groundedFromOutside.add(component[target] as number);
      }
    }
    const outside = new Array<boolean>(count).fill(false);
    const queue: number[] = [];
    const markOutside = (fn: number): void => {
      if (outside[fn] || this.functions[fn]?.kind === 'connection-callback') return;
      outside[fn] = true;
      queue.push(fn);
    };
    for (let fn = 0; fn < count; fn += 1) {
      const kind = this.functions[fn]?.kind;
      if (kind === 'module' || kind === 'thread-callback') markOutside(fn);
      else if (kind !== 'connection-callback') {
        if (!groundedFromOutside.has(component[fn] as number) && !this.functions[fn]?.unseenCallers) markOutside(fn);
        if ((this.incoming[fn] ?? []).some((edge) => startsOutside(edge.via))) markOutside(fn);
      }
    }
    while (queue.length > 0) {
      const current = queue.pop() as number;
      for (const target of outgoing[current] ?? []) markOutside(target);
    }
    this.inside = this.functions.map((fn, index) => fn.kind === 'connection-callback' || (fn.kind !== 'module' && !outside[index]));
    this.rootsMemo.clear();
    this.insideCallerMemo.clear();
  }

  /**
   * Functions handed to a call that runs them later ('scheduled'), each with the functions that
   * hand it over: it runs in the async context of the code that scheduled it (a timer's callback
   * in the block of the function that set the timer, even after that block ended).
   */
  scheduled(): Map<number, number[]> {
    const found = new Map<number, number[]>();
    this.incoming.forEach((edges, target) => {
      for (const edge of edges) {
        if (edge.via !== 'scheduled') continue;
        const by = found.get(target);
        if (!by) found.set(target, [edge.owner]);
        else if (!by.includes(edge.owner)) by.push(edge.owner);
      }
    });
    return found;
  }

  isInside(fn: number): boolean {
    return this.inside[fn] === true;
  }

  private readonly insideCallerMemo = new Map<number, number | undefined>();

  /**
   * A function inside a block from which `fn` is also reached, through calls and values handed on
   * (or that hands `fn` to the connection function itself), if any: the nearest one.
   */
  insideCaller(fn: number): number | undefined {
    if (this.insideCallerMemo.has(fn)) return this.insideCallerMemo.get(fn);
    let found: number | undefined;
    const seen = new Set<number>([fn]);
    const queue = [fn];
    search: for (let next = 0; next < queue.length; next += 1) {
      for (const edge of this.incoming[queue[next] as number] ?? []) {
        if (edge.via === 'connection-entry' || (propagates(edge.via) && this.inside[edge.owner])) {
          found = edge.owner;
          break search;
        }
        if (!propagates(edge.via) || seen.has(edge.owner)) continue;
        seen.add(edge.owner);
        queue.push(edge.owner);
      }
    }
    this.insideCallerMemo.set(fn, found);
    return found;
  }

  /**
   * The modules whose top-level code calls `fn` (or hands it on) outside every block, and whether it
   * is also reached outside a block some other way (another function, a later start, no caller).
   * rootsOf stops at a caller at module top level; a preset whose contexts hold state across calls
   * (MikroORM's identity map) asks this to keep what one top level does in one context.
   */
  moduleCallers(fn: number): { modules: number[]; elsewhere: boolean } {
    const modules = new Set<number>();
    let elsewhere = false;
    const incoming = this.incoming[fn] ?? [];
    for (const edge of incoming) {
      if (this.edgeIsInside(edge)) continue;
      if (propagates(edge.via) && this.functions[edge.owner]?.kind === 'module') modules.add(edge.owner);
      else elsewhere = true;
    }
    return { modules: [...modules].sort((a, b) => a - b), elsewhere: elsewhere || incoming.length === 0 };
  }

  /**
   * Whether `fn` is reached from itself outside every block, through the callers rootsOf follows
   * (calls and values handed on, by async functions and inline callbacks): recursion, which a
   * block of its own would nest one block deeper, with a connection of its own, at every level.
   */
  reachesItself(fn: number): boolean {
    const seen = new Set<number>([fn]);
    const queue = [fn];
    for (let next = 0; next < queue.length; next += 1) {
      for (const edge of this.incoming[queue[next] as number] ?? []) {
        if (!propagates(edge.via) || this.edgeIsInside(edge)) continue;
        if (edge.owner === fn) return true;
        const owner = this.functions[edge.owner];
        if (!owner || owner.kind === 'module' || (owner.kind !== 'inline' && !owner.async) || seen.has(edge.owner)) continue;
        seen.add(edge.owner);
        queue.push(edge.owner);
      }
    }
    return false;
  }

  /**
   * The outermost functions through which `fn` is reached outside every block: follow callers
   * that are outside, through async functions and inline callbacks, up to a function with no
   * such caller, a caller at module top level, or a sync named caller.
   */
  rootsOf(fn: number): number[] {
    return this.roots(fn, new Set());
  }

  /**
   * The roots of `fn` through the incoming references `accept` keeps (a call handing `fn` a fork for
   * the parameter a finding depends on is not kept): empty when none of them runs outside a block.
   * A function nothing calls is its own root, as in rootsOf.
   */
  rootsThrough(fn: number, accept: (edge: GraphEdge) => boolean): number[] {
    const info = this.functions[fn];
    if (!info || this.inside[fn]) return [];
    const incoming = this.incoming[fn] ?? [];
    if (info.kind === 'module' || incoming.length === 0) return this.rootsOf(fn);
    const found = new Set<number>();
    for (const edge of incoming) {
      if (!accept(edge) || this.edgeIsInside(edge)) continue;
      const owner = this.functions[edge.owner];
      if (startsOutside(edge.via) || !owner || owner.kind === 'module') found.add(fn);
      else if (owner.kind === 'inline' || owner.async) for (const root of this.rootsOf(edge.owner)) found.add(root);
      else found.add(fn);
    }
    return [...found].sort((a, b) => a - b);
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
      if (startsOutside(edge.via) || !owner || owner.kind === 'module') {
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

/**
 * Tarjan's strongly connected components, iteratively (call graphs can be deep): the component
 * id of each node.
 */
function stronglyConnectedComponents(count: number, outgoing: readonly (readonly number[])[]): number[] {
  const index = new Array<number>(count).fill(-1);
  const low = new Array<number>(count).fill(0);
  const component = new Array<number>(count).fill(-1);
  const onStack = new Array<boolean>(count).fill(false);
  const stack: number[] = [];
  let nextIndex = 0;
  let nextComponent = 0;
  for (let start = 0; start < count; start += 1) {
    if (index[start] !== -1) continue;
    const work: [number, number][] = [[start, 0]];
    index[start] = low[start] = nextIndex++;
    stack.push(start);
    onStack[start] = true;
    while (work.length > 0) {
      const frame = work[work.length - 1] as [number, number];
      const [node, edge] = frame;
      const targets = outgoing[node] ?? [];
      if (edge < targets.length) {
        frame[1] = edge + 1;
        const target = targets[edge] as number;
        if (index[target] === -1) {
          index[target] = low[target] = nextIndex++;
          stack.push(target);
          onStack[target] = true;
          work.push([target, 0]);
        } else if (onStack[target]) {
          low[node] = Math.min(low[node] as number, index[target] as number);
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low[parent[0]] = Math.min(low[parent[0]] as number, low[node] as number);
      if (low[node] === index[node]) {
        for (;;) {
          const member = stack.pop() as number;
          onStack[member] = false;
          component[member] = nextComponent;
          if (member === node) break;
        }
        nextComponent += 1;
      }
    }
  }
  return component;
}
