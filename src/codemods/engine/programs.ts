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
  /** Modules from the config that do not resolve from this tsconfig. */
  unresolvedModules: string[];
  /** Whether any file of the ORM or connection modules is in the program: if not, nothing in it can be a finding. */
  reachesOrm: boolean;
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
function declarationClosure(entry: string, getSourceFile: (file: string) => ts.SourceFile | undefined, options: ts.CompilerOptions, host: ts.CompilerHost): Set<string> {
  const boundary = moduleBoundary(entry);
  const files = new Set<string>([entry]);
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    const sourceFile = getSourceFile(file);
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
 * The ORM's files: the declarations the configured modules pull in, and for a scope pattern
 * (`@mikro-orm/*`) any file of an installed package of that scope (`…/node_modules/@mikro-orm/…`,
 * also inside pnpm's store), as the syntactic pass counts any import from the scope. Not every
 * package of a scope is reached from the others: MikroORM 7's `@mikro-orm/decorators`, which
 * declares `@CreateRequestContext()`, depends on core, not core on it.
 */
class OrmFileSet extends Set<string> {
  private readonly scopeSegments: readonly string[];

  constructor(scopeSegments: readonly string[]) {
    super();
    this.scopeSegments = scopeSegments;
  }

  override has(file: string): boolean {
    if (super.has(file)) return true;
    if (this.scopeSegments.length === 0) return false;
    const path = file.replaceAll('\\', '/');
    return this.scopeSegments.some((segment) => path.includes(segment));
  }
}

/** What "the ORM" is for one tsconfig: fixed before any program, so every chunk gets the same answers. */
interface OrmTargets {
  ormFiles: Set<string>;
  connectionFiles: Set<string>;
  unresolvedModules: string[];
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
  /** Files TypeScript's parser overflowed the stack on (each stands in the programs as an empty file). */
  readonly tooDeep = new Map<string, string>();

  constructor(private readonly request: ProgramRequest) {
    this.options = readCompilerOptions(request.tsconfig);
    const host = ts.createCompilerHost(this.options, false);
    // Only JSDoc that carries types matters (JS files); skipping the rest parses faster.
    host.jsDocParsingMode = ts.JSDocParsingMode.ParseForTypeErrors;
    const parse = host.getSourceFile.bind(host);
    host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
      const cached = this.shared.get(fileName);
      if (cached) return cached;
      let sourceFile: ts.SourceFile | undefined;
      try {
        sourceFile = parse(fileName, languageVersion, onError, shouldCreate);
      } catch (error) {
        // One pathologically deep file must not end the program: it stands in as an empty module.
        if (!(error instanceof RangeError)) throw error;
        this.tooDeep.set(resolve(fileName), error.message);
        sourceFile = ts.createSourceFile(fileName, '', languageVersion);
      }
      if (sourceFile && !this.roots.has(fileName)) this.shared.set(fileName, sourceFile);
      return sourceFile;
    };
    this.host = host;
  }

  private targets: OrmTargets | undefined;
  private resolutionCache: ts.ModuleResolutionCache | undefined;

  /** The file an import in `fromFile` resolves to under this tsconfig (ESM rules, else CommonJS). */
  resolveImport(fromFile: string, specifier: string): string | undefined {
    const { options, host } = this;
    this.resolutionCache ??= ts.createModuleResolutionCache(dirname(this.request.tsconfig), (name) => name, options);
    for (const mode of [ts.ModuleKind.ESNext, ts.ModuleKind.CommonJS] as const) {
      const resolved = ts.resolveModuleName(specifier, fromFile, options, host, this.resolutionCache, undefined, mode).resolvedModule;
      if (resolved) return resolve(resolved.resolvedFileName);
    }
    return undefined;
  }

  /** Files of the ORM and connection modules, and the configured modules that do not resolve from this tsconfig. */
  get ormTargetFiles(): Readonly<OrmTargets> {
    return this.ormTargets();
  }

  /**
   * Resolves the configured modules once per tsconfig, from the tsconfig's options rather than
   * from a chunk's program: a chunk whose files never import the ORM must still know where it is
   * (and so answer "not the ORM"), or findings would depend on how files were split.
   */
  private ormTargets(): OrmTargets {
    if (this.targets) return this.targets;
    const { request, options, host } = this;
    const getSourceFile = (file: string): ts.SourceFile | undefined => host.getSourceFile(file, options.target ?? ts.ScriptTarget.Latest);
    const unresolvedModules: string[] = [];
    const ormFiles = new OrmFileSet(request.ormModules.filter((module) => module.endsWith('/*')).map((module) => `/node_modules/${module.slice(0, -1)}`));
    for (const module of request.ormModules) {
      // A scope pattern (`@mikro-orm/*`) names no entry to resolve: its packages' files are the ORM's by their path (OrmFileSet).
      if (module.endsWith('/*')) continue;
      const entry = resolveConfiguredModule(module, request, options, host);
      if (!entry || !getSourceFile(entry)) {
        unresolvedModules.push(module);
        continue;
      }
      for (const file of declarationClosure(entry, getSourceFile, options, host)) ormFiles.add(file);
    }
    const connectionFiles = new Set<string>();
    const connectionEntry = resolveConfiguredModule(request.connectionModule, request, options, host);
    if (connectionEntry && getSourceFile(connectionEntry)) {
      for (const file of declarationClosure(connectionEntry, getSourceFile, options, host)) connectionFiles.add(file);
    } else if (!request.ormModules.includes(request.connectionModule)) {
      unresolvedModules.push(request.connectionModule);
    }
    this.targets = { ormFiles, connectionFiles, unresolvedModules };
    return this.targets;
  }

  create(files: readonly string[]): TypedProgram {
    const { request, options, host } = this;
    const { ormFiles, connectionFiles, unresolvedModules } = this.ormTargets();
    this.roots = new Set(files);
    const program = ts.createProgram({ rootNames: [...files], options, host });
    const oracle = new TypeOracle(program, {
      ormFiles,
      connectionFiles,
      connectionName: request.connectionName,
      syncToAsyncName: request.syncToAsyncName,
    });
    const inProgram = (file: string): boolean => program.getSourceFile(file) !== undefined;
    const reachesOrm = [...ormFiles].some(inProgram) || [...connectionFiles].some(inProgram);
    return { tsconfig: request.tsconfig, program, oracle, unresolvedModules, reachesOrm };
  }
}
