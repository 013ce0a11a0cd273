/**
 * The text prefilter: a file whose text names no ORM method, no ORM module, not the connection
 * or thread-wrapper function and not the async-unsafe environment variable is never parsed.
 */

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export interface PrefilterTokens {
  /** Identifiers matched as whole words (method and function names, the environment variable). */
  words: readonly string[];
  /** Module specifiers matched anywhere in the text. */
  modules: readonly string[];
}

export function buildPrefilter(tokens: PrefilterTokens): (text: string) => boolean {
  const words = [...new Set(tokens.words)].sort((a, b) => b.length - a.length).map(escapeRegExp);
  const modules = [...new Set(tokens.modules)].map(escapeRegExp);
  const alternatives: string[] = [];
  if (words.length > 0) alternatives.push(`(?<![\\w$])(?:${words.join('|')})(?![\\w$])`);
  if (modules.length > 0) alternatives.push(...modules);
  if (alternatives.length === 0) return () => false;
  const regex = new RegExp(alternatives.join('|'));
  return (text) => regex.test(text);
}

/** A re-export (`export * from`, `export { x } from`): how ORM names flow through barrel files. */
const REEXPORT = /\bexport\s*(?:\*|\{[^}]*\})\s*from\b|\bmodule\.exports\s*=\s*require\(/;

export function hasReexport(text: string): boolean {
  return REEXPORT.test(text);
}
