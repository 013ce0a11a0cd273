/**
 * The scan pipeline: discover files → text prefilter → parse (a ts.Program per tsconfig in
 * type-aware mode, plain parses otherwise) → one walk per file → project-wide analysis → findings.
 */
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import ts from '../typescript.cjs';
import { ALLOW_ASYNC_UNSAFE_ENV, SYNC_TO_ASYNC_FUNCTION } from '../../runtime-shim/surface.js';
import { RULES } from '../rules/index.js';
import { ConfigError, loadConfig } from './config.js';
import { settleConnectionModule } from './connection-module.js';
import type { LoadedConfig } from './config.js';
import { discoverFiles, toPosix, unreadable } from './discover.js';
import type { InputProblem } from './discover.js';
import type { FileFacts } from './facts.js';
import { analyzeFile, buildRuleDispatch, foreignKeyFieldNames, isStackOverflow, unanalysableFacts } from './file-analysis.js';
import type { OrmSurface, RuleDispatch } from './file-analysis.js';
import { SpecifierResolver } from './module-resolution.js';
import { ModuleKeys, isPathSpecifier } from './module-keys.js';
import { filesReachingOrm, readTextOrUndefined } from './reach.js';
import type { ReachRules } from './reach.js';
import { OriginResolver } from './origin-resolver.js';
import { buildPrefilter, hasReexport } from './prefilter.js';
import { analyzeProject } from './project-analysis.js';
import type { EnabledRule } from './project-analysis.js';
import { ProgramFactory, TsconfigError, nearestTsconfig } from './programs.js';
import type { TypedProgram } from './programs.js';
import { settleTypeFacts } from './type-settlement.js';
import { collectGarbage } from './memory.js';
import { RULE_IDS, isRuleId } from './types.js';
import type { RuleId, RuleSetting, ScanProgress, ScanResult } from './types.js';
import { analyzeSyntactically, surfaceFromConfig } from './syntactic.js';
import { contextEntryFlags } from './context-model.js';
import { presetByName, presetPrefilterTokens } from '../presets/index.js';
import type { PresetName } from '../presets/index.js';

export interface ScanOptions {
  /** Directory paths and the config search start from (default: process.cwd()). */
  cwd?: string;
  /** Files, directories or globs (default `.`). */
  paths?: readonly string[];
  /** An explicit config file (orm-migrate.config.json or a package.json with "ormMigrate"). */
  configFile?: string;
  /** Use this config instead of loading one. */
  config?: LoadedConfig;
  /** `--preset`: overrides the config's "preset" when the config is loaded here. */
  preset?: PresetName;
  /** Type-aware analysis with the nearest tsconfig.json (default true). */
  types?: boolean;
  /** Severity overrides on top of the config (`--rule id:severity`). */
  ruleOverrides?: Partial<Record<RuleId, RuleSetting>>;
  /** Type-aware mode builds one program per this many bytes of source, to bound memory. */
  typeAwareChunkBytes?: number;
  onProgress?: (progress: ScanProgress) => void;
}

function enabledRules(config: LoadedConfig, overrides: Partial<Record<RuleId, RuleSetting>> | undefined): Map<RuleId, EnabledRule> {
  const enabled = new Map<RuleId, EnabledRule>();
  const preset = presetByName(config.preset);
  for (const rule of RULES) {
    if (!preset.rules.includes(rule.meta.id)) continue;
    const setting = overrides?.[rule.meta.id] ?? config.rules[rule.meta.id];
    if (setting === 'off') continue;
    const severity = setting === undefined ? (preset.severities?.[rule.meta.id] ?? rule.meta.defaultSeverity) : setting === 'error' ? 'error' : 'warning';
    enabled.set(rule.meta.id, { meta: rule.meta, severity });
  }
  return enabled;
}

/**
 * About 45k lines of typical TypeScript: a program of this size stays near 150 MB. (1.2 MB
 * chunks peaked no lower on the bench corpora — the facts gathered so far dominate — and paid
 * 10–15% more CPU in programs and full collections.)
 */
const DEFAULT_CHUNK_BYTES = 1_800_000;

