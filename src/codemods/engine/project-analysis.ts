/**
 * After every file has been walked: decide role candidates (is this callback really passed to
 * the connection function?), resolve references into a call graph, solve it, and turn the
 * rules' candidates into findings whose conditions hold.
 */
import type { CandidateFact, ConditionFact, Evidence, FileFacts, FunctionFact, ReferenceFact, RewriteFacts } from './facts.js';
import { ConnectionGraph } from './connection-graph.js';
import type { OriginResolver } from './origin-resolver.js';
import type { Origin } from './facts.js';
import { formatMessage } from './rule-api.js';
import type { RuleMeta } from './rule-api.js';
import { PARSE_ERROR_RULE_ID } from './types.js';
import { RELATED_MODEL, syncSiteOf } from './sync-sites.js';
import type { ConnectionAnalysis, ConnectionFunctionSummary, Finding, FunctionKind, FunctionRef, LatentSyncCall, RuleId, Severity } from './types.js';

export interface EnabledRule {
  meta: RuleMeta<string>;
  severity: Severity;
}

export interface ProjectAnalysisInput {
  /** The scanned files, in a stable order. */
  files: readonly FileFacts[];
  resolver: OriginResolver;
  rules: ReadonlyMap<RuleId, EnabledRule>;
}

export interface ProjectAnalysisOutput {
  findings: Finding[];
  connection: ConnectionAnalysis;
}

export function analyzeProject(input: ProjectAnalysisInput): ProjectAnalysisOutput {
  return new ProjectAnalysis(input).run();
}

class ProjectAnalysis {
  private readonly offsets: number[] = [];
  private readonly fileIndex = new Map<string, number>();
  /** `file#start` → function index: built on first use (type targets, fix's rootsOf), not on every scan. */
  private byPositionMap: Map<string, number> | undefined;
  private readonly kinds: FunctionKind[] = [];
  private readonly facts: FunctionFact[] = [];
  private readonly owners: number[] = [];
  private readonly functionNames = new Set<string>();
  /** Methods of subclasses by name (FunctionFact.subclassMethod): what a `this.name()` may dispatch to. */
  private readonly subclassMethods = new Map<string, number[]>();
  private readonly evidenceMemo = new WeakMap<Evidence, boolean>();
  private graph!: ConnectionGraph;
  private readonly routes: RouteCoverage;

  constructor(private readonly input: ProjectAnalysisInput) {
    this.routes = new RouteCoverage(input.files, input.resolver);
  }

  run(): ProjectAnalysisOutput {
    this.indexFunctions();
    this.decideRoles();
    this.buildGraph();
    this.graph.solve();
    const findings = this.collectFindings();
    return { findings, connection: this.connectionAnalysis() };
  }

  private get byPosition(): Map<string, number> {
    if (!this.byPositionMap) {
      this.byPositionMap = new Map();
      for (let index = 0; index < this.facts.length; index += 1) {
        this.byPositionMap.set(`${this.input.files[this.owners[index] as number]?.file}#${(this.facts[index] as FunctionFact).start}`, index);
      }
    }
    return this.byPositionMap;
  }

  private global(fileIdx: number, local: number): number {
    return (this.offsets[fileIdx] ?? 0) + local;
  }

  private indexFunctions(): void {
    let next = 0;
    this.input.files.forEach((file, fileIdx) => {
      this.offsets.push(next);
      this.fileIndex.set(file.file, fileIdx);
      file.functions.forEach((fn) => {
        this.kinds.push(fn.kind);
        this.facts.push(fn);
        this.owners.push(fileIdx);
        if (fn.name !== undefined && fn.kind === 'named') this.functionNames.add(fn.name);
        if (fn.name !== undefined && fn.subclassMethod) {
          const same = this.subclassMethods.get(fn.name);
          if (same) same.push(next);
          else this.subclassMethods.set(fn.name, [next]);
        }
        next += 1;
      });
    });
  }

  /** Is the evidence true: the checker's answer when it had one, else imports followed through the project. */
  private holds(evidence: Evidence): boolean {
    if (evidence.foreignKey !== undefined && evidence.verdict !== 'yes' && evidence.verdict !== 'no') return this.input.resolver.foreignKeyTarget(evidence.origins, evidence.foreignKey) !== undefined;
    // The ORM question (one per candidate) is answered once per origin by the resolver: a WeakMap
    // entry per evidence cost more than the answer.
    if (!evidence.route && evidence.target === 'orm' && evidence.verdict !== 'yes' && evidence.verdict !== 'no') return this.input.resolver.matches('orm', evidence.origins);
    const memo = this.evidenceMemo.get(evidence);
    if (memo !== undefined) return memo;
    const result = evidence.route
      ? this.routes.covered(evidence.route)
      : evidence.verdict === 'yes' || evidence.verdict === 'no'
        ? evidence.verdict === 'yes'
        : this.input.resolver.matches(evidence.target, evidence.origins);
    this.evidenceMemo.set(evidence, result);
    return result;
  }

