/**
 * The bindings a rewrite needs (`newConnection`, `aatomic`): found where the file already has
 * them, else added to an import of the same module, else a new import in the file's own style
 * (ESM or require, quotes, semicolons). Specifiers the rewrites left unused are dropped.
 */
import ts from '../typescript.cjs';
import type { SourceStyle } from './style.js';
import type { TextEdit } from './text.js';
import { indentationAt, isFirstOnLine, lineStartOf } from './text.js';


/** Which module a binding comes from: the specifier test, and what to write in a new import. */
export interface ModuleRef {
  matches(specifier: string): boolean;
  specifier: string;
}

export interface BindingRequest {
  module: ModuleRef;
  /** The exported name. */
  name: string;
}

/** A name the file declares itself, so the import cannot be added under it. */
export class ImportCollisionError extends Error {
  override name = 'ImportCollisionError';
  constructor(file: string, local: string, module: string) {
    super(`${file}: declares its own \`${local}\`, so \`${local}\` cannot be imported from ${module}; rename it and run fix again`);
  }
}

type ListOwner =
  | { kind: 'esm'; statement: ts.ImportDeclaration; list: ts.NamedImports }
  | { kind: 'commonjs'; statement: ts.VariableStatement; list: ts.ObjectBindingPattern };

interface ModuleStatement {
  statement: ts.Statement;
  specifier: string;
  /** `import * as orm` / `const orm = require(…)`. */
  namespace?: string;
  list?: ListOwner;
}

function requireSpecifier(initializer: ts.Expression | undefined): string | undefined {
  if (!initializer || !ts.isCallExpression(initializer)) return undefined;
  if (!ts.isIdentifier(initializer.expression) || initializer.expression.text !== 'require') return undefined;
  const argument = initializer.arguments[0];
  return argument && ts.isStringLiteralLike(argument) ? argument.text : undefined;
}

/** Top-level imports and requires, with what they bind. */
function moduleStatements(sourceFile: ts.SourceFile): ModuleStatement[] {
  const found: ModuleStatement[] = [];
  for (const statement of sourceFile.statements) {
    if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier)) {
      const clause = statement.importClause;
      if (clause?.isTypeOnly) continue;
      const entry: ModuleStatement = { statement, specifier: statement.moduleSpecifier.text };
      const named = clause?.namedBindings;
      if (named && ts.isNamespaceImport(named)) entry.namespace = named.name.text;
      if (named && ts.isNamedImports(named)) entry.list = { kind: 'esm', statement, list: named };
      found.push(entry);
    } else if (ts.isVariableStatement(statement) && statement.declarationList.declarations.length === 1) {
      const declaration = statement.declarationList.declarations[0] as ts.VariableDeclaration;
      const specifier = requireSpecifier(declaration.initializer);
      if (specifier === undefined) continue;
      const entry: ModuleStatement = { statement, specifier };
      if (ts.isIdentifier(declaration.name)) entry.namespace = declaration.name.text;
      if (ts.isObjectBindingPattern(declaration.name)) entry.list = { kind: 'commonjs', statement, list: declaration.name };
      found.push(entry);
    }
  }
  return found;
}

function elementNames(list: ListOwner): { imported: string; local: string; node: ts.Node }[] {
  if (list.kind === 'esm') {
    return list.list.elements
      .filter((element) => !element.isTypeOnly)
      .map((element) => ({ imported: (element.propertyName ?? element.name).text, local: element.name.text, node: element }));
  }
  return list.list.elements.flatMap((element) => {
    if (!ts.isIdentifier(element.name) || element.dotDotDotToken) return [];
    const property = element.propertyName;
    const imported = property && (ts.isIdentifier(property) || ts.isStringLiteral(property)) ? property.text : element.name.text;
    return [{ imported, local: element.name.text, node: element }];
  });
}

/** How code in this file refers to an export of a module it already imports, if it does. */
export function existingReference(sourceFile: ts.SourceFile, request: BindingRequest): string | undefined {
  for (const entry of moduleStatements(sourceFile)) {
    if (!request.module.matches(entry.specifier)) continue;
    const element = entry.list ? elementNames(entry.list).find((candidate) => candidate.imported === request.name) : undefined;
    if (element) return element.local;
    if (entry.namespace) return `${entry.namespace}.${request.name}`;
  }
  return undefined;
}

/** The module a local name was imported from, and under which exported name. */
export function importOfLocal(sourceFile: ts.SourceFile, local: string): { specifier: string; imported: string } | undefined {
  for (const entry of moduleStatements(sourceFile)) {
    const element = entry.list ? elementNames(entry.list).find((candidate) => candidate.local === local) : undefined;
    if (element) return { specifier: entry.specifier, imported: element.imported };
  }
  return undefined;
}

