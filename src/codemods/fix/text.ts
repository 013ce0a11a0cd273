/**
 * Edits are splices of the original text, applied in one pass from the end (django-upgrade's
 * way): whatever no edit touches stays byte for byte what it was.
 */

export interface TextEdit {
  start: number;
  end: number;
  text: string;
  /**
   * Re-indentation inserts at line starts: dropped when they fall inside a range another edit
   * replaces (that text is gone anyway), and applied before other inserts at the same offset.
   */
  indent?: boolean;
  /**
   * A whole line inserted at a line start (a block's closing `});`): applied before the
   * re-indentation at that offset, which belongs to the original line after it.
   */
  line?: boolean;
}

/** Two edits that replace overlapping text: a bug in the planner, never silently resolved. */
export class EditConflictError extends Error {
  override name = 'EditConflictError';
  constructor(file: string, a: TextEdit, b: TextEdit) {
    super(`${file}: overlapping edits at ${a.start}-${a.end} and ${b.start}-${b.end}`);
  }
}

export function applyEdits(file: string, text: string, edits: readonly TextEdit[]): string {
  if (edits.length === 0) return text;
  const indexed = edits.map((edit, order) => ({ edit, order }));
  // At one offset: whole inserted lines, indentation, other inserts, then the replacement that starts there.
  const rank = (edit: TextEdit): number => (edit.end > edit.start ? 3 : edit.line ? 0 : edit.indent ? 1 : 2);
  indexed.sort((a, b) => a.edit.start - b.edit.start || rank(a.edit) - rank(b.edit) || a.order - b.order);
  const replacements = indexed.filter(({ edit }) => edit.end > edit.start);
  for (let index = 1; index < replacements.length; index += 1) {
    const previous = replacements[index - 1] as { edit: TextEdit };
    const current = replacements[index] as { edit: TextEdit };
    if (current.edit.start < previous.edit.end) throw new EditConflictError(file, previous.edit, current.edit);
  }
  const kept = indexed.filter(({ edit }) => {
    if (edit.end > edit.start) return true;
    const inside = replacements.find(({ edit: other }) => other.start < edit.start && edit.start < other.end);
    if (!inside) return true;
    if (edit.indent) return false;
    throw new EditConflictError(file, inside.edit, edit);
  });
  const parts: string[] = [];
  let cursor = 0;
  for (const { edit } of kept) {
    parts.push(text.slice(cursor, edit.start), edit.text);
    cursor = Math.max(cursor, edit.end);
  }
  parts.push(text.slice(cursor));
  return parts.join('');
}

/** Offset of the first character of the line `offset` is on. */
export function lineStartOf(text: string, offset: number): number {
  const newline = text.lastIndexOf('\n', offset - 1);
  return newline + 1;
}

/** The spaces and tabs a line starts with. */
export function indentationAt(text: string, lineStart: number): string {
  let end = lineStart;
  while (end < text.length && (text[end] === ' ' || text[end] === '\t')) end += 1;
  return text.slice(lineStart, end);
}

/** Only whitespace between the start of its line and `offset`. */
export function isFirstOnLine(text: string, offset: number): boolean {
  return /^[ \t]*$/.test(text.slice(lineStartOf(text, offset), offset));
}

/** 1-based line and column of an offset. */
export function positionAt(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let index = text.indexOf('\n'); index !== -1 && index < offset; index = text.indexOf('\n', index + 1)) {
    line += 1;
    lineStart = index + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * Inserts that indent every line starting in (from, to] by one unit: blank lines stay blank,
 * and lines that start inside a template literal or string keep their bytes (they are its value).
 */
export function indentEdits(text: string, from: number, to: number, unit: string, literalRanges: readonly (readonly [number, number])[]): TextEdit[] {
  const edits: TextEdit[] = [];
  for (let newline = text.indexOf('\n', from); newline !== -1 && newline + 1 < to; newline = text.indexOf('\n', newline + 1)) {
    const lineStart = newline + 1;
    if (literalRanges.some(([start, end]) => start < lineStart && lineStart < end)) continue;
    const lineEnd = text.indexOf('\n', lineStart);
    if (/^[ \t]*\r?$/.test(text.slice(lineStart, lineEnd === -1 ? text.length : lineEnd))) continue;
    edits.push({ start: lineStart, end: lineStart, text: unit, indent: true });
  }
  return edits;
}
