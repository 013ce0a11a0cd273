/**
 * .gitignore semantics, enough for file discovery: blank lines and `#` comments, `!` negation
 * (last match wins), a trailing `/` for directories only, a `/` elsewhere anchors the pattern to
 * the .gitignore's directory, otherwise it matches a name at any depth.
 */
import { readFileSync } from 'node:fs';
import { globToRegExpSource } from './glob.js';

interface IgnoreRule {
  regex: RegExp;
  negate: boolean;
  directoryOnly: boolean;
}

export class IgnoreFile {
  private constructor(
    /** Absolute directory the patterns are relative to (forward slashes). */
    readonly directory: string,
    private readonly rules: IgnoreRule[],
  ) {}

  static parse(directory: string, text: string): IgnoreFile {
    const rules: IgnoreRule[] = [];
    for (const rawLine of text.split(/\r?\n/)) {
      let line = rawLine.replace(/(?<!\\)\s+$/, '');
      if (line === '' || line.startsWith('#')) continue;
      let negate = false;
      if (line.startsWith('!')) {
        negate = true;
        line = line.slice(1);
      } else if (line.startsWith('\\!') || line.startsWith('\\#')) {
        line = line.slice(1);
      }
      let directoryOnly = false;
      if (line.endsWith('/')) {
        directoryOnly = true;
        line = line.slice(0, -1);
      }
      if (line === '') continue;
      const anchored = line.includes('/');
      if (line.startsWith('/')) line = line.slice(1);
      const source = globToRegExpSource(line);
      // A pattern also ignores everything below a matching directory.
      const regex = new RegExp(anchored ? `^${source}(?:/.*)?$` : `^(?:.*/)?${source}(?:/.*)?$`);
      rules.push({ regex, negate, directoryOnly });
    }
    return new IgnoreFile(directory, rules);
  }

  static read(directory: string, file: string): IgnoreFile | undefined {
    try {
      return IgnoreFile.parse(directory, readFileSync(file, 'utf8'));
    } catch {
      return undefined;
    }
  }

  /** true: ignored, false: re-included by a negation, undefined: no rule matched. */
  test(relativePath: string, isDirectory: boolean): boolean | undefined {
    let verdict: boolean | undefined;
    for (const rule of this.rules) {
      let matched: boolean;
      if (rule.directoryOnly && !isDirectory) {
        // A directory-only rule applies to a file only through one of its parent directories.
        const parent = relativePath.includes('/') ? relativePath.slice(0, relativePath.lastIndexOf('/')) : '';
        matched = parent !== '' && rule.regex.test(parent);
      } else {
        matched = rule.regex.test(relativePath);
      }
      if (matched) verdict = !rule.negate;
    }
    return verdict;
  }
}