/** Names the module's top level declares (other than through imports and requires). */
function declaredNames(sourceFile: ts.SourceFile, requires: ReadonlySet<ts.Statement>): Set<string> {
  const names = new Set<string>();
  const bindName = (name: ts.BindingName): void => {
    if (ts.isIdentifier(name)) names.add(name.text);
    else for (const element of name.elements) if (!ts.isOmittedExpression(element)) bindName(element.name);
  };
  for (const statement of sourceFile.statements) {
    if (requires.has(statement)) continue;
    if (ts.isVariableStatement(statement)) for (const declaration of statement.declarationList.declarations) bindName(declaration.name);
    else if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement) || ts.isEnumDeclaration(statement)) && statement.name) names.add(statement.name.text);
    else if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause;
      if (clause?.name) names.add(clause.name.text);
      const named = clause?.namedBindings;
      if (named && ts.isNamespaceImport(named)) names.add(named.name.text);
      if (named && ts.isNamedImports(named)) for (const element of named.elements) names.add(element.name.text);
    }
  }
  return names;
}

function compareNames(a: string, b: string): number {
  const left = a.toLowerCase();
  const right = b.toLowerCase();
  return left < right ? -1 : left > right ? 1 : 0;
}

/** The braces of a named-import list or a destructuring require, rewritten with the same layout. */
function rewriteList(sourceFile: ts.SourceFile, style: SourceStyle, owner: ListOwner, add: readonly string[], drop: ReadonlySet<string>): TextEdit | undefined {
  const text = sourceFile.text;
  const list = owner.list;
  const elements = (owner.kind === 'esm' ? owner.list.elements : owner.list.elements) as ts.NodeArray<ts.Node>;
  const open = list.getStart(sourceFile);
  const close = list.end - 1;
  const kept = elements.filter((element) => {
    const local = owner.kind === 'esm' ? (element as ts.ImportSpecifier).name.text : ts.isIdentifier((element as ts.BindingElement).name) ? ((element as ts.BindingElement).name as ts.Identifier).text : '';
    return !drop.has(local);
  });
  if (kept.length === elements.length && add.length === 0) return undefined;
  const texts = kept.map((element) => text.slice(element.getStart(sourceFile), element.end));
  const keyOf = (entry: string): string => entry.replace(/^type\s+/, '').split(/\s|:/)[0] ?? entry;
  const sorted = texts.every((entry, index) => index === 0 || compareNames(keyOf(texts[index - 1] as string), keyOf(entry)) <= 0);
  for (const name of add) {
    const at = sorted ? texts.findIndex((entry) => compareNames(keyOf(entry), name) > 0) : -1;
    if (at === -1) texts.push(name);
    else texts.splice(at, 0, name);
  }
  const inner = text.slice(open + 1, close);
  const multiline = inner.includes('\n');
  if (multiline) {
    const first = elements[0];
    const indent = first ? indentationAt(text, lineStartOf(text, first.getStart(sourceFile))) : style.indentUnit;
    const closeIndent = indentationAt(text, lineStartOf(text, close));
    const trailing = elements.hasTrailingComma || elements.length === 0;
    const body = texts.map((entry, index) => `${indent}${entry}${index < texts.length - 1 || trailing ? ',' : ''}`).join(style.newline);
    return { start: open, end: close + 1, text: `{${style.newline}${body}${style.newline}${closeIndent}}` };
  }
  const padding = /^\s/.test(inner) || inner.trim() === '' ? ' ' : '';
  return { start: open, end: close + 1, text: `{${padding}${texts.join(', ')}${padding}}` };
}

/** Removes a whole statement with its line when it stands on lines of its own. */
function removeStatement(sourceFile: ts.SourceFile, statement: ts.Statement): TextEdit {
  const text = sourceFile.text;
  const start = statement.getStart(sourceFile);
  let end = statement.end;
  if (isFirstOnLine(text, start)) {
    const lineEnd = text.indexOf('\n', end);
    if (lineEnd !== -1 && /^[ \t]*\r?$/.test(text.slice(end, lineEnd))) return { start: lineStartOf(text, start), end: lineEnd + 1, text: '' };
  }
  while (text[end] === ' ') end += 1;
  return { start, end, text: '' };
}

/** Where a new import goes when the file has none of its kind: after a shebang, directives and a header comment. */
function topInsertion(sourceFile: ts.SourceFile): number {
  const text = sourceFile.text;
  let position = text.startsWith('\uFEFF') ? 1 : 0;
  if (text.startsWith('#!', position)) {
    const newline = text.indexOf('\n', position);
    position = newline === -1 ? text.length : newline + 1;
  }
  let lastDirective: ts.Statement | undefined;
  for (const statement of sourceFile.statements) {
    if (ts.isExpressionStatement(statement) && ts.isStringLiteral(statement.expression)) lastDirective = statement;
    else break;
  }
  if (lastDirective) {
    const newline = text.indexOf('\n', lastDirective.end);
    return newline === -1 ? text.length : newline + 1;
  }
  // A comment block followed by a blank line is a file header: the import goes below that blank line.
  const first = sourceFile.statements[0];
  const comments = ts.getLeadingCommentRanges(text, position) ?? [];
  let afterHeader = position;
  for (const comment of comments) {
    const blank = /^[ \t]*\r?\n[ \t]*\r?\n/.exec(text.slice(comment.end, first ? first.getStart(sourceFile) : text.length));
    if (blank) afterHeader = comment.end + blank[0].length;
  }
  return afterHeader;
}

