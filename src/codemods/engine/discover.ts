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

/**
 * Input the scan could not look at: a pattern that matched no file, a file or directory it could
 * not read. The CLI reports each and exits 2 (the first kind only unless --no-error-on-unmatched-pattern).
 */
export interface InputProblem {
  kind: 'unmatched-pattern' | 'unreadable';
  /** The pattern as given, or the absolute path. */
  path: string;
  message: string;
}

export interface DiscoveryResult {
  /** Absolute paths, sorted, without duplicates. */
  files: string[];
  notes: string[];
  problems: InputProblem[];
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

/** Why a path could not be read, in the words of its error code. */
export function unreadable(path: string, what: 'file' | 'directory', error: unknown): InputProblem {
  const code = (error as NodeJS.ErrnoException).code ?? String(error);
  return { kind: 'unreadable', path, message: `cannot read the ${what} ${path} (${code})` };
}

function walk(directory: string, ignores: IgnoreFile[], onFile: (path: string) => void, problems: InputProblem[]): void {
  let entries;
  try {
    entries = readdirSync(directory, { withFileTypes: true });
  } catch (error) {
    // Never skipped silently: a scan that could not look everywhere must not pass as clean.
    problems.push(unreadable(directory, 'directory', error));
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
      walk(path, active, onFile, problems);
    } else if (isSourceFile(entry.name) && !isIgnored(path, false, active)) {
      if (entry.isFile()) {
        onFile(path);
      } else if (entry.isSymbolicLink()) {
        // A link to a source file is scanned; a dangling one is reported (links to directories are not followed).
        try {
          if (statSync(path).isFile()) onFile(path);
        } catch (error) {
          problems.push(unreadable(path, 'file', error));
        }
      } else {
        problems.push({ kind: 'unreadable', path, message: `cannot read ${path}: not a regular file` });
      }
    }
  }
}

export function discoverFiles(options: DiscoveryOptions): DiscoveryResult {
  const found = new Set<string>();
  const notes: string[] = [];
  const problems: InputProblem[] = [];
  const patterns = options.patterns.length > 0 ? options.patterns : ['.'];

  for (const pattern of patterns) {
    const absolute = resolve(options.cwd, pattern);
    if (existsSync(absolute)) {
      const stats = statSync(absolute);
      if (stats.isDirectory()) {
        const before = found.size;
        const problemsBefore = problems.length;
        walk(absolute, ancestorIgnores(absolute, options.cwd), (file) => found.add(file), problems);
        if (found.size === before && problems.length === problemsBefore) problems.push({ kind: 'unmatched-pattern', path: pattern, message: `no JavaScript or TypeScript files in ${pattern}` });
      } else if (!stats.isFile()) {
        problems.push({ kind: 'unreadable', path: absolute, message: `cannot read ${pattern}: not a regular file` });
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
    const problemsBefore = problems.length;
    if (existsSync(base)) {
      walk(
        base,
        ancestorIgnores(base, options.cwd),
        (file) => {
          if (matches(toPosix(file))) found.add(file);
        },
        problems,
      );
    }
    if (found.size === before && problems.length === problemsBefore) problems.push({ kind: 'unmatched-pattern', path: pattern, message: `no files match the pattern ${pattern}` });
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
  return { files, notes, problems };
}
