/**
 * Glob patterns over forward-slash relative paths: `**` (any number of segments), `*` and `?`
 * (within a segment), `[abc]` / `[!abc]`, `{a,b}`, and `\` to escape.
 */

const GLOB_MAGIC = /[*?[\]{}]/;

export function hasGlobMagic(pattern: string): boolean {
  return GLOB_MAGIC.test(pattern);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Translates a glob to the source of a regular expression (no anchors). */
export function globToRegExpSource(pattern: string): string {
  let out = '';
  let braceDepth = 0;
  for (let i = 0; i < pattern.length; i += 1) {
    const char = pattern[i] as string;
    if (char === '\\' && i + 1 < pattern.length) {
      out += escapeRegExp(pattern[i + 1] as string);
      i += 1;
    } else if (char === '*') {
      if (pattern[i + 1] === '*') {
        const atSegmentStart = i === 0 || pattern[i - 1] === '/';
        const atSegmentEnd = i + 2 === pattern.length || pattern[i + 2] === '/';
        if (atSegmentStart && atSegmentEnd) {
          if (pattern[i + 2] === '/') {
            out += '(?:[^/]+/)*';
            i += 2;
          } else {
            out += '.*';
            i += 1;
          }
          continue;
        }
        i += 1;
      }
      out += '[^/]*';
    } else if (char === '?') {
      out += '[^/]';
    } else if (char === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close === -1) {
        out += '\\[';
      } else {
        let body = pattern.slice(i + 1, close);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        out += `[${body.replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else if (char === '{') {
      braceDepth += 1;
      out += '(?:';
    } else if (char === '}' && braceDepth > 0) {
      braceDepth -= 1;
      out += ')';
    } else if (char === ',' && braceDepth > 0) {
      out += '|';
    } else {
      out += escapeRegExp(char);
    }
  }
  return out;
}

/** A matcher for whole relative paths (forward slashes, no leading `./`). */
export function globMatcher(pattern: string): (path: string) => boolean {
  const normalized = pattern.replace(/^\.\//, '');
  const regex = new RegExp(`^${globToRegExpSource(normalized)}$`);
  return (path) => regex.test(path);
}

/** The leading directory of a glob that has no magic in it (`src/**\/*.ts` → `src`). */
export function globBase(pattern: string): string {
  const segments = pattern.split('/');
  const base: string[] = [];
  for (const segment of segments) {
    if (hasGlobMagic(segment)) break;
    base.push(segment);
  }
  if (base.length === segments.length) base.pop();
  return base.join('/') || '.';
}
