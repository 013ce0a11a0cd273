/** Configured module specifiers (bare, or paths relative to the config) as the fix writes them. */
import { dirname, relative, resolve } from 'node:path';
import ts from '../typescript.cjs';
import type { LoadedConfig } from '../engine/config.js';
import { toPosix } from '../engine/discover.js';
import { isPathSpecifier } from '../engine/module-keys.js';
import type { SpecifierResolver } from '../engine/module-resolution.js';
import type { ModuleRef } from './imports.js';

/** What a file's own relative imports look like: `./models.js` (with an extension) or `./models`. */
export type RelativeImportStyle = 'extension' | 'extensionless';

/** The runtime extension a source or declaration file is imported by (`.d.ts` and `.ts` → `.js`). */
const RUNTIME_EXTENSIONS: [RegExp, string][] = [
  [/\.d\.ts$/, '.js'],
  [/\.d\.mts$/, '.mjs'],
  [/\.d\.cts$/, '.cjs'],
  [/\.tsx?$/, '.js'],
  [/\.mts$/, '.mjs'],
  [/\.cts$/, '.cjs'],
  [/\.jsx$/, '.js'],
];

/** Relative specifiers of the file's imports, exports and requires. */
function relativeSpecifiers(sourceFile: ts.SourceFile): string[] {
  const found: string[] = [];
  for (const statement of sourceFile.statements) {
    let specifier: ts.Expression | undefined;
    if ((ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) && statement.moduleSpecifier) specifier = statement.moduleSpecifier;
    else if (ts.isVariableStatement(statement)) {
      const initializer = statement.declarationList.declarations[0]?.initializer;
      if (initializer && ts.isCallExpression(initializer) && ts.isIdentifier(initializer.expression) && initializer.expression.text === 'require') specifier = initializer.arguments[0];
    }
    if (specifier && ts.isStringLiteralLike(specifier) && specifier.text.startsWith('.')) found.push(specifier.text);
  }
  return found;
}

/** Extensionless only when the file's relative imports are (a file without any gets extensions, valid everywhere). */
export function relativeImportStyle(sourceFile: ts.SourceFile): RelativeImportStyle {
  const specifiers = relativeSpecifiers(sourceFile);
  const withExtension = specifiers.filter((specifier) => /\.[cm]?[jt]sx?$|\.json$/.test(specifier)).length;
  return specifiers.length > 0 && withExtension === 0 ? 'extensionless' : 'extension';
}

/** A relative specifier from `file` to `target` in the given style. */
function relativeSpecifier(file: string, target: string, style: RelativeImportStyle): string {
  let specifier = toPosix(relative(dirname(file), target));
  const mapping = RUNTIME_EXTENSIONS.find(([pattern]) => pattern.test(specifier));
  if (mapping) specifier = specifier.replace(mapping[0], mapping[1]);
  if (style === 'extensionless' && /\.jsx?$/.test(specifier)) {
    // `.mjs`/`.cjs` keep theirs: no resolution maps an extensionless path to them.
    specifier = specifier.replace(/\.jsx?$/, '').replace(/(^|\/)index$/, '$1');
    if (specifier === '' || specifier.endsWith('/')) specifier = specifier === '' ? '.' : specifier.slice(0, -1) || '.';
  }
  if (!specifier.startsWith('.')) specifier = `./${specifier}`;
  return specifier;
}

/** The configured module as `file` imports it: the same bare specifier, or a relative path to the same file in the file's style. */
export function moduleRefFor(file: string, configured: string, config: LoadedConfig, resolver: SpecifierResolver, style: RelativeImportStyle = 'extension'): ModuleRef {
  if (!isPathSpecifier(configured)) return { specifier: configured, matches: (specifier) => specifier === configured };
  const base = resolve(config.baseDir, configured);
  const target = resolver.resolvePath(base) ?? base;
  return { specifier: relativeSpecifier(file, target, style), matches: (written) => isPathSpecifier(written) && resolver.resolveFrom(file, written) === target };
}
