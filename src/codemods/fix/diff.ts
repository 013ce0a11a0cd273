/** Unified diffs (as `git diff` prints them) of a file before and after the fix, for `--dry-run`. */

type Operation = { kind: 'equal' | 'delete' | 'insert'; line: string };

/** Lines with their line breaks, so a changed line ending shows up as a change. */
function splitLines(text: string): string[] {
  const lines = text.split(/(?<=\n)/);
  return lines.length === 1 && lines[0] === '' ? [] : lines;
}

/** Myers' O(ND) shortest edit script. */
function diffLines(a: readonly string[], b: readonly string[]): Operation[] {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = false;
  for (let d = 0; d <= max && !found; d += 1) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && (v[offset + k - 1] as number) < (v[offset + k + 1] as number)) ? (v[offset + k + 1] as number) : (v[offset + k - 1] as number) + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x += 1;
        y += 1;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
  }
  const operations: Operation[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d -= 1) {
    const previous = trace[d] as Int32Array;
    const k = x - y;
    const down = k === -d || (k !== d && (previous[offset + k - 1] as number) < (previous[offset + k + 1] as number));
    const previousK = down ? k + 1 : k - 1;
    const previousX = previous[offset + previousK] as number;
    const previousY = previousX - previousK;
    while (x > previousX && y > previousY) {
      operations.push({ kind: 'equal', line: a[x - 1] as string });
      x -= 1;
      y -= 1;
    }
    if (d > 0) {
      if (down) operations.push({ kind: 'insert', line: b[y - 1] as string });
      else operations.push({ kind: 'delete', line: a[x - 1] as string });
    }
    x = previousX;
    y = previousY;
  }
  return operations.reverse();
}

function printLine(prefix: string, line: string): string {
  if (line.endsWith('\n')) return `${prefix}${line}`;
  return `${prefix}${line}\n\\ No newline at end of file\n`;
}

/** `--- a/<name>` / `+++ b/<name>` and hunks with `context` lines around each change; '' when equal. */
export function unifiedDiff(name: string, before: string, after: string, context = 3): string {
  if (before === after) return '';
  const operations = diffLines(splitLines(before), splitLines(after));
  const hunks: string[] = [];
  let index = 0;
  while (index < operations.length) {
    while (index < operations.length && operations[index]?.kind === 'equal') index += 1;
    if (index >= operations.length) break;
    const start = Math.max(0, index - context);
    let end = index;
    // Extend over changes separated by at most 2 × context equal lines.
    for (;;) {
      while (end < operations.length && operations[end]?.kind !== 'equal') end += 1;
      let equal = end;
      while (equal < operations.length && operations[equal]?.kind === 'equal') equal += 1;
      if (equal < operations.length && equal - end <= 2 * context) {
        end = equal;
        continue;
      }
      end = Math.min(operations.length, end + context);
      break;
    }
    let oldLine = 1;
    let newLine = 1;
    for (let before = 0; before < start; before += 1) {
      const kind = operations[before]?.kind;
      if (kind !== 'insert') oldLine += 1;
      if (kind !== 'delete') newLine += 1;
    }
    let oldCount = 0;
    let newCount = 0;
    const body: string[] = [];
    for (let at = start; at < end; at += 1) {
      const operation = operations[at] as Operation;
      if (operation.kind !== 'insert') oldCount += 1;
      if (operation.kind !== 'delete') newCount += 1;
      body.push(printLine(operation.kind === 'equal' ? ' ' : operation.kind === 'delete' ? '-' : '+', operation.line));
    }
    const range = (line: number, count: number): string => `${count === 0 ? line - 1 : line}${count === 1 ? '' : `,${count}`}`;
    hunks.push(`@@ -${range(oldLine, oldCount)} +${range(newLine, newCount)} @@\n${body.join('')}`);
    index = end;
  }
  return `--- a/${name}\n+++ b/${name}\n${hunks.join('')}`;
}