export interface ImportChanges {
  add: readonly BindingRequest[];
  /** Local names the other edits left without a use: their specifiers go. */
  drop: ReadonlySet<string>;
}

export function planImportEdits(sourceFile: ts.SourceFile, style: SourceStyle, changes: ImportChanges): TextEdit[] {
  const statements = moduleStatements(sourceFile);
  const pending = changes.add.filter((request) => existingReference(sourceFile, request) === undefined);
  const taken = declaredNames(sourceFile, new Set(statements.filter((entry) => !ts.isImportDeclaration(entry.statement)).map((entry) => entry.statement)));
  for (const request of pending) {
    if (taken.has(request.name) && !changes.drop.has(request.name)) throw new ImportCollisionError(sourceFile.fileName, request.name, request.module.specifier);
  }

  const edits: TextEdit[] = [];
  const addsByOwner = new Map<ModuleStatement, string[]>();
  const fresh = new Map<string, string[]>();
  for (const request of pending) {
    const owner = statements.find((entry) => entry.list && request.module.matches(entry.specifier) && (style.modules === 'esm') === (entry.list.kind === 'esm'));
    if (owner) addsByOwner.set(owner, [...(addsByOwner.get(owner) ?? []), request.name]);
    else fresh.set(request.module.specifier, [...(fresh.get(request.module.specifier) ?? []), request.name]);
  }

  for (const entry of statements) {
    if (!entry.list) continue;
    const add = addsByOwner.get(entry) ?? [];
    const names = elementNames(entry.list);
    const dropping = names.filter((name) => changes.drop.has(name.local));
    if (add.length === 0 && dropping.length === 0) continue;
    const emptied = add.length === 0 && dropping.length === names.length && entry.list.list.elements.length === names.length;
    const hasDefault = ts.isImportDeclaration(entry.statement) && entry.statement.importClause?.name !== undefined;
    if (emptied && !hasDefault) {
      edits.push(removeStatement(sourceFile, entry.statement));
      continue;
    }
    const edit = rewriteList(sourceFile, style, entry.list, add, changes.drop);
    if (edit) edits.push(edit);
  }

  if (fresh.size > 0) {
    const semicolon = style.semicolons ? ';' : '';
    const lines = [...fresh].map(([specifier, names]) => {
      const quoted = `${style.quote}${specifier}${style.quote}`;
      const list = `{ ${[...names].sort(compareNames).join(', ')} }`;
      return style.modules === 'esm' ? `import ${list} from ${quoted}${semicolon}` : `const ${list} = require(${quoted})${semicolon}`;
    });
    // After the last import (type-only ones too) or require; else near the top.
    const imports = sourceFile.statements.filter((statement) => ts.isImportDeclaration(statement) || ts.isImportEqualsDeclaration(statement));
    const requires = statements.filter((entry) => !ts.isImportDeclaration(entry.statement)).map((entry) => entry.statement);
    const anchors = style.modules === 'esm' ? (imports.length > 0 ? imports : requires) : requires.length > 0 ? requires : imports;
    const anchor = anchors[anchors.length - 1];
    if (anchor) {
      edits.push({ start: anchor.end, end: anchor.end, text: lines.map((line) => `${style.newline}${line}`).join('') });
    } else {
      const at = topInsertion(sourceFile);
      const blank = sourceFile.statements.length > 0 && at < sourceFile.text.length ? style.newline : '';
      edits.push({ start: at, end: at, text: `${lines.join(style.newline)}${style.newline}${blank}` });
    }
  }
  return edits;
}

/** Identifiers that read a local name, outside import/require declarations. */
export function countReferences(sourceFile: ts.SourceFile, local: string): number {
  let count = 0;
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) return;
    if (ts.isIdentifier(node) && node.text === local) {
      const parent = node.parent;
      const isPropertyName =
        (ts.isPropertyAccessExpression(parent) && parent.name === node) ||
        (ts.isPropertyAssignment(parent) && parent.name === node) ||
        (ts.isBindingElement(parent) && (parent.propertyName === node || (parent.name === node && requireSpecifier(bindingInitializer(parent)) !== undefined))) ||
        ts.isMethodDeclaration(parent) ||
        ts.isPropertyDeclaration(parent);
      if (!isPropertyName) count += 1;
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return count;
}

function bindingInitializer(element: ts.BindingElement): ts.Expression | undefined {
  const pattern = element.parent;
  const declaration = pattern.parent;
  return ts.isVariableDeclaration(declaration) ? declaration.initializer : undefined;
}

