/**
 * `orm-migrate fix`, planned: scan once, decide from its findings and call graph which roots to
 * wrap and which calls to rewrite (and which must stay manual, and why), then compute each
 * file's new text from precise splices. Nothing is written here; the CLI does that.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import ts from '../typescript.cjs';
import { loadConfig } from '../engine/config.js';
import { settleConnectionModule } from '../engine/connection-module.js';
import type { LoadedConfig } from '../engine/config.js';
import { SpecifierResolver } from '../engine/module-resolution.js';
import { scan } from '../engine/scan.js';
import { collectGarbage } from '../engine/memory.js';
import { parseSource, scriptKindOf } from '../engine/syntactic.js';
import { PARSE_ERROR_RULE_ID } from '../engine/types.js';
import type { ConnectionFunctionSummary, Finding, FunctionRef, RuleId, RuleSetting, ScanResult } from '../engine/types.js';
import type { FloatingWorkFact, RewriteFacts, WrapFacts } from '../engine/facts.js';
import { FunctionIndex, functionAt, insideCallerText, nodeAt, rootListText } from './functions.js';
import { countReferences, existingReference, importOfLocal, planImportEdits } from './imports.js';
import type { BindingRequest, ModuleRef } from './imports.js';
import { moduleRefFor, relativeImportStyle } from './modules.js';
import { displayPath } from '../report/format.js';
import { rewriteSyncCall, rewriteSyncIteration, rewriteWrapper } from './rewrites.js';
import type { AsyncContext, FunctionTwinLookup } from './rewrites.js';
import { detectStyle } from './style.js';
import { SyncCallFinder } from './sync-calls.js';
import type { SyncCallSite } from './sync-calls.js';
import { describeSyncSite, syncSiteOf, unrewritableReason } from '../engine/sync-sites.js';
import { applyEdits, positionAt } from './text.js';
import type { TextEdit } from './text.js';
import { planModuleRoot } from './top-level.js';
import { FIXABLE_RULE_IDS } from './types.js';
import type { FixFailure, FixOptions, FixPlan, FixableRuleId, FixedFile, ManualItem } from './types.js';
import { isAsyncFunction, wrapFunctionEdits, wrapProblem } from './wrap.js';
import { isFunctionWithBody } from '../engine/file-analysis.js';
import { isMikroOrmPreset, planMikroOrmFix, rewrittenMikroOrmFindings } from './mikro-orm/index.js';

/** A rewrite target in one file: a sync call or iteration to turn async (a site, wherever it runs). */
type SyncTarget = Omit<SyncCallSite, 'functionStart' | 'inModule'>;

type SyncPlan = { kind: 'edits'; edits: TextEdit[]; binding?: BindingRequest; consumed?: string } | { kind: 'manual'; reason: string };

type WrapperPlan = { kind: 'edits'; edits: TextEdit[]; consumed?: string; mode: 'plain' | 'block' } | { kind: 'manual'; reason: string };

/** What the fix will do in one file, decided before any text is produced (scan counts from it too). */
interface FileWork {
  wraps: RootEntry[];
  wrapperFindings: Finding[];
  wrappers: { finding: Finding; plan: WrapperPlan }[];
  targets: { target: SyncTarget; finding?: Finding; plan?: SyncPlan }[];
}

interface RootEntry {
  ref: FunctionRef;
  findings: number;
  reason?: string;
  /** An ORM call in the root's own parameters (a default value): it runs before the body, outside a block around it. */
  parameterCall?: Finding;
  /** Module roots: the block around the top-level statements, planned once. */
  moduleEdits?: TextEdit[];
  moduleRange?: [number, number];
}

interface SourceText {
  /** The file as it is on disk. */
  raw: string;
  /** Without the byte order mark: what is parsed and edited (the mark is put back). */
  text: string;
  bom: string;
  /**
   * How far scan's offsets for this file are ahead of `text`'s: type-aware scans read files
   * through TypeScript, which drops a BOM; syntactic scans count it.
   */
  delta: number;
}

interface ParsedFile extends SourceText {
  sourceFile: ts.SourceFile;
}

const SCAN_RULES: Partial<Record<RuleId, RuleSetting>> = {
  'async-outside-connection': 'warn',
  'sync-in-async-context': 'warn',
  'sync-to-async-wrapper': 'warn',
  'floating-async-call': 'warn',
  'allow-async-unsafe': 'off',
};

/** Syntax trees kept between the analysis and the rewrite, up to this much source text (texts are always kept). */
const TREE_CACHE_CHARS = 8_000_000;

/** Rewritten source text between two full garbage collections (see run). */
const REWRITE_COLLECTION_CHARS = 2_000_000;

function selectRules(config: LoadedConfig, requested: readonly FixableRuleId[] | undefined): Set<FixableRuleId> {
  if (requested && requested.length > 0) return new Set(requested);
  return new Set(FIXABLE_RULE_IDS.filter((id) => config.rules[id] !== 'off'));
}

class FixPlanner {
  private readonly index: FunctionIndex;
  private readonly specifiers = new SpecifierResolver();
  private readonly texts = new Map<string, SourceText>();
  private readonly trees = new Map<string, ts.SourceFile>();
  private treeChars = 0;
  /** The last tree parsed past the cache's budget: roots and sites of one file come one after another. */
  private lastTree: { file: string; sourceFile: ts.SourceFile } | undefined;
  private readonly roots = new Map<string, RootEntry>();
  private readonly manual: ManualItem[] = [];
  private readonly errors: FixFailure[] = [];
  private readonly failed = new Set<string>();
  private readonly syncFinder: SyncCallFinder;
  private readonly syncSites = new Map<string, SyncCallSite[]>();
  /** Per file: sync targets from scan's findings (already inside a block). */
  private readonly insideSyncTargets = new Map<string, { target: SyncTarget; finding: Finding }[]>();
  private readonly wrapperFindings: Finding[] = [];
  /**
   * Planning only to count what fix would rewrite (scan's fixable count): no manual items or
   * messages are produced, and a file is read only where a rewrite must be planned from its tree.
   */
  private counting = false;

  constructor(
    private readonly result: ScanResult,
    private readonly config: LoadedConfig,
    private readonly rules: ReadonlySet<FixableRuleId>,
    private readonly started: number,
    /** Source text whose trees stay cached; the count, which reads each file once or twice in order, keeps none. */
    private readonly treeBudget = TREE_CACHE_CHARS,
  ) {
    this.index = new FunctionIndex(result);
    this.syncFinder = new SyncCallFinder(config);
  }

