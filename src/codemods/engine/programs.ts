/**
 * Type-aware mode: group files by their nearest tsconfig.json, build one ts.Program per group
 * (root files = the group's files only; imports are pulled in as needed), and work out which
 * declaration files are "the ORM" by resolving the configured module specifiers.
 */
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from '../typescript.cjs';
import { TypeOracle } from './type-oracle.js';

export function nearestTsconfig(file: string, cache: Map<string, string | null>): string | undefined {
  const visited: string[] = [];
  let found: string | null = null;
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const cached = cache.get(dir);
    if (cached !== undefined) {
      found = cached;
      break;
    }
    visited.push(dir);
    const candidate = join(dir, 'tsconfig.json');
    if (existsSync(candidate)) {
      found = candidate;
      break;
    }
    if (dirname(dir) === dir) break;
  }
  for (const dir of visited) cache.set(dir, found);
  return found ?? undefined;
}

export interface TypedProgram {
  tsconfig: string;
  program: ts.Program;
  oracle: TypeOracle;
  /** Modules from the config that resolved, and those that did not. */
  unresolvedModules: string[];
}

export class TsconfigError extends Error {
  override name = 'TsconfigError';
}

export interface ProgramRequest {
  tsconfig: string;
  ormModules: readonly string[];
  connectionModule: string;
  connectionName: string;
  syncToAsyncName: string;
  /** Directory relative module paths in the config are resolved from. */
  configBaseDir: string;
}

const IGNORED_CONFIG_ERRORS = new Set([18003 /* no inputs were found */]);

function readCompilerOptions(tsconfig: string): ts.CompilerOptions {
  const read = ts.readConfigFile(tsconfig, (path) => ts.sys.readFile(path));
  if (read.error) throw new TsconfigError(`${tsconfig}: ${ts.flattenDiagnosticMessageText(read.error.messageText, ' ')}`);
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, dirname(tsconfig), undefined, tsconfig);
  const fatal = parsed.errors.filter((error) => !IGNORED_CONFIG_ERRORS.has(error.code) && error.category === ts.DiagnosticCategory.Error);
  if (fatal.length > 0 && fatal[0]) throw new TsconfigError(`${tsconfig}: ${ts.flattenDiagnosticMessageText(fatal[0].messageText, ' ')}`);
  return {
    ...parsed.options,
    // Analysis only: nothing is emitted, JavaScript files get types where TypeScript can infer them.
    noEmit: true,
    allowJs: true,
    checkJs: false,
    skipLibCheck: true,
    declaration: false,
    declarationMap: false,
    emitDeclarationOnly: false,
    sourceMap: false,
    composite: false,
    incremental: false,
  };
}

/** Resolves a configured module (bare specifier, or path relative to the config) from the tsconfig's directory. */
function resolveConfiguredModule(specifier: string, request: ProgramRequest, options: ts.CompilerOptions, host: ts.CompilerHost): string | undefined {
  const isPath = specifier.startsWith('.') || specifier.startsWith('/');
  const probe = isPath ? join(request.configBaseDir, '__orm_migrate_probe__.ts') : join(dirname(request.tsconfig), '__orm_migrate_probe__.ts');
  for (const mode of [ts.ModuleKind.ESNext, ts.ModuleKind.CommonJS] as const) {
    const resolved = ts.resolveModuleName(specifier, probe, options, host, undefined, undefined, mode).resolvedModule;
    if (resolved) return resolve(resolved.resolvedFileName);
  }
  return undefined;
}

/** The directory a module's files may live in: its package under node_modules, else its own directory. */
function moduleBoundary(entry: string): string {
  const parts = entry.split(sep);
  const nodeModules = parts.lastIndexOf('node_modules');
  if (nodeModules >= 0) {
    const scoped = parts[nodeModules + 1]?.startsWith('@') ? 2 : 1;
    return parts.slice(0, nodeModules + 1 + scoped).join(sep);
  }
  return dirname(entry);
}

function isWithin(file: string, directory: string): boolean {
  const rel = relative(directory, file);
  return rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep) && !/^[A-Za-z]:/.test(rel);
}

/** The entry file plus every file it imports (including `import('…')` types) inside the module's boundary. */
function declarationClosure(entry: string, program: ts.Program, options: ts.CompilerOptions, host: ts.CompilerHost): Set<string> {
  const boundary = moduleBoundary(entry);
  const files = new Set<string>([entry]);
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    const sourceFile = program.getSourceFile(file);
    if (!sourceFile) continue;
    const specifiers: string[] = [];
    const visit = (node: ts.Node): void => {
      if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
        specifiers.push(node.moduleSpecifier.text);
      } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
        specifiers.push(node.argument.literal.text);
      }
      ts.forEachChild(node, visit);
    };
    visit(sourceFile);
    for (const specifier of specifiers) {
      const resolved = ts.resolveModuleName(specifier, file, options, host, undefined, undefined, sourceFile.impliedNodeFormat).resolvedModule;
      if (!resolved) continue;
      const target = resolve(resolved.resolvedFileName);
      if (!files.has(target) && isWithin(target, boundary)) {
        files.add(target);
        queue.push(target);
      }
    }
  }
  return files;
}

/**
 * Builds programs for one tsconfig, a chunk of root files at a time. Source files that are not
 * roots (lib files, shared dependencies such as the models) are parsed and bound once and reused
 * by every chunk's program; the roots are dropped with their program, which bounds memory.
 */
export class ProgramFactory {
  private readonly options: ts.CompilerOptions;
  private readonly host: ts.CompilerHost;
  private readonly shared = new Map<string, ts.SourceFile>();
  private roots = new Set<string>();

  constructor(private readonly request: ProgramRequest) {
    this.options = readCompilerOptions(request.tsconfig);
    const host = ts.createCompilerHost(this.options, false);
    // Only JSDoc that carries types matters (JS files); skipping the rest parses faster.
    host.jsDocParsingMode = ts.JSDocParsingMode.ParseForTypeErrors;
    const parse = host.getSourceFile.bind(host);
    host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
      const cached = this.shared.get(fileName);
      if (cached) return cached;
      const sourceFile = parse(fileName, languageVersion, onError, shouldCreate);
      if (sourceFile && !this.roots.has(fileName)) this.shared.set(fileName, sourceFile);
      return sourceFile;
    };
    this.host = host;
  }

  create(files: readonly string[]): TypedProgram {
    const { request, options, host } = this;
    this.roots = new Set(files);
    const program = ts.createProgram({ rootNames: [...files], options, host });
    const unresolvedModules: string[] = [];
    const ormFiles = new Set<string>();
    for (const module of request.ormModules) {
      const entry = resolveConfiguredModule(module, request, options, host);
      if (!entry || !program.getSourceFile(entry)) {
        unresolvedModules.push(module);
        continue;
      }
      for (const file of declarationClosure(entry, program, options, host)) ormFiles.add(file);
    }
    const connectionFiles = new Set<string>();
    const connectionEntry = resolveConfiguredModule(request.connectionModule, request, options, host);
    if (connectionEntry && program.getSourceFile(connectionEntry)) {
      for (const file of declarationClosure(connectionEntry, program, options, host)) connectionFiles.add(file);
    } else if (!request.ormModules.includes(request.connectionModule)) {
      unresolvedModules.push(request.connectionModule);
    }
    const oracle = new TypeOracle(program, {
      ormFiles,
      connectionFiles,
      connectionName: request.connectionName,
      syncToAsyncName: request.syncToAsyncName,
    });
    return { tsconfig: request.tsconfig, program, oracle, unresolvedModules };
  }
}