/** ORM_MIGRATE_CHUNK_BYTES (internal, for tests and benchmarks): the program size budget, to check findings do not depend on it. */
function chunkBytesFromEnvironment(): number | undefined {
  const raw = process.env.ORM_MIGRATE_CHUNK_BYTES;
  if (raw === undefined || raw === '') return undefined;
  const bytes = Number(raw);
  if (!Number.isInteger(bytes) || bytes < 1) throw new ConfigError('ORM_MIGRATE_CHUNK_BYTES', raw, 'is not a positive whole number of bytes');
  return bytes;
}

/** Consecutive runs of files whose texts add up to at most `budget` bytes (at least one file each). */
function chunksOf(files: readonly string[], texts: ReadonlyMap<string, string>, budget: number): string[][] {
  const chunks: string[][] = [];
  let current: string[] = [];
  let size = 0;
  for (const file of files) {
    const length = texts.get(file)?.length ?? 0;
    if (current.length > 0 && size + length > budget) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(file);
    size += length;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

function displayPath(cwd: string, file: string): string {
  const rel = toPosix(relative(cwd, file));
  return rel === '' ? '.' : rel;
}

/** State shared by the steps of one scan. */
class ScanSession {
  readonly notes: string[] = [];
  readonly problems: InputProblem[] = [];
  readonly factsByFile = new Map<string, FileFacts>();
  readonly specifierResolver = new SpecifierResolver();
  /** Replaced once the texts are read when the preset's entry points depend on the whole project (contextEntryFlags). */
  surface: OrmSurface;
  readonly dispatch: RuleDispatch;
  readonly prefilter: (text: string) => boolean;
  /** Texts of the files that passed the prefilter (dropped once walked). */
  readonly texts = new Map<string, string>();
  readonly ormKeys: ModuleKeys;
  readonly connectionKeys: ModuleKeys;
  /** Names of the preset's escape hatch: a file that names one is kept even if it does not import the ORM. */
  private readonly hatchWords: readonly string[];
  /** Files the prefilter passed whose imports never lead to the ORM: not parsed. */
  unreachable = 0;
  private syntacticReaching: Set<string> | undefined;
  /** Texts the import scan read beyond the candidates (each file read once per scan). */
  private readonly reachTexts = new Map<string, string | undefined>();
  private readonly readForReach = (file: string): string | undefined => {
    const candidate = this.texts.get(file);
    if (candidate !== undefined) return candidate;
    if (!this.reachTexts.has(file)) this.reachTexts.set(file, readTextOrUndefined(file));
    return this.reachTexts.get(file);
  };
  private done = 0;
  /** Foreign-key field names declared in the texts read so far (candidates, and files their imports lead to). */
  private readonly foreignKeyFields = new Set<string>();
  private readonly foreignKeysRead = new Set<string>();

  /**
   * Before a batch of walks: the names declared by texts not looked at yet — a model file the
   * import scan read beyond the candidates (`scan src/views.ts` with models in src/models.ts) counts.
   */
  private noteForeignKeyFields(): void {
    if (this.surface.context) return;
    const note = (file: string, text: string | undefined): void => {
      if (text === undefined || this.foreignKeysRead.has(file)) return;
      this.foreignKeysRead.add(file);
      for (const name of foreignKeyFieldNames([text])) this.foreignKeyFields.add(name);
    };
    for (const [file, text] of this.texts) note(file, text);
    for (const [file, text] of this.reachTexts) note(file, text);
  }

  constructor(
    readonly cwd: string,
    readonly config: LoadedConfig,
    readonly rules: ReadonlyMap<RuleId, EnabledRule>,
    private readonly options: ScanOptions,
  ) {
    this.surface = surfaceFromConfig(config);
    this.dispatch = buildRuleDispatch(RULES.filter((rule) => rules.has(rule.meta.id)));
    const preset = presetByName(config.preset);
    this.hatchWords = [...preset.escapeHatch.env, ...preset.escapeHatch.options];
    this.prefilter = buildPrefilter(
      preset.context
        ? presetPrefilterTokens(preset, config.ormModules)
        : {
            words: [...this.surface.asyncToSync.keys(), ...this.surface.syncToAsync.keys(), this.surface.connectionName, this.surface.syncToAsyncName, ALLOW_ASYNC_UNSAFE_ENV],
            modules: [...config.ormModules, config.connection.module],
          },
    );
    this.ormKeys = new ModuleKeys(config.ormModules, config, this.specifierResolver);
    this.connectionKeys = new ModuleKeys([config.connection.module], config, this.specifierResolver);
  }

  isOrmOrConnectionModule = (module: string): boolean => this.ormKeys.matches(module) || this.connectionKeys.matches(module);

  /** Reach rules without types: relative imports are followed, ORM modules are known by specifier (as the syntactic walk does). */
  readonly syntacticReach: ReachRules = {
    resolve: (fromFile, specifier) => (isPathSpecifier(specifier) ? this.specifierResolver.resolveFrom(fromFile, specifier) : undefined),
    isOrmSpecifier: (specifier) => !isPathSpecifier(specifier) && this.isOrmOrConnectionModule(specifier),
    isOrmFile: (file) => this.isOrmOrConnectionModule(file),
  };

  /**
   * The files that can hold a finding: their imports lead to the ORM or the connection module, or
   * they name the async-unsafe environment variable. The others are dropped unparsed.
   */
  reachingFiles(files: readonly string[], rules: ReachRules): string[] {
    let reaching: Set<string>;
    if (rules === this.syntacticReach) {
      // The same rules for every group: one pass over all candidates serves them all.
      this.syntacticReaching ??= filesReachingOrm(this.texts.keys(), rules, this.readForReach);
      reaching = this.syntacticReaching;
    } else {
      reaching = filesReachingOrm(files, rules, this.readForReach);
    }
    const kept = files.filter((file) => reaching.has(file) || this.hatchWords.some((word) => (this.texts.get(file) as string).includes(word)));
    if (kept.length < files.length) {
      const keep = new Set(kept);
      for (const file of files) if (!keep.has(file)) this.texts.delete(file);
      this.unreachable += files.length - kept.length;
    }
    return kept;
  }

  get candidates(): string[] {
    return [...this.texts.keys()];
  }

  /** Reads every discovered file; keeps those whose text names something of the ORM. */
  readCandidates(files: readonly string[]): void {
    const others = new Map<string, string>();
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        this.problems.push(unreadable(file, 'file', error));
        continue;
      }
      if (this.prefilter(text)) this.texts.set(file, text);
      else others.set(file, text);
    }
    if (this.surface.context) this.addCallerFiles(others);
    // Whether HTTP routes and controllers already run inside a context is a fact of the whole project.
    if (this.surface.context) this.surface = surfaceFromConfig(this.config, contextEntryFlags(this.texts.values()));
    // Only a name some model declares as a foreign key can be a lazy read (most property reads are not asked about).
    else this.surface = { ...this.surface, foreignKeyFields: this.foreignKeyFields };
  }

  /**
   * Under a preset whose contexts hold state across calls (MikroORM's identity map), the files
   * that import a candidate (relative imports, transitively) are candidates too, though they name
   * nothing of the ORM: their code is where two roots are called one after the other (`const a =
   * await load(); a.name = …; await save()` in a script's main), which one context must hold. Left
   * unparsed, each callee was a root of its own, and fix gave each a fork of its own.
   */
  private addCallerFiles(others: Map<string, string>): void {
    for (let added = true; added && others.size > 0; ) {
      added = false;
      for (const [file, text] of others) {
        RELATIVE_SPECIFIER.lastIndex = 0;
        for (let match = RELATIVE_SPECIFIER.exec(text); match; match = RELATIVE_SPECIFIER.exec(text)) {
          const target = this.specifierResolver.resolveFrom(file, match[1] as string);
          if (target !== undefined && this.texts.has(target)) {
            this.texts.set(file, text);
            others.delete(file);
            added = true;
            break;
          }
        }
      }
    }
  }

  fileDone = (): void => {
    this.done += 1;
    if (this.done % 50 === 0) this.options.onProgress?.({ phase: 'parse', done: this.done, total: this.texts.size });
  };

  /** Walks the files of each tsconfig group with its type checker; returns the files left for the syntactic walk. */
  analyzeWithTypes(files: readonly string[]): string[] {
    const tsconfigCache = new Map<string, string | null>();
    const groups = new Map<string, string[]>();
    const untyped: string[] = [];
    for (const file of files) {
      const tsconfig = nearestTsconfig(file, tsconfigCache);
      if (!tsconfig) untyped.push(file);
      else if (groups.has(tsconfig)) groups.get(tsconfig)?.push(file);
      else groups.set(tsconfig, [file]);
    }
    if (untyped.length > 0) {
      this.notes.push(
        `no tsconfig.json found for ${untyped.length} file(s) (e.g. ${displayPath(this.cwd, untyped[0] as string)}): ORM calls there are matched by following imports syntactically`,
      );
    }
    for (const [tsconfig, groupFiles] of groups) {
      if (!this.analyzeTsconfigGroup(tsconfig, groupFiles)) untyped.push(...groupFiles);
    }
    return untyped;
  }

  /** One tsconfig's files, a chunk of programs at a time; false when the tsconfig cannot be used. */
  private analyzeTsconfigGroup(tsconfig: string, files: readonly string[]): boolean {
    const { config } = this;
    let factory: ProgramFactory;
    try {
      factory = new ProgramFactory({
        tsconfig,
        ormModules: config.ormModules,
        connectionModule: config.connection.module,
        connectionName: config.connection.name,
        syncToAsyncName: this.surface.context ? '' : SYNC_TO_ASYNC_FUNCTION,
        configBaseDir: config.baseDir,
      });
    } catch (error) {
      if (!(error instanceof TsconfigError)) throw error;
      this.notes.push(`could not use ${displayPath(this.cwd, tsconfig)} (${error.message}): its files are matched by following imports syntactically`);
      return false;
    }
    const targets = factory.ormTargetFiles;
    // Types cannot tell the ORM apart: the syntactic pass costs less and answers the same about it.
    // A preset with a context model still takes the checker (each chunk then notes what does not
    // resolve): it links calls through declared types (`db.users.exists()` of an interface-typed
    // registry to the custom repository's method), which following imports cannot.
    if (!this.surface.context && config.ormModules.every((module) => module.endsWith('/*') || targets.unresolvedModules.includes(module))) {
      const reaching = this.reachingFiles(files, this.syntacticReach);
      // Only where some file leads to the ORM could types have told it apart (a monorepo's other tsconfigs say nothing).
      if (reaching.length > 0) {
        this.notes.push(
          `${displayPath(this.cwd, tsconfig)}: ${targets.unresolvedModules.join(', ')} ${targets.unresolvedModules.length === 1 ? 'does' : 'do'} not resolve, so types cannot tell the ORM apart; receivers are matched by following imports syntactically`,
        );
      }
      this.analyzeWithoutTypes(reaching);
      return true;
    }
    files = this.reachingFiles(files, {
      resolve: (fromFile, specifier) => factory.resolveImport(fromFile, specifier),
      isOrmSpecifier: (specifier) => !isPathSpecifier(specifier) && this.isOrmOrConnectionModule(specifier),
      isOrmFile: (file) => targets.ormFiles.has(file) || targets.connectionFiles.has(file) || this.isOrmOrConnectionModule(file),
    });
    const unresolved = new Set<string>();
    const chunks = chunksOf(files, this.texts, this.options.typeAwareChunkBytes ?? chunkBytesFromEnvironment() ?? DEFAULT_CHUNK_BYTES);
    for (const [index, chunk] of chunks.entries()) {
      if (index > 0) collectGarbage();
      this.analyzeChunk(factory, chunk, unresolved);
    }
    // Free the last chunk's program before the project-wide analysis allocates the findings.
    if (chunks.length > 1) collectGarbage();
    if (unresolved.size > 0) {
      this.notes.push(
        `${displayPath(this.cwd, tsconfig)}: ${[...unresolved].join(', ')} ${unresolved.size === 1 ? 'does' : 'do'} not resolve, so types cannot tell the ORM apart; receivers are matched by following imports syntactically`,
      );
    }
    return true;
  }

  /** One program over `chunk`; when TypeScript overflows the stack building it, each file is retried in its own program. */
  private analyzeChunk(factory: ProgramFactory, chunk: readonly string[], unresolved: Set<string>): void {
    let typed: TypedProgram;
    try {
      typed = factory.create(chunk);
    } catch (error) {
      // The binder can overflow on a file the parser survived: isolate it, then give it the syntactic pass.
      if (!isStackOverflow(error)) throw error;
      if (chunk.length > 1) {
        for (const file of chunk) this.analyzeChunk(factory, [file], unresolved);
        return;
      }
      this.notes.push(`${displayPath(this.cwd, chunk[0] as string)}: the type checker overflowed the stack on it; its calls are matched by following imports syntactically`);
      this.analyzeWithoutTypes(chunk);
      return;
    }
    for (const module of typed.unresolvedModules) unresolved.add(module);
    this.noteForeignKeyFields();
    const reachesOrm = typed.reachesOrm || this.importsUnresolvedOrm(factory, typed, unresolved);
    for (const file of chunk) {
      const tooDeep = factory.tooDeep.get(file);
      if (tooDeep !== undefined) {
        this.factsByFile.set(file, unanalysableFacts(file, `the file is nested too deeply to parse (${tooDeep})`));
      } else if (reachesOrm) {
        this.analyzeTyped(file, typed);
      }
      // Else nothing this program holds declares the ORM: no file of it can have a finding or call into one.
      this.texts.delete(file);
      this.fileDone();
    }
  }

  /**
   * A preset's program that holds no ORM declaration may still import the ORM through a package
   * that does not resolve (`import { EntityManager } from '@mikro-orm/mysql'`, the driver not
   * installed): the checker cannot answer there (error types), so its files are walked and the
   * syntactic evidence decides, as when the ORM's own module does not resolve.
   */
  private importsUnresolvedOrm(factory: ProgramFactory, typed: TypedProgram, unresolved: Set<string>): boolean {
    if (!this.surface.context) return false;
    let found = false;
    for (const sourceFile of typed.program.getSourceFiles()) {
      if (sourceFile.isDeclarationFile) continue;
      for (const statement of sourceFile.statements) {
        const specifier =
          (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) && statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)
            ? statement.moduleSpecifier.text
            : undefined;
        if (specifier === undefined || isPathSpecifier(specifier) || !this.isOrmOrConnectionModule(specifier)) continue;
        if (factory.resolveImport(sourceFile.fileName, specifier) !== undefined) continue;
        unresolved.add(specifier);
        found = true;
      }
    }
    return found;
  }

  private analyzeTyped(file: string, typed: TypedProgram): void {
    const sourceFile = typed.program.getSourceFile(file);
    if (!sourceFile) return;
    const facts = analyzeFile(sourceFile, {
      surface: this.surface,
      dispatch: this.dispatch,
      resolveSpecifier: (specifier) => this.specifierResolver.resolveFrom(file, specifier),
      keepNodes: true,
    });
    if (!settleTypeFacts(facts, typed.oracle)) {
      this.notes.push(`${displayPath(this.cwd, file)}: the type checker overflowed the stack on it; its calls are matched by following imports syntactically`);
    }
    this.factsByFile.set(file, facts);
  }

  /**
   * One syntactic walk per file, on this thread. (Worker threads were measured slower on a
   * 2-core machine: cloning the facts back cost as much as parsing them, and every thread warms
   * TypeScript's parser up from cold.)
   */
  analyzeWithoutTypes(files: readonly string[]): void {
    this.noteForeignKeyFields();
    for (const file of files) {
      this.factsByFile.set(file, this.syntacticFacts(file, this.texts.get(file) as string));
      this.texts.delete(file);
      this.fileDone();
    }
  }

  private syntacticFacts(file: string, text: string): FileFacts {
    try {
      return analyzeSyntactically(file, text, this.surface, this.dispatch, this.specifierResolver);
    } catch (error) {
      if (!isStackOverflow(error)) throw error;
      return unanalysableFacts(file, `the file is nested too deeply to parse (${error.message})`);
    }
  }

  /**
   * Facts of any project file imports lead to: the scanned ones, else parsed on demand (exports
   * only) — and only if the text could matter (it names the ORM, or re-exports something).
   */
  factsProvider(): (file: string) => FileFacts | undefined {
    const extra = new Map<string, FileFacts | undefined>();
    const exportsOnly: RuleDispatch = [];
    return (file) => {
      const scanned = this.factsByFile.get(file);
      if (scanned) return scanned;
      if (extra.has(file)) return extra.get(file);
      let facts: FileFacts | undefined;
      try {
        const text = readFileSync(file, 'utf8');
        if (this.prefilter(text) || hasReexport(text)) {
          facts = analyzeSyntactically(file, text, this.surface, exportsOnly, this.specifierResolver);
        }
      } catch {
        facts = undefined;
      }
      extra.set(file, facts);
      return facts;
    };
  }
}

