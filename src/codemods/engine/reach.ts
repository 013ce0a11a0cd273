/**
 * Which files can hold a finding at all: a finding needs the ORM or the connection function, and a
 * file only sees those through its imports. A file whose imports (followed through the project,
 * from the text alone) never lead to an ORM or connection module is never parsed — so a Flow-typed
 * `.js`, random bytes saved as `.js` or a repository that never imports the ORM cost a read and a
 * regular expression, not a parse, and never fail the gate with a parse error.
 */
import { readFileSync } from 'node:fs';
import { sep } from 'node:path';

/** Module specifiers in a text: import/export … from, bare import, import(), require(), `/// <reference path>`. */
const SPECIFIER = /(?:\bfrom|\bimport|\brequire)\s*\(?\s*(['"])([^'"\n\r]{1,300})\1|<reference\s+path\s*=\s*(['"])([^'"\n\r]{1,300})\3/g;

export function moduleSpecifiersOf(text: string): string[] {
  const specifiers: string[] = [];
  for (const match of text.matchAll(SPECIFIER)) {
    const specifier = match[2] ?? (match[4] === undefined ? undefined : match[4].startsWith('.') ? match[4] : `./${match[4]}`);
    if (specifier !== undefined) specifiers.push(specifier);
  }
  return specifiers;
}

export interface ReachRules {
  /** The file a specifier written in `fromFile` names, if it is a file the scan can follow. */
  resolve(fromFile: string, specifier: string): string | undefined;
  /** Is this specifier (as written) an ORM or connection module? */
  isOrmSpecifier(specifier: string): boolean;
  /** Is this resolved file part of an ORM or connection module? */
  isOrmFile(file: string): boolean;
}

const NODE_MODULES = `${sep}node_modules${sep}`;

/** A file's text for the import scan (undefined when it cannot be read). */
export type TextReader = (file: string) => string | undefined;

export function readTextOrUndefined(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The candidates whose import graph reaches the ORM (the ORM module files themselves included).
 * Other files' texts come from `readText`; packages under node_modules are not followed.
 */
export function filesReachingOrm(candidates: Iterable<string>, rules: ReachRules, readText: TextReader): Set<string> {
  const importers = new Map<string, string[]>();
  const seeds: string[] = [];
  const visited = new Set<string>();
  const queue = [...candidates];
  for (const file of queue) visited.add(file);
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (rules.isOrmFile(file)) {
      seeds.push(file);
      continue;
    }
    const text = readText(file);
    if (text === undefined) continue;
    for (const specifier of moduleSpecifiersOf(text)) {
      if (rules.isOrmSpecifier(specifier)) {
        seeds.push(file);
        break;
      }
      const target = rules.resolve(file, specifier);
      if (target === undefined) continue;
      if (rules.isOrmFile(target)) {
        seeds.push(file);
        break;
      }
      if (target.includes(NODE_MODULES)) continue;
      const list = importers.get(target);
      if (list) list.push(file);
      else importers.set(target, [file]);
      if (!visited.has(target)) {
        visited.add(target);
        queue.push(target);
      }
    }
  }
  // Backwards from the files that touch the ORM to everything that imports them.
  const reaching = new Set<string>(seeds);
  const pending = [...seeds];
  while (pending.length > 0) {
    const file = pending.pop() as string;
    for (const importer of importers.get(file) ?? []) {
      if (!reaching.has(importer)) {
        reaching.add(importer);
        pending.push(importer);
      }
    }
  }
  return reaching;
}
