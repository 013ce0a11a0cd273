/**
 * The mikro-orm preset's structural edits, on ts-morph: decorators on methods, bodies moved into
 * `RequestContext.create(em, …)`, and the `@mikro-orm/core` import added or merged. Loaded only
 * by `planMikroOrmFix` (dynamic import), so scan and the default preset never load ts-morph.
 */
import { IndentationText, NewLineKind, Node, Project, QuoteKind, SyntaxKind } from 'ts-morph';
import type { ImportDeclaration, SourceFile, Statement } from 'ts-morph';
import ts from '../../typescript.cjs';
import { parseSource, scriptKindOf } from '../../engine/syntactic.js';
import { detectStyle } from '../style.js';
import type { SourceStyle } from '../style.js';
import { applyEdits, indentEdits, indentationAt, isFirstOnLine, lineStartOf, positionAt } from '../text.js';
import type { TextEdit } from '../text.js';
import { MIKRO_ORM_CORE } from './decide.js';
import type { RootDecision, RootEdit } from './decide.js';

type WrapEdit = Extract<RootEdit, { kind: 'wrap' }>;
type ModuleWrapEdit = Extract<RootEdit, { kind: 'wrap-module' }>;

const INDENTATION: Record<string, IndentationText> = {
  '\t': IndentationText.Tab,
  '  ': IndentationText.TwoSpaces,
  '    ': IndentationText.FourSpaces,
  '        ': IndentationText.EightSpaces,
};

export class MikroOrmEditor {
  private readonly project = new Project({ useInMemoryFileSystem: true, skipAddingFilesFromTsConfig: true, skipLoadingLibFiles: true });

  /** The file's new text (without its BOM), or the same text when nothing applies. */
  rewrite(file: string, text: string, decisions: readonly RootDecision[]): { text: string; edits: number } {
    const style = detectStyle(parseSource(file, text, false));
    this.project.manipulationSettings.set({
      quoteKind: style.quote === '"' ? QuoteKind.Double : QuoteKind.Single,
      indentationText: INDENTATION[style.indentUnit] ?? IndentationText.TwoSpaces,
      newLineKind: style.newline === '\r\n' ? NewLineKind.CarriageReturnLineFeed : NewLineKind.LineFeed,
    });
    // The real path keeps ts-morph's script kind (.tsx, .js, .mts) right; the file system is in memory.
    const sourceFile = this.project.createSourceFile(file, text, { overwrite: true });
    try {
      const needed = new Set<'CreateRequestContext' | 'RequestContext'>();
      // `@mikro-orm/core` before MikroORM 7; `@mikro-orm/decorators/legacy` from 7 on (decide.ts DecoratorModule).
      let decoratorModule = MIKRO_ORM_CORE;
      let edits = 0;
      // From the last root to the first: an edit only moves text after its own start, so earlier offsets hold.
      const ordered = decisions.filter((decision) => decision.edit).sort((a, b) => b.start - a.start);
      for (const decision of ordered) {
        const edit = decision.edit as RootEdit;
        if (edit.kind === 'wrap-module') {
          wrapTopLevel(sourceFile, edit, style);
          needed.add('RequestContext');
          edits += 1;
          continue;
        }
        const node = functionStartingAt(sourceFile, decision.start);
        if (!node) throw new Error(`${file}: the function at ${decision.ref.line}:${decision.ref.column} was not found`);
        if (edit.kind === 'decorate') {
          if (!Node.isMethodDeclaration(node)) throw new Error(`${file}: ${decision.ref.line}:${decision.ref.column} is not a method`);
          node.addDecorator({ name: 'CreateRequestContext', arguments: edit.provider ? [edit.provider] : [] });
          needed.add('CreateRequestContext');
          decoratorModule = edit.from;
        } else {
          wrapBody(sourceFile, node, edit, style);
          needed.add('RequestContext');
        }
        edits += 1;
      }
      if (edits === 0) return { text, edits };
      for (const name of ['CreateRequestContext', 'RequestContext'] as const) {
        if (needed.has(name)) addImport(sourceFile, name, style, name === 'CreateRequestContext' ? decoratorModule : MIKRO_ORM_CORE);
      }
      const next = sourceFile.getFullText();
      assertParses(file, next);
      return { text: next, edits };
    } finally {
      this.project.removeSourceFile(sourceFile);
    }
  }
}

type FunctionNode = Node & { getBody(): Node | undefined };

function functionStartingAt(sourceFile: SourceFile, start: number): FunctionNode | undefined {
  let found: FunctionNode | undefined;
  sourceFile.forEachDescendant((node, traversal) => {
    if (node.getEnd() <= start || node.getPos() > start) {
      traversal.skip();
      return;
    }
    if (node.getStart() !== start) return;
    if (Node.isMethodDeclaration(node) || Node.isFunctionDeclaration(node) || Node.isFunctionExpression(node) || Node.isArrowFunction(node)) {
      found = node;
      traversal.stop();
    }
  });
  return found;
}