  private decideRoles(): void {
    this.facts.forEach((fn, index) => {
      if (fn.role && this.holds(fn.role.evidence)) this.kinds[index] = fn.role.role;
    });
  }

  private buildGraph(): void {
    this.graph = new ConnectionGraph(
      this.kinds.map((kind, index) => {
        const fact = this.facts[index];
        const unseenCallers = kind === 'named' && fact?.unseenCallers !== undefined && this.holds(fact.unseenCallers);
        return unseenCallers ? { kind, async: fact?.async ?? false, unseenCallers } : { kind, async: fact?.async ?? false };
      }),
    );
    // `emitter.emit('name')` runs the listeners of 'name' in place: a call of each (matched by the event name).
    const listeners = new Map<string, number[]>();
    this.input.files.forEach((file, fileIdx) => {
      file.functions.forEach((fn, local) => {
        if (fn.listens === undefined || this.kinds[this.global(fileIdx, local)] !== 'inline') return;
        const same = listeners.get(fn.listens);
        if (same) same.push(this.global(fileIdx, local));
        else listeners.set(fn.listens, [this.global(fileIdx, local)]);
      });
    });
    if (listeners.size > 0) {
      this.input.files.forEach((file, fileIdx) => {
        for (const emit of file.emits ?? []) {
          for (const listener of listeners.get(emit.event) ?? []) this.graph.addEdge(listener, { owner: this.global(fileIdx, emit.owner), via: 'call' });
        }
      });
    }
    this.input.files.forEach((file, fileIdx) => {
      file.functions.forEach((fn, local) => {
        if (fn.kind === 'inline' && fn.parent >= 0) {
          this.graph.addEdge(this.global(fileIdx, local), { owner: this.global(fileIdx, fn.parent), via: fn.scheduled ? 'scheduled' : 'call' });
        }
        // The framework starts it (a scheduler, a queue): outside every context, as if scheduled from the module.
        if (fn.startsOutside && this.kinds[this.global(fileIdx, local)] === 'named') {
          this.graph.addEdge(this.global(fileIdx, local), { owner: this.global(fileIdx, 0), via: 'scheduled' });
        }
        // The framework calls it inside a context: one caller inside, the code's own calls decide the rest.
        if (fn.startsInside && this.kinds[this.global(fileIdx, local)] === 'named') {
          this.graph.addEdge(this.global(fileIdx, local), { owner: this.global(fileIdx, 0), via: 'connection-entry' });
        }
      });
      for (const reference of file.references) {
        const targets = this.targetsOf(reference, fileIdx);
        // `this.name()` runs whatever `name` is on the instance: also a subclass's override (one by
        // that name in any class with an `extends` clause; the base may be abstract, with no body).
        if (reference.viaThis) {
          for (const override of this.subclassMethods.get(reference.name) ?? []) if (!targets.includes(override)) targets.push(override);
        }
        if (targets.length === 0) continue;
        let via = reference.via;
        if ((via === 'connection-entry' || via === 'thread-entry') && !(reference.entryEvidence && this.holds(reference.entryEvidence))) {
          // A route handler its router's mounts do not cover is registered to run later, as any other.
          via = reference.entryEvidence?.route ? 'scheduled' : 'value';
        }
        const owner = this.global(fileIdx, reference.owner);
        for (const target of targets) {
          if (this.kinds[target] === 'named') this.graph.addEdge(target, reference.forkArguments ? { owner, via, forkArguments: reference.forkArguments } : { owner, via });
        }
      }
    });
  }

