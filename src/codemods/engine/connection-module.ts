/**
 * Where the connection function really lives. The config may name its module; without that,
 * it is the first ORM module that really exports it (a team's own facade that re-exports the
 * runtime), else `orm-migrate/runtime`, which always does. "Really exports" is checked by
 * resolving: the module's file is parsed and its re-exports followed, so a fix never imports a
 * name from a module that does not have it.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CONNECTION_FUNCTION, RUNTIME_MODULE } from '../../runtime-shim/surface.js';
import type { LoadedConfig } from './config.js';
import type { FileFacts } from './facts.js';
import { SpecifierResolver } from './module-resolution.js';
import { isPathSpecifier } from './module-keys.js';
import { OriginResolver } from './origin-resolver.js';
import { analyzeSyntactically, surfaceFromConfig } from './syntactic.js';

type Exported = 'yes' | 'no' | 'unknown';

class ExportChecker {
  private readonly specifiers = new SpecifierResolver();
  private readonly facts = new Map<string, FileFacts | undefined>();
  private readonly resolver: OriginResolver;

  constructor(private readonly config: LoadedConfig) {
    const surface = surfaceFromConfig(config);
    this.resolver = new OriginResolver(
      (file) => {
        if (!this.facts.has(file)) {
          let facts: FileFacts | undefined;
          try {
            facts = analyzeSyntactically(file, readFileSync(file, 'utf8'), surface, [], this.specifiers);
          } catch {
            facts = undefined;
          }
          this.facts.set(file, facts);
        }
        return this.facts.get(file);
      },
      { isOrmModule: () => false, isConnectionModule: () => false, connectionName: config.connection.name, syncToAsyncName: '' },
    );
  }

  /** The file a configured module names: a path relative to the config, or a package resolved from there. */
  private entryOf(module: string): string | undefined {
    if (isPathSpecifier(module)) return this.specifiers.resolvePath(resolve(this.config.baseDir, module));
    try {
      return createRequire(join(this.config.baseDir, 'package.json')).resolve(module);
    } catch {
      return undefined;
    }
  }

  exports(module: string, name: string): Exported {
    if (module === RUNTIME_MODULE) return name === CONNECTION_FUNCTION ? 'yes' : 'no';
    const entry = this.entryOf(module);
    if (entry === undefined) return 'unknown';
    const found = this.resolver.canonical({ module: entry, name });
    if (!found) return 'no';
    if (found.kind === 'external') return found.module === RUNTIME_MODULE ? (found.name === CONNECTION_FUNCTION ? 'yes' : 'no') : 'unknown';
    return found.fact ? 'yes' : 'no';
  }
}

/** The config with the connection function's module decided and `exported` set (idempotent). */
export function settleConnectionModule(config: LoadedConfig): LoadedConfig {
  const connection = config.connection;
  if (connection.exported !== undefined) return config;
  // Only the runtime preset has a connection function (another preset says what opens its context).
  if (config.preset !== 'runtime') return { ...config, connection: { ...connection, exported: false } };
  const checker = new ExportChecker(config);
  if (connection.moduleConfigured) {
    // The user named it: trust a package we cannot look into, refuse a file that lacks it.
    return { ...config, connection: { ...connection, exported: checker.exports(connection.module, connection.name) !== 'no' } };
  }
  const candidates = [...new Set([...config.ormModules, RUNTIME_MODULE])];
  const module = candidates.find((candidate) => checker.exports(candidate, connection.name) === 'yes');
  return { ...config, connection: { ...connection, module: module ?? candidates[0] ?? RUNTIME_MODULE, exported: module !== undefined } };
}