/** Strings and templates spanning lines: their lines are their value, so they keep their indentation. */
function multilineLiterals(node: Node): [number, number][] {
  const ranges: [number, number][] = [];
  const text = node.getSourceFile().getFullText();
  node.forEachDescendant((child, traversal) => {
    const kind = child.getKind();
    if (kind === SyntaxKind.StringLiteral || kind === SyntaxKind.NoSubstitutionTemplateLiteral || kind === SyntaxKind.TemplateExpression) {
      const start = child.getStart();
      if (text.slice(start, child.getEnd()).includes('\n')) ranges.push([start, child.getEnd()]);
      traversal.skip();
    }
  });
  return ranges;
}

/**
 * `{ body }` → `{ return RequestContext.create(em, async () => { body }) }`: the body moves one
 * level deeper, unchanged; an arrow keeps `this`, `arguments` and `super`; `return` inside returns
 * from the callback, whose result `RequestContext.create` returns (a non-async function keeps a
 * non-async callback, so its callers get the same value as before, synchronously).
 */
function wrapBody(sourceFile: SourceFile, fn: FunctionNode, edit: WrapEdit, style: SourceStyle): void {
  const body = fn.getBody();
  if (!body) throw new Error('the function has no body');
  const text = sourceFile.getFullText();
  const semicolon = style.semicolons ? ';' : '';
  const callback = edit.async ? 'async () =>' : '() =>';
  const opener = `RequestContext.create(${edit.em}, ${callback}`;
  if (!Node.isBlock(body)) {
    // `async (id) => expr` → `async (id) => RequestContext.create(em, async () => expr)`
    const start = body.getStart();
    sourceFile.replaceText([start, body.getEnd()], `${opener} ${text.slice(start, body.getEnd())})`);
    return;
  }
  const open = body.getStart();
  const close = body.getEnd() - 1;
  const from = edit.after ?? open + 1;
  const statements: Statement[] = body.getStatements().filter((statement) => statement.getStart() >= from);
  const first = statements[0];
  let edits: TextEdit[];
  if (!text.slice(open, close).includes('\n')) {
    edits = [
      { start: from, end: from, text: ` return ${opener} {` },
      { start: close, end: close, text: `})${semicolon} ` },
    ];
  } else {
    const closeIndent = indentationAt(text, lineStartOf(text, close));
    const innerIndent = first && isFirstOnLine(text, first.getStart()) ? indentationAt(text, lineStartOf(text, first.getStart())) : closeIndent + style.indentUnit;
    const header: TextEdit = { start: from, end: from, text: `${style.newline}${innerIndent}return ${opener} {` };
    const literals = multilineLiterals(body);
    if (isFirstOnLine(text, close)) {
      const closeLine = lineStartOf(text, close);
      edits = [header, ...indentEdits(text, from, closeLine, style.indentUnit, literals), { start: closeLine, end: closeLine, text: `${innerIndent}})${semicolon}${style.newline}`, line: true }];
    } else {
      edits = [header, ...indentEdits(text, from, close, style.indentUnit, literals), { start: close, end: close, text: `})${semicolon} ` }];
    }
  }
  const segment = applyEdits(sourceFile.getFilePath(), text.slice(from, close + 1), edits.map((e) => ({ ...e, start: e.start - from, end: e.end - from })));
  sourceFile.replaceText([from, close + 1], segment);
}

/** `const orm = await MikroORM.init(…);` then the rest of the script, one level deeper, in `await RequestContext.create(orm.em, async () => { … });`. */
function wrapTopLevel(sourceFile: SourceFile, edit: ModuleWrapEdit, style: SourceStyle): void {
  const text = sourceFile.getFullText();
  const semicolon = style.semicolons ? ';' : '';
  const indent = indentationAt(text, lineStartOf(text, edit.after));
  const literals = multilineLiterals(sourceFile).filter(([start, end]) => start >= edit.after && end <= edit.end);
  const edits: TextEdit[] = [
    { start: edit.after, end: edit.after, text: `${style.newline}${indent}await RequestContext.create(${edit.em}, async () => {` },
    ...indentEdits(text, edit.after, edit.end, style.indentUnit, literals),
    { start: edit.end, end: edit.end, text: `${style.newline}${indent}})${semicolon}` },
  ];
  const segment = applyEdits(sourceFile.getFilePath(), text.slice(edit.after, edit.end), edits.map((e) => ({ ...e, start: e.start - edit.after, end: e.end - edit.after })));
  sourceFile.replaceText([edit.after, edit.end], segment);
}

function isValueImportFrom(declaration: ImportDeclaration, specifier: string): boolean {
  return declaration.getModuleSpecifierValue() === specifier && !declaration.isTypeOnly() && declaration.getNamespaceImport() === undefined && (declaration.getDefaultImport() === undefined || declaration.getNamedImports().length > 0);
}