  /** Functions a reference may call: the checker's answer when it resolves, else the file's own view plus imports. */
  private targetsOf(reference: ReferenceFact, fileIdx: number): number[] {
    if (!this.functionNames.has(reference.name)) return [];
    if (reference.typeTargets) {
      const ids = reference.typeTargets.map((key) => this.byPosition.get(key)).filter((id): id is number => id !== undefined);
      if (ids.length > 0) return [...new Set(ids)];
    }
    const target = reference.target;
    switch (target.kind) {
      case 'local':
        return [this.global(fileIdx, target.fn)];
      case 'import':
      case 'import-member': {
        const found = this.input.resolver.canonical({ module: target.module, name: target.name });
        if (!found || found.kind !== 'local' || !found.fact) return [];
        const targetFile = this.fileIndex.get(found.file);
        if (targetFile === undefined) return [];
        const local = target.kind === 'import' ? found.fact.fn : found.fact.members?.[target.member];
        return local === undefined ? [] : [this.global(targetFile, local)];
      }
      case 'none':
        return [];
    }
  }

  private conditionHolds(condition: ConditionFact, fileIdx: number): boolean {
    switch (condition.kind) {
      case 'outside-connection':
        if (condition.parameter !== undefined) return this.parameterRoots(this.global(fileIdx, condition.fn), condition.parameter).length > 0;
        return !this.graph.isInside(this.global(fileIdx, condition.fn));
      case 'inside-connection':
        return this.graph.isInside(this.global(fileIdx, condition.fn));
      case 'orm':
        return this.holds(condition.evidence);
    }
  }

  private rootsOfCondition(condition: { fn: number; parameter?: number }, fileIdx: number): number[] {
    const fn = this.global(fileIdx, condition.fn);
    return condition.parameter === undefined ? this.graph.rootsOf(fn) : this.parameterRoots(fn, condition.parameter);
  }

