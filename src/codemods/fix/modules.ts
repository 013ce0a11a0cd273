/** Configured module specifiers (bare, or paths relative to the config) as the fix writes them. */
import { dirname, relative, resolve } from 'node:path';
import type { LoadedConfig } from '../engine/config.js';
import { toPosix } from '../engine/discover.js';
import { isPathSpecifier } from '../engine/module-keys.js';
import type { SpecifierResolver } from '../engine/module-resolution.js';
import type { ModuleRef } from './imports.js';

const TS_TO_JS: Record<string, string> = { '.ts': '.js', '.tsx': '.js', '.mts': '.mjs', '.cts': '.cjs' };

/** The configured module as `file` imports it: the same bare specifier, or a relative path to the same file. */
export function moduleRefFor(file: string, configured: string, config: LoadedConfig, resolver: SpecifierResolver): ModuleRef {
  if (!isPathSpecifier(configured)) return { specifier: configured, matches: (specifier) => specifier === configured };
  const base = resolve(config.baseDir, configured);
  const target = resolver.resolvePath(base) ?? base;
  let specifier = toPosix(relative(dirname(file), target));
  const extension = /\.(?:[cm]?ts|tsx)$/.exec(specifier)?.[0];
  if (extension && !specifier.endsWith('.d.ts')) specifier = specifier.slice(0, -extension.length) + (TS_TO_JS[extension] ?? '.js');
  if (!specifier.startsWith('.')) specifier = `./${specifier}`;
  return { specifier, matches: (written) => isPathSpecifier(written) && resolver.resolveFrom(file, written) === target };
}