/** A relative module specifier in an import, export, `import()` or `require()`. */
const RELATIVE_SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"\n]*)['"]/gm;

export async function scan(options: ScanOptions = {}): Promise<ScanResult> {
  const started = performance.now();
  const cwd = resolve(options.cwd ?? process.cwd());
  const config = settleConnectionModule(options.config ?? loadConfig(cwd, options.configFile, options.paths ?? ['.'], options.preset));
  for (const id of Object.keys(options.ruleOverrides ?? {})) {
    if (!isRuleId(id)) throw new ConfigError('--rule', id, `is not a rule (rules: ${RULE_IDS.join(', ')})`);
  }
  const session = new ScanSession(cwd, config, enabledRules(config, options.ruleOverrides), options);

  const phases: Record<string, number> = {};
  let mark = performance.now();
  const phaseDone = (name: string): void => {
    const now = performance.now();
    phases[name] = Math.round(now - mark);
    mark = now;
  };

  options.onProgress?.({ phase: 'discover', done: 0, total: 0 });
  const discovery = discoverFiles({ cwd, patterns: options.paths ?? ['.'], include: config.include, exclude: config.exclude, configBaseDir: config.baseDir });
  session.notes.push(...discovery.notes);
  session.problems.push(...discovery.problems);
  phaseDone('discover');
  session.readCandidates(discovery.files);
  const candidates = session.candidates;
  phaseDone('read');

  let untyped: readonly string[] = candidates;
  if (options.types === false) {
    session.notes.push(`type information off (--no-types): ORM calls are matched by following imports from ${config.ormModules.join(', ')} syntactically`);
  } else {
    untyped = session.analyzeWithTypes(candidates);
    phaseDone('types');
  }
  session.analyzeWithoutTypes(session.reachingFiles(untyped, session.syntacticReach));
  phaseDone('syntax');

  const { ormKeys, connectionKeys } = session;
  const resolver = new OriginResolver(session.factsProvider(), {
    isOrmModule: (module) => ormKeys.matches(module),
    isConnectionModule: (module) => connectionKeys.matches(module),
    connectionName: config.connection.name,
    syncToAsyncName: SYNC_TO_ASYNC_FUNCTION,
  });
  options.onProgress?.({ phase: 'analyse', done: candidates.length, total: candidates.length });
  const files = candidates.map((file) => session.factsByFile.get(file)).filter((facts): facts is FileFacts => facts !== undefined);
  const analysis = analyzeProject({ files, resolver, rules: session.rules });
  phaseDone('analysis');

  return {
    findings: analysis.findings,
    files: discovery.files,
    mode: options.types === false || (candidates.length > 0 && untyped.length === candidates.length) ? 'syntactic' : 'type-aware',
    notes: session.notes,
    problems: session.problems,
    stats: {
      discovered: discovery.files.length,
      parsed: candidates.length - session.unreachable,
      skippedByPrefilter: discovery.files.length - candidates.length + session.unreachable,
      durationMs: performance.now() - started,
      phases,
    },
    connection: analysis.connection,
    cwd,
    configSource: config.source,
    ...(config.preset === 'runtime' ? {} : { preset: config.preset }),
  };
}
