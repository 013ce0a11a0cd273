// The floor under `scan --no-types`: load TypeScript the way the CLI does (through its code cache)
// and parse every source file under the given directory with TypeScript's parser, doing nothing
// else. bench:scan times it next to the scan and ast-grep, so the ratio it prints shows how much
// of the scan's time no analysis can win back.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from '../dist/codemods/typescript.cjs';

const root = process.argv[2] ?? 'src';
let statements = 0;
for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !/\.[cm]?tsx?$/.test(entry.name) || entry.name.endsWith('.d.ts')) continue;
  const file = join(entry.parentPath ?? entry.path, entry.name);
  const parsed = ts.createSourceFile(file, readFileSync(file, 'utf8'), { languageVersion: ts.ScriptTarget.Latest, jsDocParsingMode: ts.JSDocParsingMode.ParseNone }, false);
  statements += parsed.statements.length;
}
if (statements === 0) throw new Error(`no TypeScript source under ${root}`);
