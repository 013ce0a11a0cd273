/**
 * Sync ORM calls anywhere (not only inside blocks, where scan reports them): wrapping a root
 * puts every function it reaches inside a block, and a sync call there would throw. Found by
 * the engine's own walk with the sync-in-async-context rule, its ORM verdict settled by
 * following imports (the fix looks at the few functions a wrap affects, not the whole project).
 */
import { readFileSync } from 'node:fs';
import type ts from 'typescript';
import { SYNC_ONLY_FUNCTIONS, SYNC_TO_ASYNC_FUNCTION } from '../../runtime-shim/surface.js';
import type { LoadedConfig } from '../engine/config.js';
import type { FileFacts } from '../engine/facts.js';
import type { LatentSyncCall } from '../engine/types.js';
import { analyzeFile } from '../engine/file-analysis.js';
import type { OrmSurface, RuleDispatch } from '../engine/file-analysis.js';
import { SpecifierResolver } from '../engine/module-resolution.js';
import { OriginResolver } from '../engine/origin-resolver.js';
import { analyzeSyntactically, dispatchFor, surfaceFromConfig } from '../engine/syntactic.js';
import { ModuleKeys } from '../engine/module-keys.js';
import { RELATED_MODEL, syncSiteOf } from '../engine/sync-sites.js';

export { SYNC_ONLY_FUNCTIONS };
/** The engine matches ORM calls through the async↔sync map: a sync-only function gets a twin no one can call. */
const NO_TWIN = '\u0000no-async-twin';

/** A sync ORM call or loop where it runs (the scan's latent sync calls have the same shape). */
export interface SyncCallSite extends LatentSyncCall {
  /** A runtime function with no async twin (`migrate()`): never rewritable. */
  syncOnly: boolean;
}

export class SyncCallFinder {
  private readonly surface: OrmSurface;
  private readonly dispatch: RuleDispatch = dispatchFor(['sync-in-async-context']);
  private readonly exportsOnly: RuleDispatch = [];
  private readonly specifiers = new SpecifierResolver();
  private readonly facts = new Map<string, FileFacts | undefined>();
  private readonly resolver: OriginResolver;
  /** A sync method name called, a `for (` or another sync iteration's mark: text without any has no sync ORM call. */
  private readonly mention: RegExp;

  constructor(config: LoadedConfig) {
    const base = surfaceFromConfig(config);
    const asyncToSync = new Map(base.asyncToSync);
    const syncToAsync = new Map(base.syncToAsync);
    for (const name of SYNC_ONLY_FUNCTIONS) {
      if (syncToAsync.has(name) || asyncToSync.has(name)) continue;
      asyncToSync.set(`${NO_TWIN}${name}`, name);
      syncToAsync.set(name, `${NO_TWIN}${name}`);
    }
    this.surface = { ...base, asyncToSync, syncToAsync };
    const names = [...syncToAsync.keys()].map((name) => name.replace(/[$]/g, '\\$&')).join('|');
    // …, or another sync iteration: a spread, `Array.from(`, `new Set(`, `yield*`, `[a, b] =`.
    this.mention = new RegExp(`\\b(?:${names})\\s*\\(|\\bfor\\s*\\(|\\.\\.\\.|\\b(?:from|all|allSettled|race|any|fromEntries)\\s*\\(|\\bnew\\s+(?:Weak)?(?:Set|Map)\\b|\\byield\\s*\\*|\\]\\s*=(?![=>])`);
    const orm = new ModuleKeys(config.ormModules, config, this.specifiers);
    const connection = new ModuleKeys([config.connection.module], config, this.specifiers);
    this.resolver = new OriginResolver((file) => this.factsOf(file), {
      isOrmModule: (module) => orm.matches(module),
      isConnectionModule: (module) => connection.matches(module),
      connectionName: config.connection.name,
      syncToAsyncName: SYNC_TO_ASYNC_FUNCTION,
    });
  }

  /** Exports of a file imports lead to, parsed on demand. */
  private factsOf(file: string): FileFacts | undefined {
    if (this.facts.has(file)) return this.facts.get(file);
    let facts: FileFacts | undefined;
    try {
      const text = readFileSync(file, 'utf8');
      facts = analyzeSyntactically(file, text, this.surface, this.exportsOnly, this.specifiers);
    } catch {
      facts = undefined;
    }
    this.facts.set(file, facts);
    return facts;
  }

  /** A foreign-key read's related model, as its definition names it. */
  private relatedModel(candidate: FileFacts['candidates'][number]): string {
    for (const condition of candidate.conditions) {
      if (condition.kind === 'orm' && condition.evidence.foreignKey !== undefined) {
        const related = this.resolver.foreignKeyTarget(condition.evidence.origins, condition.evidence.foreignKey);
        if (related) return related;
      }
    }
    return RELATED_MODEL;
  }

  /** Could this source text contain a sync ORM call or iteration (a cheap test before a walk)? */
  mayContainSyncCall(text: string): boolean {
    return this.mention.test(text);
  }

  /** Every sync ORM call (and sync iteration over a QuerySet) in a parsed file, by the function it runs in. */
  find(sourceFile: ts.SourceFile): SyncCallSite[] {
    const file = sourceFile.fileName;
    const facts = analyzeFile(sourceFile, {
      surface: this.surface,
      dispatch: this.dispatch,
      resolveSpecifier: (specifier) => this.specifiers.resolveFrom(file, specifier),
      keepNodes: false,
    });
    if (!this.facts.has(file)) this.facts.set(file, facts);
    const sites: SyncCallSite[] = [];
    for (const candidate of facts.candidates) {
      let fn: number | undefined;
      let isOrm = true;
      for (const condition of candidate.conditions) {
        if (condition.kind === 'inside-connection') fn = condition.fn;
        else if (condition.kind === 'orm') {
          const evidence = condition.evidence;
          isOrm &&= evidence.foreignKey !== undefined ? this.resolver.foreignKeyTarget(evidence.origins, evidence.foreignKey) !== undefined : this.resolver.matches('orm', evidence.origins);
        }
      }
      const owner = fn === undefined ? undefined : facts.functions[fn];
      if (!isOrm || !owner) continue;
      const site = syncSiteOf(candidate.messageId, candidate.messageId === 'foreignKey' ? { ...candidate.data, model: this.relatedModel(candidate) } : candidate.data);
      sites.push({
        functionStart: owner.start,
        inModule: fn === 0,
        start: candidate.start,
        end: candidate.end,
        ...site,
        syncOnly: site.twin.startsWith(NO_TWIN),
      });
    }
    return sites;
  }
}
