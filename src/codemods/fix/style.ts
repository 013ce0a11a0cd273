/** How a file is written, so that inserted code looks like its neighbours. */
import ts from '../typescript.cjs';

const { SyntaxKind } = ts;

export interface SourceStyle {
  newline: '\n' | '\r\n';
  /** One level of indentation: a tab or N spaces. */
  indentUnit: string;
  quote: "'" | '"';
  semicolons: boolean;
  /** `import … from` or `require(…)`. */
  modules: 'esm' | 'commonjs';
}

function detectIndentUnit(text: string): string {
  const counts = new Map<number, number>();
  let previous = 0;
  let tabs = 0;
  let spaces = 0;
  for (const line of text.split('\n')) {
    const match = /^([ \t]*)\S/.exec(line);
    if (!match) continue;
    const indent = match[1] ?? '';
    if (indent.startsWith('\t')) {
      tabs += 1;
      continue;
    }
    if (indent.length > 0) spaces += 1;
    const delta = indent.length - previous;
    // Continuation lines of block comments (` * …`) are one space deeper: not an indent step.
    if (delta >= 2 && delta <= 8 && !line.trimStart().startsWith('*')) counts.set(delta, (counts.get(delta) ?? 0) + 1);
    previous = indent.length;
  }
  if (tabs > spaces) return '\t';
  let best = 2;
  let bestCount = 0;
  for (const [delta, count] of counts) {
    if (count > bestCount || (count === bestCount && delta < best)) {
      best = delta;
      bestCount = count;
    }
  }
  return ' '.repeat(best);
}

function isRequireStatement(statement: ts.Statement): boolean {
  if (!ts.isVariableStatement(statement)) return false;
  return statement.declarationList.declarations.some((declaration) => {
    const init = declaration.initializer;
    return init !== undefined && ts.isCallExpression(init) && ts.isIdentifier(init.expression) && init.expression.text === 'require';
  });
}

/** The statements that end with a token where a semicolon may go. */
function endsWithSemicolon(statement: ts.Statement, sourceFile: ts.SourceFile): boolean | undefined {
  switch (statement.kind) {
    case SyntaxKind.ImportDeclaration:
    case SyntaxKind.ExportDeclaration:
    case SyntaxKind.VariableStatement:
    case SyntaxKind.ExpressionStatement:
    case SyntaxKind.ReturnStatement:
    case SyntaxKind.ExportAssignment:
      return sourceFile.text[statement.end - 1] === ';';
    default:
      return undefined;
  }
}

export function detectStyle(sourceFile: ts.SourceFile): SourceStyle {
  const text = sourceFile.text;
  const firstNewline = text.indexOf('\n');
  const newline = firstNewline > 0 && text[firstNewline - 1] === '\r' ? '\r\n' : '\n';

  let quote: "'" | '"' | undefined;
  let semicolons: boolean | undefined;
  let esm = false;
  let commonjs = false;
  for (const statement of sourceFile.statements) {
    if (ts.isImportDeclaration(statement) || (ts.isExportDeclaration(statement) && statement.moduleSpecifier)) {
      esm = true;
      const specifier = statement.moduleSpecifier;
      if (specifier && ts.isStringLiteral(specifier)) quote ??= text[specifier.getStart(sourceFile)] === '"' ? '"' : "'";
      semicolons ??= endsWithSemicolon(statement, sourceFile);
    } else if (isRequireStatement(statement)) {
      commonjs = true;
      const call = (statement as ts.VariableStatement).declarationList.declarations[0]?.initializer as ts.CallExpression | undefined;
      const argument = call?.arguments[0];
      if (argument && ts.isStringLiteral(argument)) quote ??= text[argument.getStart(sourceFile)] === '"' ? '"' : "'";
      semicolons ??= endsWithSemicolon(statement, sourceFile);
    } else if (ts.isExportAssignment(statement) || (ts.canHaveModifiers(statement) && ts.getModifiers(statement)?.some((m) => m.kind === SyntaxKind.ExportKeyword))) {
      esm = true;
    }
  }
  if (semicolons === undefined) {
    let withSemicolon = 0;
    let without = 0;
    const visit = (node: ts.Node): void => {
      const ends = ts.isStatement(node) ? endsWithSemicolon(node, sourceFile) : undefined;
      if (ends === true) withSemicolon += 1;
      if (ends === false) without += 1;
      ts.forEachChild(node, visit);
    };
    visit(sourceFile);
    semicolons = withSemicolon >= without;
  }
  if (quote === undefined) {
    const singles = (text.match(/'/g) ?? []).length;
    const doubles = (text.match(/"/g) ?? []).length;
    quote = doubles > singles ? '"' : "'";
  }
  // A .cts file may still use import syntax (TypeScript compiles it to require): only .cjs implies require.
  const commonjsByName = /\.cjs$/.test(sourceFile.fileName);
  const modules = esm ? 'esm' : commonjs || commonjsByName ? 'commonjs' : 'esm';
  return { newline, indentUnit: detectIndentUnit(text), quote, semicolons, modules };
}
