/**
 * Follows imports through the project without types: where does an imported name really come
 * from (re-exports, `export *`, CommonJS `module.exports`), and does it derive from the ORM?
 */
import type { EvidenceTarget, ExportFact, FileFacts, Origin } from './facts.js';

/** Facts of a project file by absolute path (loaded on demand for files outside the scan). */
export type FactsProvider = (file: string) => FileFacts | undefined;

export interface ModuleMatchers {
  /** The module key is one of the ORM modules. */
  isOrmModule(module: string): boolean;
  /** The module key is the connection function's module. */
  isConnectionModule(module: string): boolean;
  connectionName: string;
  syncToAsyncName: string;
}

export type CanonicalExport =
  | { kind: 'external'; module: string; name: string }
  | { kind: 'local'; file: string; name: string; fact: ExportFact | undefined };

export function isProjectModule(module: string): boolean {
  return module.startsWith('/') || /^[A-Za-z]:[\\/]/.test(module);
}

const MAX_HOPS = 30;

export class OriginResolver {
  private readonly ormMemo = new Map<string, boolean>();
  private readonly ormInProgress = new Set<string>();

  constructor(
    private readonly facts: FactsProvider,
    private readonly matchers: ModuleMatchers,
  ) {}

  /** Where an export really lives, following re-exports and `export *`. */
  canonical(origin: Origin, hops = 0): CanonicalExport | undefined {
    if (!isProjectModule(origin.module)) return { kind: 'external', module: origin.module, name: origin.name };
    if (hops > MAX_HOPS) return undefined;
    const facts = this.facts(origin.module);
    if (!facts) return undefined;
    const fact = facts.exports[origin.name];
    if (fact?.reexport) return this.canonical(fact.reexport, hops + 1);
    if (fact || origin.name === '*') return { kind: 'local', file: origin.module, name: origin.name, fact };
    for (const star of facts.starExports) {
      const found = this.canonical({ module: star, name: origin.name }, hops + 1);
      if (found && (found.kind === 'external' || found.fact)) return found;
    }
    return undefined;
  }

  /** Does any of these origins make the value what the evidence asks about? */
  matches(target: EvidenceTarget, origins: readonly Origin[]): boolean {
    if (target !== 'orm') return origins.some((origin) => this.matchesOne(target, origin));
    // Most candidates of a file share their receivers' origin objects (one per import): answer
    // each once. Only here, outside any derivation in progress, where the answer is final.
    for (const origin of origins) {
      let result = this.ormOriginMemo.get(origin);
      if (result === undefined) this.ormOriginMemo.set(origin, (result = this.matchesOne(target, origin)));
      if (result) return true;
    }
    return false;
  }

  private readonly ormOriginMemo = new Map<Origin, boolean>();

  /**
   * A lazy foreign-key read without types: the related model's name (as the definition writes it,
   * '' when not a plain name) when an origin of the receiver is a model of the ORM whose definition
   * declares `field` with `foreignKey(…)`; undefined otherwise.
   */
  foreignKeyTarget(origins: readonly Origin[], field: string): string | undefined {
    for (const origin of origins) {
      const found = this.canonical(origin);
      if (!found || found.kind !== 'local') continue;
      const related = found.fact?.foreignKeys?.[field];
      if (related !== undefined && this.matches('orm', [origin])) return related;
    }
    return undefined;
  }

  private matchesOne(target: EvidenceTarget, origin: Origin): boolean {
    if (target === 'orm') {
      const found = this.canonical(origin);
      return found !== undefined && this.derivesFromOrm(found);
    }
    // An import of a name its module does not export is not the function, whatever it is called.
    const real = this.canonical(origin);
    if (!real || (real.kind === 'local' && !real.fact)) return false;
    // The connection function (or the thread wrapper) may be re-exported under the configured
    // name: any hop of the re-export chain that is (module, name) counts.
    const wanted = target === 'connection' ? this.matchers.connectionName : this.matchers.syncToAsyncName;
    const isModule = target === 'connection' ? this.matchers.isConnectionModule : this.matchers.isOrmModule;
    return this.reexportChain(origin).some((hop) => hop.name === wanted && isModule(hop.module));
  }

  /** The origin itself and every re-export it passes through, up to where the value is defined. */
  private reexportChain(origin: Origin): Origin[] {
    const chain: Origin[] = [origin];
    let current: Origin | undefined = origin;
    for (let hops = 0; current && isProjectModule(current.module) && hops < MAX_HOPS; hops += 1) {
      const facts = this.facts(current.module);
      if (!facts) break;
      const fact: ExportFact | undefined = facts.exports[current.name];
      let next: Origin | undefined = fact?.reexport;
      if (!fact) {
        for (const star of facts.starExports) {
          const found = this.canonical({ module: star, name: current.name });
          if (found) {
            next = { module: star, name: current.name };
            break;
          }
        }
      }
      if (!next) break;
      chain.push(next);
      current = next;
    }
    return chain;
  }

  private derivesFromOrm(found: CanonicalExport): boolean {
    if (found.kind === 'external') return this.matchers.isOrmModule(found.module);
    if (this.matchers.isOrmModule(found.file)) return true;
    if (!found.fact) return false;
    const key = `${found.file}\0${found.name}`;
    const memo = this.ormMemo.get(key);
    if (memo !== undefined) return memo;
    if (this.ormInProgress.has(key)) return false;
    this.ormInProgress.add(key);
    const result = found.fact.origins.some((origin) => this.matchesOne('orm', origin));
    this.ormInProgress.delete(key);
    this.ormMemo.set(key, result);
    return result;
  }
}