  /** `nightly (jobs.ts:5)`, `the top level of main.ts`: a root as a message names it. */
  private describeRoot(index: number): string {
    const ref = this.functionRef(index);
    const file = ref.file.slice(Math.max(ref.file.lastIndexOf('/'), ref.file.lastIndexOf('\\')) + 1);
    if (ref.kind === 'module') return `the top level of ${file}`;
    return `${ref.name === undefined ? 'the function' : `\`${ref.name}\``} (${file}:${ref.line})`;
  }

  /** Roots of `fn` through the calls that do not hand it a fork for `parameter`. */
  private parameterRoots(fn: number, parameter: number): number[] {
    return this.graph.rootsThrough(fn, (edge) => !edge.forkArguments?.includes(parameter));
  }

  /** Every condition holds, the cheap call-graph ones asked first (in order), then the ORM verdicts. */
  private conditionsHold(conditions: readonly ConditionFact[], fileIdx: number): boolean {
    for (const condition of conditions) if (condition.kind !== 'orm' && !this.conditionHolds(condition, fileIdx)) return false;
    for (const condition of conditions) if (condition.kind === 'orm' && !this.conditionHolds(condition, fileIdx)) return false;
    return true;
  }

  private readonly refs = new Map<number, FunctionRef>();
  /** The roots of each function as FunctionRefs, one (read-only) array shared by its findings. */
  private readonly rootRefsMemo = new Map<number, FunctionRef[]>();

  private rootRefs(fn: number): FunctionRef[] {
    let refs = this.rootRefsMemo.get(fn);
    if (!refs) this.rootRefsMemo.set(fn, (refs = this.graph.rootsOf(fn).map((root) => this.functionRef(root))));
    return refs;
  }
  private readonly rewriteFacts = new WeakMap<Finding, RewriteFacts>();

  /** One shared, frozen FunctionRef per function (many findings have the same root). */
  private functionRef(index: number): FunctionRef {
    const known = this.refs.get(index);
    if (known) return known;
    const ref = Object.freeze(this.createFunctionRef(index));
    this.refs.set(index, ref);
    return ref;
  }

  private createFunctionRef(index: number): FunctionRef {
    const fn = this.facts[index] as FunctionFact;
    const facts = this.input.files[this.owners[index] ?? 0];
    const file = facts?.file ?? '';
    const { line, column } = positionOf(facts?.lineStarts ?? [], fn.start);
    return {
      id: `${file}#${fn.start}`,
      file,
      name: fn.name,
      kind: this.kinds[index] ?? fn.kind,
      async: fn.async,
      line,
      column,
      start: fn.start,
      end: fn.end,
    };
  }

  private collectFindings(): Finding[] {
    const findings: Finding[] = [];
    this.input.files.forEach((file, fileIdx) => {
      if (file.parseError) {
        const error = file.parseError;
        findings.push({
          ruleId: PARSE_ERROR_RULE_ID,
          severity: 'error',
          messageId: 'parseError',
          message: `Parsing error: ${error.message}`,
          file: file.file,
          line: error.line,
          column: error.column,
          endLine: error.endLine,
          endColumn: error.endColumn,
          start: error.start,
          end: error.end,
          fixable: false,
          data: { error: error.message },
        });
        return;
      }
      for (const candidate of file.candidates) {
        const rule = this.input.rules.get(candidate.ruleId);
        if (!rule) continue;
        // Cheap call-graph conditions first; the ORM verdict may ask the type checker.
        if (!this.conditionsHold(candidate.conditions, fileIdx)) {
          if (candidate.ruleId === 'sync-in-async-context') this.noteLatentSyncCall(candidate, file, fileIdx);
          continue;
        }
        const template = rule.meta.messages[candidate.messageId] ?? candidate.messageId;
        const outsideCondition = candidate.conditions.find((condition) => condition.kind === 'outside-connection');
        const roots = outsideCondition && outsideCondition.kind === 'outside-connection' ? this.rootsOfCondition(outsideCondition, fileIdx) : undefined;
        // A message may name the roots to wrap (`{{roots}}`); others keep their data as it was.
        if (roots && template.includes('{{roots}}')) candidate.data = { ...candidate.data, roots: roots.map((root) => this.describeRoot(root)).join(', ') };
        if (template.includes('{{model}}')) candidate.data = { ...candidate.data, model: this.relatedModel(candidate) };
        const from = positionOf(file.lineStarts, candidate.at ?? candidate.start);
        const to = positionOf(file.lineStarts, candidate.end);
        const finding: Finding = {
          ruleId: candidate.ruleId,
          severity: rule.severity,
          messageId: candidate.messageId,
          message: formatMessage(template, candidate.data),
          file: file.file,
          line: from.line,
          column: from.column,
          endLine: to.line,
          endColumn: to.column,
          start: candidate.start,
          end: candidate.end,
          fixable: rule.meta.fixable,
          data: candidate.data,
        };
        if (candidate.rewrite) this.rewriteFacts.set(finding, candidate.rewrite);
        if (outsideCondition && outsideCondition.kind === 'outside-connection') {
          // One shared array per function (many findings have the same roots); a fork-aware parameter's roots are the finding's own.
          finding.roots =
            outsideCondition.parameter === undefined ? this.rootRefs(this.global(fileIdx, outsideCondition.fn)) : (roots ?? []).map((root) => this.functionRef(root));
        }
        findings.push(finding);
      }
    });
    return findings.sort(compareFindings);
  }

  private readonly latentSync = new Map<string, LatentSyncCall[]>();

  /** A foreign-key read's related model, as its definition names it (followed through imports), for the message. */
  private relatedModel(candidate: CandidateFact): string {
    for (const condition of candidate.conditions) {
      if (condition.kind !== 'orm' || condition.evidence.foreignKey === undefined) continue;
      const related = this.input.resolver.foreignKeyTarget(condition.evidence.origins, condition.evidence.foreignKey);
      if (related) return related;
    }
    return RELATED_MODEL;
  }

  /** A sync ORM call that is no finding only because its function runs outside every block. */
  private noteLatentSyncCall(candidate: CandidateFact, file: FileFacts, fileIdx: number): void {
    let fn: number | undefined;
    for (const condition of candidate.conditions) {
      if (condition.kind === 'inside-connection') fn = condition.fn;
      else if (!this.conditionHolds(condition, fileIdx)) return;
    }
    const owner = fn === undefined ? undefined : file.functions[fn];
    if (fn === undefined || !owner || this.graph.isInside(this.global(fileIdx, fn))) return;
    const call: LatentSyncCall = {
      functionStart: owner.start,
      inModule: fn === 0,
      start: candidate.start,
      end: candidate.end,
      ...syncSiteOf(candidate.messageId, candidate.messageId === 'foreignKey' ? { ...candidate.data, model: this.relatedModel(candidate) } : candidate.data),
    };
    const list = this.latentSync.get(file.file);
    if (list) list.push(call);
    else this.latentSync.set(file.file, [call]);
  }

  /** Built on first use: only fix's plan (and scan's fixable count, which is that plan) reads the per-function list. */
  private connectionAnalysis(): ConnectionAnalysis {
    let summaries: ConnectionFunctionSummary[] | undefined;
    const functions = (): ConnectionFunctionSummary[] => {
      const byId = summaries || this.byPositionMap ? undefined : (this.byPositionMap = new Map<string, number>());
      summaries ??= this.facts.map((fact, index) => {
        // A fresh object from createFunctionRef: completed in place (no copies of 10⁵ summaries).
        const summary = this.createFunctionRef(index) as ConnectionFunctionSummary;
        // Keyed by the summaries' own id strings (fix looks functions up by these very strings).
        if (byId) byId.set(summary.id, index);
        summary.insideConnection = this.graph.isInside(index);
        if (fact.wrap) summary.wrap = fact.wrap;
        return summary;
      });
      return summaries;
    };
    return {
      get functions() {
        return functions();
      },
      rewriteFacts: (finding) => this.rewriteFacts.get(finding),
      rootsOf: (functionId) => {
        // A function's id is its `file#start` position key.
        const index = this.byPosition.get(functionId);
        return index === undefined ? [] : this.graph.rootsOf(index).map((root) => this.functionRef(root));
      },
      insideCallerOf: (functionId) => {
        const index = this.byPosition.get(functionId);
        const caller = index === undefined ? undefined : this.graph.insideCaller(index);
        return caller === undefined ? undefined : this.functionRef(caller);
      },
      latentSyncCalls: (file) => this.latentSync.get(file) ?? [],
      scheduled: () => {
        const found = new Map<string, FunctionRef[]>();
        for (const [target, by] of this.graph.scheduled()) found.set(this.functionRef(target).id, by.map((owner) => this.functionRef(owner)));
        return found;
      },
      reachesItself: (functionId) => {
        const index = this.byPosition.get(functionId);
        return index !== undefined && this.graph.reachesItself(index);
      },
      moduleCallersOf: (functionId) => {
        const index = this.byPosition.get(functionId);
        if (index === undefined) return { modules: [], elsewhere: true };
        const { modules, elsewhere } = this.graph.moduleCallers(index);
        return { modules: modules.map((module) => this.functionRef(module)), elsewhere };
      },
    };
  }
}