  private display(file: string): string {
    return displayPath(this.result.cwd, file);
  }

  /** The file's text, read once (the version every offset of this run refers to). */
  private source(file: string): SourceText {
    let entry = this.texts.get(file);
    if (entry) return entry;
    const raw = readFileSync(file, 'utf8');
    const bom = raw.startsWith('\uFEFF') ? '\uFEFF' : '';
    entry = { raw, text: raw.slice(bom.length), bom, delta: 0 };
    this.texts.set(file, entry);
    if (bom) entry.delta = this.bomDelta(file, this.tree(file));
    return entry;
  }

  /** The file's text, kept only if something else needs it: counting looks at most affected files once. */
  private textToLookAt(file: string): { text: string; delta: number } {
    const known = this.texts.get(file);
    if (known || !this.counting) return known ?? this.source(file);
    const raw = readFileSync(file, 'utf8');
    return raw.startsWith('\uFEFF') ? this.source(file) : { text: raw, delta: 0 };
  }

  private tree(file: string): ts.SourceFile {
    const cached = this.trees.get(file);
    if (cached) return cached;
    if (this.lastTree?.file === file) return this.lastTree.sourceFile;
    const text = this.source(file).text;
    const sourceFile = parseSource(file, text);
    if (this.treeChars + text.length <= this.treeBudget) {
      this.trees.set(file, sourceFile);
      this.treeChars += text.length;
    } else {
      this.lastTree = { file, sourceFile };
    }
    return sourceFile;
  }

  private parse(file: string): ParsedFile {
    return { ...this.source(file), sourceFile: this.tree(file) };
  }

  /** Whether scan counted this file's BOM: its functions start one character later if it did. */
  private bomDelta(file: string, sourceFile: ts.SourceFile): number {
    for (const summary of this.index.inFile(file)) {
      if (summary.kind === 'module') continue;
      if (functionAt(sourceFile, summary.start)) return 0;
      if (functionAt(sourceFile, summary.start - 1)) return 1;
    }
    return this.result.mode === 'syntactic' ? 1 : 0;
  }

  /** A scan offset of `file` as an offset into the parsed text. */
  private local(file: string, offset: number): number {
    return offset - this.source(file).delta;
  }

  /** The id scan gives the function that starts at this offset of the parsed text. */
  private scanFunctionId(file: string, localStart: number, isModule: boolean): string {
    return `${file}#${isModule ? 0 : localStart + this.source(file).delta}`;
  }

  private fail(file: string, error: unknown): void {
    if (this.failed.has(file)) return;
    this.failed.add(file);
    this.errors.push({ file, message: error instanceof Error ? error.message : String(error) });
  }

  /** `offset` is into the parsed text of the file. */
  private addManual(file: string, offset: number, ruleId: FixableRuleId, subject: string, reason: string, findings: number): void {
    if (this.counting) return;
    let line = 1;
    let column = 1;
    try {
      ({ line, column } = positionAt(this.source(file).text, offset));
    } catch {
      // position stays 1:1 for a file that cannot be read
    }
    this.manual.push({ file, line, column, ruleId, subject, reason, findings });
  }

  private connectionReference(file: string, sourceFile: ts.SourceFile): { reference: string; module: ModuleRef } {
    const module = moduleRefFor(file, this.config.connection.module, this.config, this.specifiers, relativeImportStyle(sourceFile));
    const name = this.config.connection.name;
    return { module, reference: existingReference(sourceFile, { module, name }) ?? name };
  }

  /** Every decision of the fix, without producing text: roots, sync rewrites, wrappers, per file. */
  private plan(onPlanned?: (file: string, work: FileWork) => void): Map<string, FileWork> {
    this.collectFindings();
    this.checkRoots();
    this.settleSyncCalls();
    // Dropping a callback's own root puts its calls in its scheduler's block: settle again until nothing changes.
    while (this.settleScheduledCalls());
    return this.planFiles(onPlanned);
  }

  /**
   * The findings fix would make go away, from the same plan `run` rewrites by (scan's "can be
   * rewritten" count and per-finding `fixable` flag): an async call whose every root is wrapped,
   * a sync call or wrapper whose rewrite is planned, in a file the fix could read.
   */
  rewrittenFindings(): Set<Finding> {
    this.counting = true;
    const work = this.plan();
    const rewritten = new Set<Finding>();
    if (this.rules.has('async-outside-connection')) {
      const wrapped = (root: FunctionRef): boolean => this.roots.get(root.id)?.reason === undefined && !this.failed.has(root.file);
      for (const finding of this.result.findings) {
        if (finding.ruleId !== 'async-outside-connection' || this.failed.has(finding.file)) continue;
        const roots = finding.roots ?? [];
        if (roots.length > 0 && roots.every(wrapped)) rewritten.add(finding);
      }
    }
    for (const [file, entry] of work) {
      if (this.failed.has(file)) continue;
      for (const { finding, plan } of entry.targets) if (finding && plan?.kind === 'edits') rewritten.add(finding);
      for (const { finding, plan } of entry.wrappers) if (plan.kind === 'edits') rewritten.add(finding);
    }
    return rewritten;
  }

