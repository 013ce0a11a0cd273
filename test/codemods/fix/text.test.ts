/** The fix's building blocks: splices, re-indentation, unified diffs, style detection, imports. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSource } from '../../../src/codemods/engine/syntactic.js';
import { unifiedDiff } from '../../../src/codemods/fix/diff.js';
import { ImportCollisionError, planImportEdits } from '../../../src/codemods/fix/imports.js';
import type { ModuleRef } from '../../../src/codemods/fix/imports.js';
import { detectStyle } from '../../../src/codemods/fix/style.js';
import { EditConflictError, applyEdits, indentEdits } from '../../../src/codemods/fix/text.js';

const runtime: ModuleRef = { specifier: 'orm-migrate/runtime', matches: (specifier) => specifier === 'orm-migrate/runtime' };

function addImport(file: string, text: string, name = 'newConnection', drop: string[] = []): string {
  const sourceFile = parseSource(file, text);
  return applyEdits(file, text, planImportEdits(sourceFile, detectStyle(sourceFile), { add: [{ module: runtime, name }], drop: new Set(drop) }));
}

describe('fix: text splices', () => {
  it('applies edits from the end; what no edit touches stays byte for byte', () => {
    const text = 'a\r\n\tb // keep\r\nc';
    const out = applyEdits('x.ts', text, [
      { start: 4, end: 5, text: 'B' },
      { start: 0, end: 0, text: '>' },
    ]);
    assert.equal(out, '>a\r\n\tB // keep\r\nc');
  });

  it('at one offset: inserts go before the replacement that starts there', () => {
    assert.equal(applyEdits('x.ts', 'atomic(f)', [{ start: 0, end: 6, text: 'aatomic' }, { start: 0, end: 0, text: 'await ' }]), 'await aatomic(f)');
  });

  it('overlapping replacements are a planner bug: EditConflictError naming the file', () => {
    assert.throws(() => applyEdits('x.ts', 'abcdef', [{ start: 0, end: 3, text: '' }, { start: 2, end: 4, text: '' }]), (error: unknown) => error instanceof EditConflictError && /x\.ts/.test(error.message));
  });

  it('re-indents non-blank lines, but not lines that start inside a template literal', () => {
    const text = 'f() {\n  one;\n\n  const t = `a\nb`;\n}\n';
    const start = text.indexOf('`');
    const edits = indentEdits(text, 0, text.lastIndexOf('}'), '  ', [[start, text.indexOf('`', start + 1) + 1]]);
    assert.equal(applyEdits('x.ts', text, edits), 'f() {\n    one;\n\n    const t = `a\nb`;\n}\n');
  });

  it('indent inserts inside a replaced range are dropped with it', () => {
    const text = 'x(\n  y)';
    assert.equal(applyEdits('x.ts', text, [{ start: 0, end: text.length, text: 'z' }, ...indentEdits(text, 0, text.length, '  ', [])]), 'z');
  });
});

describe('fix: unified diffs', () => {
  it('nothing for equal texts; hunks git apply reproduces, with a missing final newline marked', () => {
    assert.equal(unifiedDiff('a.ts', 'same\n', 'same\n'), '');
    const before = `${Array.from({ length: 30 }, (_, index) => `line ${index}`).join('\n')}\nend`;
    const after = before.replace('line 3\n', 'line 3\nadded\n').replace('line 25', 'changed 25').replace(/end$/, 'end\n');
    const diff = unifiedDiff('a.ts', before, after);
    assert.match(diff, /^--- a\/a\.ts\n\+\+\+ b\/a\.ts\n@@ -2,6 \+2,7 @@\n/);
    assert.match(diff, /\\ No newline at end of file\n/);
    assert.equal(diff.match(/^@@/gm)?.length, 2);
    const dir = mkdtempSync(join(tmpdir(), 'orm-migrate-diff-'));
    try {
      writeFileSync(join(dir, 'a.ts'), before);
      writeFileSync(join(dir, 'patch.diff'), diff);
      const run = spawnSync('git', ['apply', 'patch.diff'], { cwd: dir, encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      assert.equal(readFileSync(join(dir, 'a.ts'), 'utf8'), after);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('fix: the file style', () => {
  it('reads line endings, indentation, quotes, semicolons and the module system', () => {
    const windows = detectStyle(parseSource('w.ts', 'import { a } from "m"\r\nfunction f() {\r\n\tif (a) {\r\n\t\treturn 1\r\n\t}\r\n}\r\n'));
    assert.deepEqual(windows, { newline: '\r\n', indentUnit: '\t', quote: '"', semicolons: false, modules: 'esm' });
    const four = detectStyle(parseSource('f.cjs', "const m = require('m');\nfunction f() {\n    if (m) {\n        return 1;\n    }\n}\n"));
    assert.deepEqual(four, { newline: '\n', indentUnit: '    ', quote: "'", semicolons: true, modules: 'commonjs' });
  });
});

describe('fix: imports', () => {
  it('adds a new import after the others, in the file style', () => {
    assert.equal(addImport('a.ts', 'import { x } from "./x.js"\n\nx()\n'), 'import { x } from "./x.js"\nimport { newConnection } from "orm-migrate/runtime"\n\nx()\n');
  });

  it('merges into an import of the module, sorted when it was sorted; replaces a specifier left unused', () => {
    assert.equal(addImport('a.ts', "import { aatomic, onQuery } from 'orm-migrate/runtime';\n"), "import { aatomic, newConnection, onQuery } from 'orm-migrate/runtime';\n");
    assert.equal(addImport('a.ts', "import { syncToAsync } from 'orm-migrate/runtime';\n", 'newConnection', ['syncToAsync']), "import { newConnection } from 'orm-migrate/runtime';\n");
    assert.equal(addImport('a.ts', "import type { QuerySet } from 'orm-migrate/runtime';\n"), "import type { QuerySet } from 'orm-migrate/runtime';\nimport { newConnection } from 'orm-migrate/runtime';\n");
  });

  it('a file without imports gets one below its directives and header comment; CommonJS gets a require', () => {
    assert.equal(addImport('a.ts', "'use client';\nexport const a = 1;\n"), "'use client';\nimport { newConnection } from 'orm-migrate/runtime';\n\nexport const a = 1;\n");
    assert.equal(addImport('a.ts', '// Header.\n\n/** Doc. */\nexport const a = 1;\n'), "// Header.\n\nimport { newConnection } from 'orm-migrate/runtime';\n\n/** Doc. */\nexport const a = 1;\n");
    assert.equal(addImport('a.cjs', "const { x } = require('./x');\n"), "const { x } = require('./x');\nconst { newConnection } = require('orm-migrate/runtime');\n");
  });

  it('refuses to import over a name the file declares itself', () => {
    assert.throws(() => addImport('a.ts', 'function newConnection() {}\n'), (error: unknown) => error instanceof ImportCollisionError && /a\.ts: declares its own `newConnection`/.test(error.message));
  });
});
