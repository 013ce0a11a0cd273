/**
 * Which files a scan looks at: positional paths or globs (default `.`), JavaScript and TypeScript
 * sources only, .gitignore respected, node_modules / dist / .d.ts skipped, then the config's
 * include and exclude globs.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { IgnoreFile } from './gitignore.js';
import { globBase, globMatcher, hasGlobMagic } from './glob.js';

export const SOURCE_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'] as const;
const SKIPPED_DIRECTORIES = new Set(['node_modules', 'dist', '.git']);
const DECLARATION_FILE = /\.d\.[cm]?ts$/;

export interface DiscoveryOptions {
  cwd: string;
  /** Files, directories or globs, relative to cwd or absolute. */
  patterns: readonly string[];
  include: readonly string[];
  exclude: readonly string[];
  /** Directory include/exclude globs are relative to. */
  configBaseDir: string;
}

export interface DiscoveryResult {
  /** Absolute paths, sorted, without duplicates. */
  files: string[];
  notes: string[];
}

/** A path argument that names nothing: bad usage. */
export class DiscoveryError extends Error {
  override name = 'DiscoveryError';
}

export function toPosix(path: string): string {
  return sep === '/' ? path : path.split(sep).join('/');
}

export function isSourceFile(path: string): boolean {
  return SOURCE_EXTENSIONS.some((extension) => path.endsWith(extension)) && !DECLARATION_FILE.test(path);
}

function findGitRoot(start: string): string | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, '.git'))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/** .gitignore files that apply above a walk root: from the repository root (else the working directory) down to the root's parent. */
function ancestorIgnores(root: string, cwd: string): IgnoreFile[] {
  const top = findGitRoot(root) ?? cwd;
  const chain: string[] = [];
  for (let dir = dirname(root); isAbsolute(dir) && (dir === top || dir.startsWith(top + sep)); dir = dirname(dir)) {
    chain.unshift(dir);
    if (dir === top) break;
  }
  return chain.map((dir) => IgnoreFile.read(toPosix(dir), join(dir, '.gitignore'))).filter((file): file is IgnoreFile => file !== undefined);
}

function isIgnored(path: string, isDirectory: boolean, ignores: readonly IgnoreFile[]): boolean {
  let verdict: boolean | undefined;
  const posix = toPosix(path);
  for (const ignore of ignores) {
    const rel = posix.startsWith(`${ignore.directory}/`) ? posix.slice(ignore.directory.length + 1) : undefined;
    if (rel === undefined) continue;
    const result = ignore.test(rel, isDirectory);
    if (result !== undefined) verdict = result;
  }
  return verdict === true;
}

function walk(directory: string, ignores: IgnoreFile[], onFile: (path: string) => void): void {
  let entries;
  try {
    entries = readdirSync(directory, { withFileTypes: true });
  } catch {
    return;
  }
  const local = entries.some((entry) => entry.name === '.gitignore' && entry.isFile())
    ? IgnoreFile.read(toPosix(directory), join(directory, '.gitignore'))
    : undefined;
  const active = local ? [...ignores, local] : ignores;
  for (const entry of entries) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) {
      if (SKIPPED_DIRECTORIES.has(entry.name) || isIgnored(path, true, active)) continue;
      walk(path, active, onFile);
    } else if (entry.isFile() && isSourceFile(entry.name) && !isIgnored(path, false, active)) {
      onFile(path);
    }
  }
}

export function discoverFiles(options: DiscoveryOptions): DiscoveryResult {
  const found = new Set<string>();
  const notes: string[] = [];
  const patterns = options.patterns.length > 0 ? options.patterns : ['.'];

  for (const pattern of patterns) {
    const absolute = resolve(options.cwd, pattern);
    if (existsSync(absolute)) {
      const stats = statSync(absolute);
      if (stats.isDirectory()) {
        walk(absolute, ancestorIgnores(absolute, options.cwd), (file) => found.add(file));
      } else if (isSourceFile(absolute)) {
        // A file named explicitly is scanned even when a .gitignore would skip it.
        found.add(absolute);
      } else {
        notes.push(`skipped ${pattern}: not a JavaScript or TypeScript source file`);
      }
      continue;
    }
    if (!hasGlobMagic(pattern)) throw new DiscoveryError(`no such file or directory: ${pattern}`);
    const absolutePattern = toPosix(isAbsolute(pattern) ? pattern : join(options.cwd, pattern));
    const matches = globMatcher(absolutePattern);
    const base = globBase(absolutePattern);
    const before = found.size;
    if (existsSync(base)) {
      walk(base, ancestorIgnores(base, options.cwd), (file) => {
        if (matches(toPosix(file))) found.add(file);
      });
    }
    if (found.size === before) notes.push(`no files match ${pattern}`);
  }

  const include = options.include.map(globMatcher);
  const exclude = options.exclude.map(globMatcher);
  const files = [...found]
    .filter((file) => {
      const rel = toPosix(relative(options.configBaseDir, file));
      if (include.length > 0 && !include.some((matches) => matches(rel))) return false;
      return !exclude.some((matches) => matches(rel));
    })
    .sort();
  return { files, notes };
}
