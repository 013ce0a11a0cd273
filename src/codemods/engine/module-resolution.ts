/**
 * Without a type checker: which project file a relative import names. Follows the rules
 * TypeScript applies (`./x.js` may be `./x.ts`, `./x` may be `./x/index.ts`); a bare specifier
 * stays as written, since ORM modules are matched by specifier.
 */
import { statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';

const SOURCE_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs', '.d.ts'];
const JS_TO_TS: Record<string, string[]> = {
  '.js': ['.ts', '.tsx', '.d.ts', '.js', '.jsx'],
  '.jsx': ['.tsx', '.jsx'],
  '.mjs': ['.mts', '.d.mts', '.mjs'],
  '.cjs': ['.cts', '.d.cts', '.cjs'],
};

export class SpecifierResolver {
  private readonly isFileCache = new Map<string, boolean>();
  private readonly resolved = new Map<string, string | undefined>();

  private isFile(path: string): boolean {
    let known = this.isFileCache.get(path);
    if (known === undefined) {
      try {
        known = statSync(path).isFile();
      } catch {
        known = false;
      }
      this.isFileCache.set(path, known);
    }
    return known;
  }

  /** Module key for `specifier` written in `fromFile`: an absolute file path, the bare specifier, or undefined (missing file). */
  resolveFrom(fromFile: string, specifier: string): string | undefined {
    if (!specifier.startsWith('.') && !isAbsolute(specifier)) return specifier;
    const base = resolve(dirname(fromFile), specifier);
    if (this.resolved.has(base)) return this.resolved.get(base);
    const found = this.resolvePath(base);
    this.resolved.set(base, found);
    return found;
  }

  /** A path (without or with an extension) to an existing source file. */
  resolvePath(base: string): string | undefined {
    const extension = /\.[cm]?jsx?$/.exec(base)?.[0];
    if (extension) {
      const stem = base.slice(0, -extension.length);
      for (const candidate of JS_TO_TS[extension] ?? []) if (this.isFile(stem + candidate)) return stem + candidate;
    }
    if (/\.[cm]?tsx?$/.test(base) && this.isFile(base)) return base;
    for (const candidate of SOURCE_EXTENSIONS) if (this.isFile(base + candidate)) return base + candidate;
    for (const candidate of SOURCE_EXTENSIONS) if (this.isFile(`${base}/index${candidate}`)) return `${base}/index${candidate}`;
    return undefined;
  }
}
