/** Configured module specifiers (bare, or paths relative to the config) as module keys the engine compares. */
import { isAbsolute, resolve } from 'node:path';
import type { LoadedConfig } from './config.js';
import type { SpecifierResolver } from './module-resolution.js';
import { isProjectModule } from './origin-resolver.js';

export function isPathSpecifier(specifier: string): boolean {
  return specifier.startsWith('.') || isAbsolute(specifier);
}

/** Module keys as the engine uses them: absolute paths for project files, the specifier for packages (and their subpaths). */
export class ModuleKeys {
  private readonly exact = new Set<string>();
  private readonly packages: string[] = [];

  constructor(specifiers: readonly string[], config: LoadedConfig, resolver: SpecifierResolver) {
    for (const specifier of specifiers) {
      if (isPathSpecifier(specifier)) {
        const base = resolve(config.baseDir, specifier);
        this.exact.add(resolver.resolvePath(base) ?? base);
      } else if (specifier.endsWith('/*')) {
        // `@scope/*`: every package of the scope (a preset's ORM spans several packages).
        this.packages.push(specifier.slice(0, -1));
      } else {
        this.exact.add(specifier);
        this.packages.push(`${specifier}/`);
      }
    }
  }

  matches(module: string): boolean {
    return this.exact.has(module) || (!isProjectModule(module) && this.packages.some((prefix) => module.startsWith(prefix)));
  }
}