  run(): FixPlan {
    // Each file is rewritten as soon as it is planned, then its tree is let go: no later step reads it.
    // Its trees (parsed, and the rewrite parsed again) are garbage at once: collected every so
    // often, as the scan does between programs, or V8 lets the heap grow far past what is alive.
    const files: FixedFile[] = [];
    let sinceCollection = 0;
    this.plan((file, work) => {
      try {
        const result = this.rewriteFile(file, work);
        if (result) {
          files.push(result);
          sinceCollection += result.fixed.length;
        }
      } catch (error) {
        this.fail(file, error);
      }
      this.forgetTree(file);
      if (sinceCollection > REWRITE_COLLECTION_CHARS) {
        collectGarbage();
        sinceCollection = 0;
      }
    });
    this.manual.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column));
    return {
      cwd: this.result.cwd,
      mode: this.result.mode,
      notes: this.result.notes,
      problems: this.result.problems,
      files,
      unchanged: this.result.files.length - files.length - this.failed.size,
      manual: this.manual,
      errors: this.errors,
      scanned: this.result.files,
      durationMs: performance.now() - this.started,
    };
  }

  // ------------------------------------------------------------ findings → roots and targets

  private collectFindings(): void {
    const floating: Finding[] = [];
    for (const finding of this.result.findings) {
      switch (finding.ruleId) {
        case 'async-outside-connection': {
          if (!this.rules.has('async-outside-connection')) break;
          const roots = finding.roots ?? [];
          if (roots.length === 0 && !this.counting) {
            this.addManual(finding.file, this.local(finding.file, finding.start), 'async-outside-connection', `\`${finding.data.callee ?? finding.data.method ?? 'call'}()\``, 'its call chain has no root the fix can wrap (a cycle of callers)', 1);
          }
          for (const root of roots) {
            const entry = this.roots.get(root.id);
            if (entry) entry.findings += 1;
            else this.roots.set(root.id, { ref: root, findings: 1 });
          }
          const owner = roots.length > 0 ? this.index.enclosing(finding.file, finding.start) : undefined;
          if (owner?.wrap && finding.start < owner.wrap.bodyStart) {
            const entry = this.roots.get(owner.id);
            if (entry && !entry.parameterCall) entry.parameterCall = finding;
          }
          break;
        }
        case 'sync-in-async-context':
          if (!this.rules.has('sync-in-async-context')) break;
          this.addInsideSyncTarget(finding);
          break;
        case 'sync-to-async-wrapper':
          if (this.rules.has('sync-to-async-wrapper')) this.wrapperFindings.push(finding);
          break;
        case 'floating-async-call':
          floating.push(finding);
          break;
        case PARSE_ERROR_RULE_ID:
          // A file fix cannot read is an error of the run (named), not a silent "unchanged".
          this.fail(finding.file, new Error(`${this.display(finding.file)}:${finding.line}:${finding.column}: ${finding.message}`));
          break;
        default:
          break;
      }
    }
    // A promise nobody awaits could outlive the block the fix would open around it.
    for (const finding of floating) {
      const owner = this.index.enclosing(finding.file, finding.start);
      if (!owner || owner.insideConnection) continue;
      const roots = owner.kind === 'module' ? [owner] : this.index.rootsOf(owner.id);
      for (const root of roots) {
        const entry = this.roots.get(root.id);
        if (!entry || entry.reason) continue;
        // (Counting needs only that there is a reason: the file is not read for its line.)
        const line = this.counting ? 0 : positionAt(this.source(finding.file).text, this.local(finding.file, finding.start)).line;
        entry.reason = `\`${finding.data.callee ?? finding.data.method}()\` (${this.display(finding.file)}:${line}) is not awaited: inside a newConnection block it could outlive the block's connection; await it (or move it out), then run fix again`;
      }
    }
  }

  private addInsideSyncTarget(finding: Finding): void {
    const target: SyncTarget = { start: finding.start, end: finding.end, ...syncSiteOf(finding.messageId, finding.data), syncOnly: false };
    const list = this.insideSyncTargets.get(finding.file);
    if (list) list.push({ target, finding });
    else this.insideSyncTargets.set(finding.file, [{ target, finding }]);
  }

  /** Roots the fix cannot wrap as they are: not async, generators, `arguments`, top-level code that cannot move. */
  private checkRoots(): void {
    let projectFunctionNames: Set<string> | undefined;
    const functionNames = (): Set<string> => {
      if (!projectFunctionNames) {
        projectFunctionNames = new Set<string>();
        for (const summary of this.index.all()) if (summary.kind === 'named' && summary.name) projectFunctionNames.add(summary.name);
      }
      return projectFunctionNames;
    };
    const moduleOffsets = new Map<string, number[]>();
    for (const finding of this.result.findings) {
      if (finding.ruleId !== 'async-outside-connection') continue;
      for (const root of finding.roots ?? []) {
        if (root.kind !== 'module') continue;
        moduleOffsets.set(root.id, [...(moduleOffsets.get(root.id) ?? []), this.local(finding.file, finding.start)]);
      }
    }
    const workFunctions = this.functionsWithOrmWork();
    const connectionProblem = this.connectionProblem();
    for (const entry of this.roots.values()) {
      if (entry.reason) continue;
      if (connectionProblem) {
        entry.reason = connectionProblem;
        continue;
      }
      const ref = entry.ref;
      if (ref.kind === 'connection-callback' || ref.kind === 'thread-callback') {
        entry.reason = 'it is a callback of the thread wrapper: rewrite the wrapper first';
        continue;
      }
      if (ref.kind !== 'module') {
        // Decided from what the scan's walk recorded: no file is parsed again for a function root.
        const summary = this.index.get(ref.id);
        const wrap = summary?.wrap;
        entry.reason = summary && wrap ? (wrapProblem({ ...wrap, async: summary.async }) ?? this.parameterReason(entry) ?? this.nestingReason(ref) ?? this.floatingReason(ref, wrap, workFunctions)) : 'the function was not found where scan saw it';
        continue;
      }
      try {
        // Top-level code: which statements can move into a block is planned from the file's tree.
        const sourceFile = this.tree(ref.file);
        const plan = planModuleRoot(sourceFile, detectStyle(sourceFile), {
          offsets: moduleOffsets.get(ref.id) ?? [],
          projectFunctionNames: functionNames(),
          connection: this.connectionReference(ref.file, sourceFile).reference,
        });
        if (plan.kind === 'manual') entry.reason = plan.reason;
        else {
          entry.moduleEdits = plan.edits;
          entry.moduleRange = plan.range;
        }
      } catch (error) {
        this.fail(ref.file, error);
        entry.reason = 'its file could not be read or parsed';
      }
    }
  }

  /** A root whose own parameters call the ORM (a default value): those calls run before its body, so a block around the body would not hold them (and a second fix would wrap it again). */
  private parameterReason(entry: RootEntry): string | undefined {
    const call = entry.parameterCall;
    if (!call) return undefined;
    return `\`${call.data.callee ?? call.data.method}()\` (${this.display(call.file)}:${call.line}) is in its parameters (a default value), which run before its body, outside a block around it: move the call into the body, then run fix again`;
  }

  /**
   * Why a root cannot get a block of its own because another block would hold it: it is also
   * called inside a block (those calls would run on another connection, outside the caller's
   * transaction, and on SQLite wait for it), or another root reaches it (reached here through a
   * caller that is not async), whose block would contain it the same way once fixed, or it calls
   * itself (a block per level of the recursion, each on a connection of its own).
   */
  private nestingReason(root: FunctionRef): string | undefined {
    const caller = this.result.connection.insideCallerOf?.(root.id);
    if (caller) {
      return `it is also called inside a ${this.config.connection.name}() block (${insideCallerText(caller, this.display(caller.file))}): a block of its own would run those calls on another connection, outside that block's transaction; wrap the code that calls it outside blocks instead, then run fix again`;
    }
    const others = this.index.rootsOf(root.id).filter((other) => other.id !== root.id);
    if (others.length > 0) {
      return `it is also reached from ${rootListText(others, (file) => this.display(file))}, whose block would contain it: a block of its own would run its calls on a separate connection there, outside that block's transactions; give its callers that are not async a block instead, then run fix again`;
    }
    if (this.result.connection.reachesItself?.(root.id)) {
      return `it calls itself (recursion outside every block): a block of its own would open another block, with a connection of its own, at every level of the recursion (outside the outer levels' transactions; a connection pool runs out at its \`max\` depth); give the code that first calls it a block instead, then run fix again`;
    }
    return undefined;
  }

  /** Why the fix cannot write a call of the connection function at all, if it cannot. */
  private connectionProblem(): string | undefined {
    const { module, name, callbackArgument, exported } = this.config.connection;
    if (exported === false) {
      return `the connection function \`${name}\` is not exported by ${module}, so the fix will not import it from there: set "connection": { "module", "name" } in the config to where it is, then run fix again`;
    }
    if (callbackArgument !== 0) {
      return `the connection function \`${name}\` takes its callback as argument ${callbackArgument + 1} ("callbackArgument": ${callbackArgument}), and what goes before it is yours to choose: wrap the body in \`${name}(…, async () => { … })\` by hand`;
    }
    return undefined;
  }

  /** Functions that make a-calls outside a block themselves: their promises carry ORM work. */
  private functionsWithOrmWork(): { ids: Set<string>; byName: Map<string, ConnectionFunctionSummary[]> } {
    const ids = new Set<string>();
    const byName = new Map<string, ConnectionFunctionSummary[]>();
    for (const finding of this.result.findings) {
      if (finding.ruleId !== 'async-outside-connection') continue;
      const owner = this.index.enclosing(finding.file, finding.start);
      if (!owner || ids.has(owner.id)) continue;
      ids.add(owner.id);
      if (owner.async && owner.name) byName.set(owner.name, [...(byName.get(owner.name) ?? []), owner]);
    }
    return { ids, byName };
  }

  /**
   * Why a root that starts ORM work without awaiting it cannot get a block (its work could
   * outlive it): the first such statement in its body, nested callbacks included, from the
   * floating work the scan's walk recorded per function.
   */
  private floatingReason(root: FunctionRef, wrap: WrapFacts, work: { ids: Set<string>; byName: Map<string, ConnectionFunctionSummary[]> }): string | undefined {
    const items: FloatingWorkFact[] = [];
    for (const summary of this.floatingIn(root.file)) {
      const floating = summary.wrap?.floating;
      if (!floating || summary.start < root.start || summary.end > root.end) continue;
      for (const item of floating) if (item.start >= wrap.bodyStart && item.start < root.end) items.push(item);
    }
    // Walk order: a statement's items share its start and come from one function, so the sort keeps them in order.
    items.sort((a, b) => a.start - b.start);
    for (const floating of items) {
      const where = `${this.display(root.file)}:${floating.line}`;
      if (floating.kind === 'forEach') {
        if (!work.ids.has(`${root.file}#${floating.callbackStart}`)) continue;
        return `an async callback passed to forEach (${where}) is not awaited: its ORM calls could outlive the block's connection; use for…of with await (or Promise.all), then run fix again`;
      }
      const reached = (work.byName.get(floating.name) ?? []).some((fn) => this.index.rootsOf(fn.id).some((candidate) => candidate.id === root.id));
      if (reached) return `\`${floating.name}()\` (${where}) is not awaited: its ORM calls could outlive the block's connection; await it, then run fix again`;
    }
    return undefined;
  }

  private readonly floatingByFile = new Map<string, ConnectionFunctionSummary[]>();

  /** The functions of a file that drop a promise somewhere (most files have none). */
  private floatingIn(file: string): readonly ConnectionFunctionSummary[] {
    let list = this.floatingByFile.get(file);
    if (!list) this.floatingByFile.set(file, (list = this.index.inFile(file).filter((summary) => summary.wrap?.floating !== undefined)));
    return list;
  }

  private wrapped(): Set<string> {
    const ids = new Set<string>();
    for (const [id, entry] of this.roots) if (!entry.reason) ids.add(id);
    return ids;
  }

  /** Functions that wrapping `wrapped` puts (at least sometimes) inside a block, with the wrapped roots that reach each. */
  private lastAffected: { wrapped: number; affected: Map<string, string[]> } | undefined;

  private affected(wrapped: ReadonlySet<string>): Map<string, string[]> {
    // Roots are only ever dropped, never added back: a wrapped set of the same size is the same set.
    if (this.lastAffected?.wrapped === wrapped.size) return this.lastAffected.affected;
    const affected = new Map<string, string[]>();
    for (const summary of this.index.all()) {
      // A thread callback runs outside every block wherever it is called from (syncToAsync leaves the context).
      if (summary.insideConnection || summary.kind === 'module' || summary.kind === 'thread-callback') continue;
      const roots = this.index.rootsOf(summary.id).filter((root) => wrapped.has(root.id)).map((root) => root.id);
      if (roots.length > 0) affected.set(summary.id, roots);
    }
    for (const id of wrapped) {
      const entry = this.roots.get(id);
      if (!entry?.moduleRange) continue;
      // Top-level code and the callbacks written in the moved range run inside the block.
      affected.set(id, [id]);
      const delta = this.source(entry.ref.file).delta;
      const [from, to] = [entry.moduleRange[0] + delta, entry.moduleRange[1] + delta];
      for (const summary of this.index.inFile(entry.ref.file)) {
        if (summary.kind !== 'module' && summary.start >= from && summary.end <= to) affected.set(summary.id, [...(affected.get(summary.id) ?? []), id]);
      }
    }
    this.lastAffected = { wrapped: wrapped.size, affected };
    return affected;
  }

  /**
   * The sync ORM calls of a file, wherever they run: the finder's (following imports), and the
   * ones the scan settled as the ORM's that following imports cannot see (type-aware: `p.save()`
   * on an element of an array of instances).
   */
  private sitesOf(file: string): SyncCallSite[] {
    let sites = this.syncSites.get(file);
    if (!sites) {
      sites = this.syncFinder.find(this.tree(file));
      const latent = this.result.connection.latentSyncCalls?.(file) ?? [];
      if (latent.length > 0) {
        const delta = this.source(file).delta;
        const known = new Set(sites.map((site) => site.start));
        for (const call of latent) {
          const start = call.start - delta;
          if (known.has(start)) continue;
          sites.push({ ...call, functionStart: call.inModule ? 0 : call.functionStart - delta, start, end: call.end - delta, syncOnly: call.kind === 'call' && call.twin === '' });
        }
      }
      this.syncSites.set(file, sites);
    }
    return sites;
  }

  /** Module root of a file that the fix wraps, if any: its range is where top-level code may await. */
  private moduleRangeOf(file: string): [number, number] | undefined {
    const entry = this.roots.get(`${file}#0`);
    return entry && entry.ref.kind === 'module' && !entry.reason ? entry.moduleRange : undefined;
  }

  /** Plans for every sync target of a file at once: an atomic() made async lets calls in its callback be awaited. */
  private planSyncTargets(file: string, targets: readonly SyncTarget[]): Map<SyncTarget, SyncPlan> {
    const sourceFile = this.tree(file);
    const moduleRange = this.moduleRangeOf(file);
    const madeAsync = new Set<ts.Node>();
    const plans = new Map<SyncTarget, SyncPlan>();
    const functionTwin: FunctionTwinLookup = (local, twin) => {
      const imported = importOfLocal(sourceFile, local);
      if (!imported) return undefined;
      const module: ModuleRef = { specifier: imported.specifier, matches: (specifier) => specifier === imported.specifier };
      return { module, reference: existingReference(sourceFile, { module, name: twin }) ?? twin };
    };
    for (let changed = true; changed; ) {
      changed = false;
      for (const target of targets) {
        if (plans.get(target)?.kind === 'edits') continue;
        const context: AsyncContext = {
          canAwaitIn: (fn) => isAsyncFunction(fn) || madeAsync.has(fn) || (ts.isSourceFile(fn) && moduleRange !== undefined && target.start >= moduleRange[0] && target.end <= moduleRange[1]),
        };
        const plan = this.planSyncTarget(sourceFile, target, context, functionTwin);
        plans.set(target, plan.plan);
        if (plan.madeAsync && !madeAsync.has(plan.madeAsync)) {
          madeAsync.add(plan.madeAsync);
          changed = true;
        }
      }
    }
    return plans;
  }

  private planSyncTarget(sourceFile: ts.SourceFile, target: SyncTarget, context: AsyncContext, functionTwin: FunctionTwinLookup): { plan: SyncPlan; madeAsync?: ts.Node } {
    if (target.syncOnly) return { plan: { kind: 'manual', reason: `\`${target.method}()\` has no async twin: call it before the block` } };
    const unrewritable = unrewritableReason(target);
    if (unrewritable) return { plan: { kind: 'manual', reason: unrewritable } };
    if (target.kind === 'iteration') {
      const iterated = nodeAt(sourceFile, target.start, target.end, (node): node is ts.Expression => ts.isForOfStatement(node.parent) && node.parent.expression === node);
      const statement = iterated?.parent;
      if (!statement || !ts.isForOfStatement(statement)) return { plan: { kind: 'manual', reason: 'the loop was not found where scan saw it' } };
      const planned = rewriteSyncIteration(statement, sourceFile, context);
      return { plan: planned.kind === 'edits' ? { kind: 'edits', edits: planned.edits } : { kind: 'manual', reason: planned.reason } };
    }
    const call = nodeAt(sourceFile, target.start, target.end, ts.isCallExpression);
    if (!call) return { plan: { kind: 'manual', reason: 'the call was not found where scan saw it' } };
    const rewrite = rewriteSyncCall(call, target.twin, sourceFile, context, functionTwin);
    if ('manual' in rewrite) return { plan: { kind: 'manual', reason: rewrite.manual } };
    return {
      plan: { kind: 'edits', edits: rewrite.edits, ...(rewrite.needsBinding ? { binding: rewrite.needsBinding } : {}), ...(rewrite.consumedLocal ? { consumed: rewrite.consumedLocal } : {}) },
      madeAsync: rewrite.madeAsync,
    };
  }

  private siteTarget(site: SyncCallSite): SyncTarget {
    return { start: site.start, end: site.end, kind: site.kind, twin: site.twin, method: site.method, syncOnly: site.syncOnly, excerpt: site.excerpt };
  }

  /** Targets of one file: scan's inside findings plus the sync calls in functions a wrap affects. */
  private targetsOf(file: string, affected: ReadonlyMap<string, string[]>, withInside = true): { target: SyncTarget; roots: string[]; finding?: Finding }[] {
    const targets: { target: SyncTarget; roots: string[]; finding?: Finding }[] = [];
    if (this.failed.has(file)) return targets;
    for (const { target, finding } of withInside ? (this.insideSyncTargets.get(file) ?? []) : []) {
      const delta = this.source(file).delta;
      targets.push({ target: { ...target, start: target.start - delta, end: target.end - delta }, roots: [], finding });
    }
    const moduleRange = this.moduleRangeOf(file);
    if (!this.affectedTextMayCallSync(file, affected, moduleRange)) return targets;
    try {
      for (const site of this.sitesOf(file)) {
        const id = this.scanFunctionId(file, site.functionStart, site.inModule);
        const roots = affected.get(id);
        if (!roots) continue;
        // Top-level code outside the moved range keeps running outside the block.
        if (site.inModule && !(moduleRange && site.start >= moduleRange[0] && site.end <= moduleRange[1])) continue;
        targets.push({ target: this.siteTarget(site), roots });
      }
    } catch (error) {
      this.fail(file, error);
    }
    return targets;
  }

  /** Whether a function a wrap affects here may run a sync call or loop (top-level code counts as may). */
  private affectedMayCallSync(file: string, affected: ReadonlyMap<string, string[]>): boolean {
    return this.index.inFile(file).some((summary) => affected.has(summary.id) && (summary.kind === 'module' || !summary.wrap || summary.wrap.syncCall === true));
  }

  /** Most affected functions run no sync call or loop at all (the scan's walk saw): then the file is not walked for them. */
  private affectedTextMayCallSync(file: string, affected: ReadonlyMap<string, string[]>, moduleRange: [number, number] | undefined): boolean {
    let source: { text: string; delta: number } | undefined;
    for (const summary of this.index.inFile(file)) {
      if (!affected.has(summary.id)) continue;
      // A function: the scan's walk saw whether a sync call or loop runs in it. Top-level code: its text.
      if (summary.kind !== 'module' && summary.wrap) {
        if (summary.wrap.syncCall) return true;
        continue;
      }
      // (A lazy foreign-key read has no mark in the text: the scan's latent ones of the top level count.)
      if (summary.kind === 'module' && this.result.connection.latentSyncCalls?.(file).some((call) => call.inModule)) return true;
      const { text, delta } = (source ??= this.textToLookAt(file));
      const [from, to] = summary.kind === 'module' ? (moduleRange ?? [0, 0]) : [summary.start - delta, summary.end - delta];
      if (this.syncFinder.mayContainSyncCall(text.slice(from, to))) return true;
    }
    return false;
  }

  /**
   * A wrap is safe only if every sync ORM call it brings inside a block can become async too;
   * otherwise every root that reaches such a call stays manual. One pass settles it: dropping
   * roots only shrinks what is affected, and each problem drops all the roots that reach it.
   */
  private settleSyncCalls(): void {
    const affected = this.affected(this.wrapped());
    const files = new Set<string>();
    for (const id of affected.keys()) files.add(id.slice(0, id.lastIndexOf('#')));
    for (const file of files) {
      const targets = this.targetsOf(file, affected, false);
      if (targets.length === 0) continue;
      let plans: Map<SyncTarget, SyncPlan>;
      try {
        plans = this.planSyncTargets(file, targets.map((entry) => entry.target));
      } catch (error) {
        this.fail(file, error);
        for (const entry of targets) for (const root of entry.roots) this.dropRoot(root, 'its call chain reaches a file the fix could not read');
        continue;
      }
      for (const { target, roots } of targets) {
        const plan = plans.get(target);
        const problem = plan?.kind === 'manual' ? plan.reason : !this.rules.has('sync-in-async-context') ? 'the sync-in-async-context rewrite is not selected' : undefined;
        if (!problem) continue;
        const { line } = positionAt(this.source(file).text, target.start);
        const what = describeSyncSite(target);
        for (const root of roots) {
          this.dropRoot(root, `wrapping it would run ${what} (${this.display(file)}:${line}) inside the block, where sync ORM calls throw SynchronousOnlyOperation: ${problem}`);
        }
      }
    }
  }

  /**
   * Callbacks that code a wrap puts in a block hands to a call that runs them later (`setTimeout`,
   * `emitter.on`), and that get no block of their own, with everything they reach (by id), each
   * with the wrapped roots whose block is their async context: they run in that block, or after it
   * ended, where a sync ORM call throws SynchronousOnlyOperation as well.
   */
  private scheduledContexts(wrapped: ReadonlySet<string>): Map<string, string[]> {
    const contexts = new Map<string, string[]>();
    const scheduled = this.result.connection.scheduled?.();
    if (!scheduled || scheduled.size === 0) return contexts;
    const affected = this.affected(wrapped);
    const byCallback = new Map<string, Set<string>>();
    for (let changed = true; changed; ) {
      changed = false;
      for (const [id, schedulers] of scheduled) {
        if (wrapped.has(id)) continue; // a block of its own
        let roots = byCallback.get(id);
        const before = roots?.size ?? 0;
        for (const by of schedulers) {
          const via = [...(affected.get(by.id) ?? []), ...this.index.rootsOf(by.id).flatMap((root) => [...(byCallback.get(root.id) ?? [])])];
          for (const root of via) (roots ??= new Set()).add(root);
        }
        if (roots && roots.size > before) {
          byCallback.set(id, roots);
          changed = true;
        }
      }
    }
    if (byCallback.size === 0) return contexts;
    for (const summary of this.index.all()) {
      if (summary.insideConnection || summary.kind === 'module' || summary.kind === 'thread-callback') continue;
      const roots = new Set<string>();
      for (const root of this.index.rootsOf(summary.id)) for (const id of byCallback.get(root.id) ?? []) roots.add(id);
      if (roots.size > 0) contexts.set(summary.id, [...roots]);
    }
    return contexts;
  }

  /**
   * Roots whose block a scheduled callback would run in (scheduledContexts) stay manual when that
   * callback runs ORM calls without a block of its own, naming the call: a sync one throws
   * SynchronousOnlyOperation there, an async one would use the block's connection, maybe after the
   * block ended. Whether a root was dropped.
   */
  private settleScheduledCalls(): boolean {
    const contexts = this.scheduledContexts(this.wrapped());
    if (contexts.size === 0) return false;
    const calls: { file: string; start: number; what: string; async: boolean; roots: string[] }[] = [];
    for (const finding of this.result.findings) {
      if (finding.ruleId !== 'async-outside-connection') continue;
      const owner = this.index.enclosing(finding.file, finding.start);
      const roots = owner && contexts.get(owner.id);
      if (roots) calls.push({ file: finding.file, start: this.local(finding.file, finding.start), what: `\`${finding.data.callee ?? finding.data.method}()\``, async: true, roots });
    }
    const files = new Set<string>();
    for (const id of contexts.keys()) if (this.index.get(id)?.wrap?.syncCall) files.add(id.slice(0, id.lastIndexOf('#')));
    for (const file of files) {
      let sites: SyncCallSite[];
      try {
        sites = this.sitesOf(file);
      } catch (error) {
        this.fail(file, error);
        continue;
      }
      for (const site of sites) {
        const roots = site.inModule ? undefined : contexts.get(this.scanFunctionId(file, site.functionStart, false));
        if (roots) calls.push({ file, start: site.start, what: site.kind === 'iteration' ? 'a for…of over a QuerySet' : `\`${site.excerpt}\``, async: false, roots });
      }
    }
    let dropped = false;
    for (const call of calls) {
      const line = this.counting ? 0 : positionAt(this.source(call.file).text, call.start).line;
      const effect = call.async ? 'an async one would use the block\'s connection, which is closed once the block ended' : 'a sync ORM call throws SynchronousOnlyOperation there, in the block or after it ended';
      for (const root of call.roots) {
        if (this.roots.get(root)?.reason) continue;
        this.dropRoot(root, `it hands a callback to a call that runs it later (a timer, a listener), which inherits its block as async context, and ${call.what} (${this.display(call.file)}:${line}) runs there with no block of its own: ${effect}; give the callback a block of its own (an async callback with async ORM calls gets one from fix) or move the call out of it, then run fix again`);
        dropped = true;
      }
    }
    return dropped;
  }

  private dropRoot(id: string, reason: string): void {
    const entry = this.roots.get(id);
    if (entry && !entry.reason) entry.reason = reason;
  }

  // ------------------------------------------------------------ rewriting

  private rootSubject(ref: FunctionRef): string {
    return ref.kind === 'module' ? 'top-level code' : ref.name ? `\`${ref.name}\`` : 'an anonymous function';
  }

  /** Per file: the wraps, and each sync target's and wrapper's plan (manual ones recorded with their reason). */
  private planFiles(onPlanned?: (file: string, work: FileWork) => void): Map<string, FileWork> {
    const wrapped = this.wrapped();
    for (const entry of this.roots.values()) {
      if (entry.reason && !this.counting) this.addManual(entry.ref.file, this.local(entry.ref.file, entry.ref.start), 'async-outside-connection', this.rootSubject(entry.ref), entry.reason, entry.findings);
    }
    const affected = this.affected(wrapped);
    const byFile = new Map<string, FileWork>();
    const work = (file: string): FileWork => {
      let entry = byFile.get(file);
      if (!entry) byFile.set(file, (entry = { wraps: [], wrapperFindings: [], wrappers: [], targets: [] }));
      return entry;
    };
    for (const id of wrapped) {
      const entry = this.roots.get(id) as RootEntry;
      work(entry.ref.file).wraps.push(entry);
    }
    for (const finding of this.wrapperFindings) work(finding.file).wrapperFindings.push(finding);
    for (const file of this.insideSyncTargets.keys()) work(file);
    for (const id of affected.keys()) work(id.slice(0, id.lastIndexOf('#')));

    // In path order, so errors and manual items come out the same way on every run.
    const sorted = new Map([...byFile].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    for (const [file, entry] of sorted) {
      if (this.failed.has(file)) continue;
      if (this.counting && this.countFromFacts(file, entry, affected, wrapped)) continue;
      try {
        const targets = this.targetsOf(file, affected);
        const plans = targets.length > 0 ? this.planSyncTargets(file, targets.map((target) => target.target)) : new Map<SyncTarget, SyncPlan>();
        for (const { target, finding } of targets) {
          const plan = plans.get(target);
          entry.targets.push({ target, ...(finding ? { finding } : {}), ...(plan ? { plan } : {}) });
          if (plan?.kind === 'manual' && finding) this.addManual(file, target.start, 'sync-in-async-context', describeSyncSite(target), plan.reason, 1);
        }
        if (entry.wrapperFindings.length > 0) {
          const sourceFile = this.tree(file);
          const connection = this.connectionReference(file, sourceFile).reference;
          for (const finding of entry.wrapperFindings) {
            const plan = this.planWrapper(finding, sourceFile, connection, wrapped);
            entry.wrappers.push({ finding, plan });
            if (plan.kind === 'manual') {
              const subject = finding.data.wrapped ? `\`syncToAsync(${finding.data.wrapped})\`` : `\`syncToAsync(…)\` around \`${finding.data.callee ?? finding.data.method}()\``;
              this.addManual(file, this.local(file, finding.start), 'sync-to-async-wrapper', subject, plan.reason, 1);
            }
          }
        }
      } catch (error) {
        this.fail(file, error);
        continue;
      }
      onPlanned?.(file, entry);
    }
    return sorted;
  }

  /**
   * Counting: a file's in-place rewrites planned from what the scan's walk recorded of each
   * finding (fix/rewrite-facts.ts), as planSyncTargets and planWrapper decide them from the tree.
   * False (plan from the tree) when a wrap reaches sync calls here or a finding has no facts.
   */
  private countFromFacts(file: string, entry: FileWork, affected: ReadonlyMap<string, string[]>, wrapped: ReadonlySet<string>): boolean {
    const facts = (finding: Finding): RewriteFacts | undefined => this.result.connection.rewriteFacts?.(finding);
    const inside = this.insideSyncTargets.get(file) ?? [];
    if (inside.some(({ finding }) => facts(finding)?.kind !== 'sync')) return false;
    if (entry.wrapperFindings.some((finding) => finding.messageId === 'replace' && facts(finding)?.kind !== 'wrapper')) return false;
    if (this.affectedMayCallSync(file, affected)) return false;
    // Offsets as the tree's: a top-level root's range (the only thing compared) exists only where the file was read.
    const delta = this.texts.get(file)?.delta ?? 0;
    const moduleRange = this.moduleRangeOf(file);
    const plans = new Map<SyncTarget, SyncPlan>();
    const madeAsync = new Set<number>();
    const targets = inside.map(({ target, finding }) => ({ target: { ...target, start: target.start - delta, end: target.end - delta }, finding, facts: facts(finding) as Extract<RewriteFacts, { kind: 'sync' }> }));
    for (let changed = true; changed; ) {
      changed = false;
      for (const { target, facts: fact } of targets) {
        if (plans.get(target)?.kind === 'edits') continue;
        const { awaitIn } = fact;
        const canAwait =
          awaitIn === 'never' ? false : awaitIn === 'module' ? moduleRange !== undefined && target.start >= moduleRange[0] && target.end <= moduleRange[1] : fact.awaitAsync || madeAsync.has(awaitIn);
        const rewritable = canAwait && fact.shape !== 'manual';
        plans.set(target, rewritable ? { kind: 'edits', edits: [] } : { kind: 'manual', reason: '' });
        if (rewritable && typeof fact.shape === 'number' && !madeAsync.has(fact.shape)) {
          madeAsync.add(fact.shape);
          changed = true;
        }
      }
    }
    for (const { target, finding } of targets) entry.targets.push({ target, finding, plan: plans.get(target) as SyncPlan });
    const blockProblem = this.connectionProblem();
    for (const finding of entry.wrapperFindings) {
      const fact = finding.messageId === 'replace' ? facts(finding) : undefined;
      const rewritable = fact?.kind === 'wrapper' && fact.rewritable && !(blockProblem && this.wrapperMode(finding, wrapped) === 'block');
      entry.wrappers.push({ finding, plan: rewritable ? { kind: 'edits', edits: [], mode: 'plain' } : { kind: 'manual', reason: '' } });
    }
    return true;
  }

  /** `syncToAsync(() => qs.get(x))()`: its rewrite, or why it stays manual. */
  private planWrapper(finding: Finding, sourceFile: ts.SourceFile, connection: string, wrapped: ReadonlySet<string>): WrapperPlan {
    if (finding.messageId !== 'replace') return { kind: 'manual', reason: 'the wrapper is not a single sync ORM call invoked in place: call the async twins with await by hand' };
    const outer = nodeAt(sourceFile, this.local(finding.file, finding.start), this.local(finding.file, finding.end), ts.isCallExpression);
    if (!outer) return { kind: 'manual', reason: 'the call was not found where scan saw it' };
    const mode = this.wrapperMode(finding, wrapped);
    const connectionProblem = mode === 'block' ? this.connectionProblem() : undefined;
    if (connectionProblem) return { kind: 'manual', reason: connectionProblem };
    const rewrite = rewriteWrapper(outer, finding.data.twin ?? '', sourceFile, mode, connection);
    if ('manual' in rewrite) return { kind: 'manual', reason: rewrite.manual };
    return { kind: 'edits', edits: rewrite.edits, mode, ...(rewrite.consumedLocal !== undefined ? { consumed: rewrite.consumedLocal } : {}) };
  }

  private forgetTree(file: string): void {
    const tree = this.trees.get(file);
    if (tree) {
      this.trees.delete(file);
      this.treeChars -= tree.text.length;
    }
    if (this.lastTree?.file === file) this.lastTree = undefined;
  }

  private wrapperMode(finding: Finding, wrapped: ReadonlySet<string>): 'plain' | 'block' {
    const owner = this.index.enclosing(finding.file, finding.start);
    if (!owner) return 'block';
    if (owner.insideConnection) return 'plain';
    if (owner.kind === 'module') return 'block';
    const roots = this.index.rootsOf(owner.id);
    return roots.length > 0 && roots.every((root) => wrapped.has(root.id)) ? 'plain' : 'block';
  }

  private rewriteFile(file: string, { wraps, wrappers, targets }: FileWork): FixedFile | undefined {
    const { raw, text, bom, sourceFile } = this.parse(file);
    const local = (offset: number): number => this.local(file, offset);
    const style = detectStyle(sourceFile);
    const connection = this.connectionReference(file, sourceFile);
    const edits: TextEdit[] = [];
    const rewrites: Partial<Record<FixableRuleId, number>> = {};
    const count = (rule: FixableRuleId): void => {
      rewrites[rule] = (rewrites[rule] ?? 0) + 1;
    };
    const bindings: BindingRequest[] = [];
    const consumed = new Map<string, number>();
    const consume = (local: string | undefined): void => {
      if (local !== undefined) consumed.set(local, (consumed.get(local) ?? 0) + 1);
    };
    let needsConnection = false;

    for (const entry of wraps) {
      if (entry.moduleEdits) {
        edits.push(...entry.moduleEdits);
      } else {
        const node = functionAt(sourceFile, local(entry.ref.start));
        if (!node || !isFunctionWithBody(node)) throw new Error(`${this.display(file)}: the function at ${entry.ref.line}:${entry.ref.column} was not found`);
        // A callback that is its own root inside another wrapped root: those wraps indent it too.
        const around = wraps.filter((other) => other !== entry && (other.moduleRange ? other.moduleRange[0] <= node.pos && node.end <= other.moduleRange[1] : local(other.ref.start) < local(entry.ref.start) && local(entry.ref.start) < local(other.ref.end)));
        edits.push(...wrapFunctionEdits(node, sourceFile, style, connection.reference, style.indentUnit.repeat(around.length)));
      }
      needsConnection = true;
      count('async-outside-connection');
    }

    for (const { plan } of targets) {
      if (plan?.kind !== 'edits') continue;
      edits.push(...plan.edits);
      if (plan.binding) bindings.push(plan.binding);
      consume(plan.consumed);
      count('sync-in-async-context');
    }

    for (const { plan } of wrappers) {
      if (plan.kind !== 'edits') continue;
      edits.push(...plan.edits);
      consume(plan.consumed);
      if (plan.mode === 'block') needsConnection = true;
      count('sync-to-async-wrapper');
    }

    if (edits.length === 0) return undefined;
    if (needsConnection) bindings.push({ module: connection.module, name: this.config.connection.name });
    const drop = new Set<string>();
    for (const [local, uses] of consumed) if (countReferences(sourceFile, local) <= uses) drop.add(local);
    // A binding the file already has is used as it is; only missing ones are imported.
    const missing = bindings.filter((binding, index) => bindings.findIndex((other) => other.name === binding.name) === index && existingReference(sourceFile, binding) === undefined);
    edits.push(...planImportEdits(sourceFile, style, { add: missing, drop }));
    const next = applyEdits(file, text, edits);
    if (next === text) return undefined;
    // A safety net, not analysis: no parent pointers needed, only the parser's own diagnostics.
    const reparsed = ts.createSourceFile(file, next, { languageVersion: ts.ScriptTarget.Latest, jsDocParsingMode: ts.JSDocParsingMode.ParseNone }, false, scriptKindOf(file)) as ts.SourceFile & {
      parseDiagnostics?: ts.DiagnosticWithLocation[];
    };
    const broken = reparsed.parseDiagnostics?.[0];
    if (broken) {
      const { line, column } = positionAt(next, broken.start);
      throw new Error(`${this.display(file)}: the rewrite would not parse (${ts.flattenDiagnosticMessageText(broken.messageText, ' ')} at ${line}:${column}); the file was left as it is — please report this`);
    }
    return { file, original: raw, fixed: bom + next, rewrites };
  }
}

/**
 * The findings of this scan that `fix` (default rules) would rewrite away: decided by fix's own
 * plan, without producing text. Keeps no tree cache: it plans files in order, so the last tree
 * suffices, and holding trees costs the scan more in GC than re-parsing an odd file.
 */
export function rewrittenFindings(result: ScanResult, config: LoadedConfig): Set<Finding> {
  if (isMikroOrmPreset(config)) return rewrittenMikroOrmFindings(result, selectRules(config, undefined));
  return new FixPlanner(result, config, selectRules(config, undefined), performance.now(), 0).rewrittenFindings();
}

export async function planFix(options: FixOptions = {}): Promise<FixPlan> {
  const started = performance.now();
  const cwd = resolve(options.cwd ?? process.cwd());
  const config = settleConnectionModule(options.config ?? loadConfig(cwd, options.configFile, options.paths ?? ['.'], options.preset));
  const rules = selectRules(config, options.rules);
  const result = await scan({
    cwd,
    ...(options.paths ? { paths: options.paths } : {}),
    config,
    types: options.types ?? true,
    ruleOverrides: SCAN_RULES,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  if (isMikroOrmPreset(config)) return planMikroOrmFix(result, rules, started);
  return new FixPlanner(result, config, rules, started).run();
}