/** The packages whose index does `export * from '@mikro-orm/core'` (directly or through @mikro-orm/knex). */
const REEXPORTS_CORE = new Set(['@mikro-orm/knex', '@mikro-orm/better-sqlite', '@mikro-orm/sqlite', '@mikro-orm/libsql', '@mikro-orm/postgresql', '@mikro-orm/mysql', '@mikro-orm/mariadb', '@mikro-orm/mssql', '@mikro-orm/mongodb']);

/**
 * `name` from `module` (@mikro-orm/core, or MikroORM 7's @mikro-orm/decorators/legacy for the
 * decorator): already bound (any @mikro-orm/* import), merged into a value import of that module
 * (for core, also of a driver that re-exports it), or a new import of it after the last import.
 */
function addImport(sourceFile: SourceFile, name: string, style: SourceStyle, module: string): void {
  const imports = sourceFile.getImportDeclarations();
  const bound = imports.some(
    (declaration) =>
      declaration.getModuleSpecifierValue().startsWith('@mikro-orm/') &&
      !declaration.isTypeOnly() &&
      declaration.getNamedImports().some((element) => !element.isTypeOnly() && element.getName() === name && (element.getAliasNode()?.getText() ?? name) === name),
  );
  if (bound) return;
  if (style.modules === 'commonjs' && imports.length === 0) {
    addRequire(sourceFile, name, style, module);
    return;
  }
  // The drivers re-export all of @mikro-orm/core: an import from one is where the file gets MikroORM from already.
  const existing =
    imports.find((declaration) => isValueImportFrom(declaration, module)) ??
    (module === MIKRO_ORM_CORE ? imports.find((declaration) => REEXPORTS_CORE.has(declaration.getModuleSpecifierValue()) && isValueImportFrom(declaration, declaration.getModuleSpecifierValue())) : undefined);
  if (existing) {
    existing.addNamedImport(name);
    return;
  }
  const index = imports.length > 0 ? (imports.at(-1) as ImportDeclaration).getChildIndex() + 1 : 0;
  const [added] = sourceFile.insertImportDeclarations(index, [{ namedImports: [name], moduleSpecifier: module }]);
  if (added && !style.semicolons && added.getText().endsWith(';')) added.replaceWithText(added.getText().slice(0, -1));
}

/** CommonJS: merged into `const { … } = require(module)`, or a new such line after the last top-level require. */
function addRequire(sourceFile: SourceFile, name: string, style: SourceStyle, module: string): void {
  const semicolon = style.semicolons ? ';' : '';
  let lastRequire: Statement | undefined;
  for (const statement of sourceFile.getStatements()) {
    if (!Node.isVariableStatement(statement)) continue;
    for (const declaration of statement.getDeclarations()) {
      const init = declaration.getInitializer();
      if (!init || !Node.isCallExpression(init) || init.getExpression().getText() !== 'require') continue;
      lastRequire = statement;
      const [argument] = init.getArguments();
      const binding = declaration.getNameNode();
      if (argument && Node.isStringLiteral(argument) && argument.getLiteralValue() === module && Node.isObjectBindingPattern(binding)) {
        const elements = binding.getElements();
        const last = elements.at(-1);
        if (last) sourceFile.insertText(last.getEnd(), `, ${name}`);
        else sourceFile.replaceText([binding.getStart(), binding.getEnd()], `{ ${name} }`);
        return;
      }
    }
  }
  const line = `const { ${name} } = require(${style.quote}${module}${style.quote})${semicolon}`;
  if (lastRequire) sourceFile.insertText(lastRequire.getEnd(), `${style.newline}${line}`);
  else {
    // After a "use strict" prologue and a shebang, if any.
    const first = sourceFile.getStatements()[0];
    const prologue = first && Node.isExpressionStatement(first) && Node.isStringLiteral(first.getExpression()) ? first : undefined;
    if (prologue) sourceFile.insertText(prologue.getEnd(), `${style.newline}${line}`);
    else sourceFile.insertText(first ? first.getStart() : 0, `${line}${style.newline}`);
  }
}

/** A safety net, not analysis: the result must parse, or the file is left as it is. */
function assertParses(file: string, next: string): void {
  const reparsed = ts.createSourceFile(file, next, { languageVersion: ts.ScriptTarget.Latest, jsDocParsingMode: ts.JSDocParsingMode.ParseNone }, false, scriptKindOf(file)) as ts.SourceFile & {
    parseDiagnostics?: ts.DiagnosticWithLocation[];
  };
  const broken = reparsed.parseDiagnostics?.[0];
  if (broken) {
    const { line, column } = positionAt(next, broken.start);
    throw new Error(`${file}: the rewrite would not parse (${ts.flattenDiagnosticMessageText(broken.messageText, ' ')} at ${line}:${column}); the file was left as it is — please report this`);
  }
}