/**
 * Which apps and routers run their routes inside a context: those mounted (`app.use(path, r)`)
 * only after a context middleware of their parent, or on a parent that is itself covered.
 */
class RouteCoverage {
  private readonly mounts = new Map<string, { on: string | undefined; covered: boolean }[]>();
  private readonly memo = new Map<string, boolean>();

  constructor(
    files: readonly FileFacts[],
    private readonly resolver: OriginResolver,
  ) {
    for (const file of files) {
      for (const mount of file.routeMounts ?? []) {
        const key = this.key(mount.router);
        const list = this.mounts.get(key) ?? [];
        list.push({ on: mount.on && this.key(mount.on), covered: mount.covered });
        this.mounts.set(key, list);
      }
    }
  }

  covered(router: Origin, stack = new Set<string>()): boolean {
    const key = this.key(router);
    const memo = this.memo.get(key);
    if (memo !== undefined) return memo;
    if (stack.has(key)) return false;
    stack.add(key);
    const mounts = this.mounts.get(key) ?? [];
    const result = mounts.length > 0 && mounts.every((mount) => mount.covered || (mount.on !== undefined && this.coveredKey(mount.on, stack)));
    stack.delete(key);
    this.memo.set(key, result);
    return result;
  }

  private coveredKey(key: string, stack: Set<string>): boolean {
    const at = key.lastIndexOf('#');
    return this.covered({ module: key.slice(0, at), name: key.slice(at + 1) }, stack);
  }

  /** One name per router across files: an export is named where it is defined (re-exports followed). */
  private key(origin: Origin): string {
    if (origin.name.startsWith('@')) return `${origin.module}#${origin.name}`;
    // `makeRouter()` (the router a function returns), `routes(plugin)` (the app a plugin function is given).
    const suffix = /\((?:plugin)?\)$/.exec(origin.name)?.[0] ?? '';
    const name = origin.name.slice(0, origin.name.length - suffix.length);
    const found = this.resolver.canonical({ module: origin.module, name });
    const where = found?.kind === 'local' && found.fact ? `${found.file}#${found.name}` : `${origin.module}#${name}`;
    return `${where}${suffix}`;
  }
}

export function compareFindings(a: Finding, b: Finding): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line || a.column - b.column || (a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : 0);
}

/** 1-based line and column of an offset, by binary search over line starts. */
export function positionOf(lineStarts: readonly number[], offset: number): { line: number; column: number } {
  let low = 0;
  let high = lineStarts.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if ((lineStarts[middle] ?? 0) <= offset) low = middle;
    else high = middle - 1;
  }
  return { line: low + 1, column: offset - (lineStarts[low] ?? 0) + 1 };
}
