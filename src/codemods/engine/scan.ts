/**
 * The scan pipeline: discover files → text prefilter → parse (a ts.Program per tsconfig in
 * type-aware mode, plain parses otherwise) → one walk per file → project-wide analysis → findings.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { ALLOW_ASYNC_UNSAFE_ENV, SYNC_TO_ASYNC_FUNCTION } from '../../runtime-shim/surface.js';
import { RULES } from '../rules/index.js';
import { loadConfig } from './config.js';
import type { LoadedConfig } from './config.js';
import { discoverFiles, toPosix } from './discover.js';
import type { FileFacts } from './facts.js';
import { analyzeFile, buildRuleDispatch } from './file-analysis.js';
import type { RuleDispatch } from './file-analysis.js';
import { SpecifierResolver } from './module-resolution.js';
import { OriginResolver, isProjectModule } from './origin-resolver.js';
import { buildPrefilter, hasReexport } from './prefilter.js';
import { analyzeProject } from './project-analysis.js';
import type { EnabledRule } from './project-analysis.js';
import { ProgramFactory, TsconfigError, nearestTsconfig } from './programs.js';
import { settleTypeFacts } from './type-settlement.js';
import { collectGarbage } from './memory.js';
import { isRuleId } from './types.js';
import type { RuleId, RuleSetting, ScanProgress, ScanResult } from './types.js';
import { analyzeInWorkers, shouldUseWorkers } from './parallel.js';
import { analyzeSyntactically, parseSource, surfaceFromConfig } from './syntactic.js';
import type { SyntacticSettings } from './syntactic.js';

export interface ScanOptions {
  /** Directory paths and the config search start from (default: process.cwd()). */
  cwd?: string;
  /** Files, directories or globs (default `.`). */
  paths?: readonly string[];
  /** An explicit config file (orm-migrate.config.json or a package.json with "ormMigrate"). */
  configFile?: string;
  /** Use this config instead of loading one. */
  config?: LoadedConfig;
  /** Type-aware analysis with the nearest tsconfig.json (default true). */
  types?: boolean;
  /** Severity overrides on top of the config (`--rule id:severity`). */
  ruleOverrides?: Partial<Record<RuleId, RuleSetting>>;
  /** Worker threads for syntactic parsing: 'auto' (default) uses them for large scans only. */
  workers?: number | 'auto';
  /** Type-aware mode builds one program per this many bytes of source, to bound memory. */
  typeAwareChunkBytes?: number;
  onProgress?: (progress: ScanProgress) => void;
}

function enabledRules(config: LoadedConfig, overrides: Partial<Record<RuleId, RuleSetting>> | undefined): Map<RuleId, EnabledRule> {
  const enabled = new Map<RuleId, EnabledRule>();
  for (const rule of RULES) {
    const setting = overrides?.[rule.meta.id] ?? config.rules[rule.meta.id];
    if (setting === 'off') continue;
    const severity = setting === undefined ? rule.meta.defaultSeverity : setting === 'error' ? 'error' : 'warning';
    enabled.set(rule.meta.id, { meta: rule.meta, severity });
  }
  return enabled;
}

interface ModuleKeys {
  exact: Set<string>;
  packages: string[];
}

function moduleKeys(specifiers: readonly string[], config: LoadedConfig, resolver: SpecifierResolver): ModuleKeys {
  const keys: ModuleKeys = { exact: new Set(), packages: [] };
  for (const specifier of specifiers) {
    if (specifier.startsWith('.') || isAbsolute(specifier)) {
      const file = resolver.resolvePath(resolve(config.baseDir, specifier));
      keys.exact.add(file ?? resolve(config.baseDir, specifier));
    } else {
      keys.exact.add(specifier);
      keys.packages.push(`${specifier}/`);
    }
  }
  return keys;
}

function matchesKeys(keys: ModuleKeys, module: string): boolean {
  return keys.exact.has(module) || (!isProjectModule(module) && keys.packages.some((prefix) => module.startsWith(prefix)));
}

/** About 30k lines of typical TypeScript: a program of this size stays near 100 MB. */
const DEFAULT_CHUNK_BYTES = 1_200_000;

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

export async function scan(options: ScanOptions = {}): Promise<ScanResult> {
  const started = performance.now();
  const cwd = resolve(options.cwd ?? process.cwd());
  const config = options.config ?? loadConfig(cwd, options.configFile);
  for (const id of Object.keys(options.ruleOverrides ?? {})) if (!isRuleId(id)) throw new Error(`unknown rule ${id}`);
  const rules = enabledRules(config, options.ruleOverrides);
  const surface = surfaceFromConfig(config);
  const dispatch = buildRuleDispatch(RULES.filter((rule) => rules.has(rule.meta.id)));
  const notes: string[] = [];
  const progress = options.onProgress;

  progress?.({ phase: 'discover', done: 0, total: 0 });
  const discovery = discoverFiles({
    cwd,
    patterns: options.paths ?? ['.'],
    include: config.include,
    exclude: config.exclude,
    configBaseDir: config.baseDir,
  });
  notes.push(...discovery.notes);

  const prefilter = buildPrefilter({
    words: [...surface.asyncToSync.keys(), ...surface.syncToAsync.keys(), surface.connectionName, surface.syncToAsyncName, ALLOW_ASYNC_UNSAFE_ENV],
    modules: [...config.ormModules, config.connection.module],
  });
  const texts = new Map<string, string>();
  for (const file of discovery.files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      notes.push(`could not read ${displayPath(cwd, file)}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      continue;
    }
    if (prefilter(text)) texts.set(file, text);
  }
  const candidates = [...texts.keys()];

  const specifierResolver = new SpecifierResolver();
  const ormKeys = moduleKeys(config.ormModules, config, specifierResolver);
  const connectionKeys = moduleKeys([config.connection.module], config, specifierResolver);

  // Type-aware: files grouped by their nearest tsconfig.json; each group analysed a chunk at a time.
  const syntacticFiles: string[] = [];
  const factsByFile = new Map<string, FileFacts>();
  let done = 0;
  const tick = (): void => {
    done += 1;
    if (progress && done % 50 === 0) progress({ phase: 'parse', done, total: candidates.length });
  };
  let typedFiles = 0;
  if (options.types === false) {
    notes.push(`type information off (--no-types): ORM calls are matched by following imports from ${config.ormModules.join(', ')} syntactically`);
    syntacticFiles.push(...candidates);
  } else {
    const tsconfigCache = new Map<string, string | null>();
    const groups = new Map<string, string[]>();
    const untyped: string[] = [];
    for (const file of candidates) {
      const tsconfig = nearestTsconfig(file, tsconfigCache);
      if (!tsconfig) untyped.push(file);
      else if (groups.has(tsconfig)) groups.get(tsconfig)?.push(file);
      else groups.set(tsconfig, [file]);
    }
    if (untyped.length > 0) {
      notes.push(
        `no tsconfig.json found for ${untyped.length} file(s) (e.g. ${displayPath(cwd, untyped[0] as string)}): ORM calls there are matched by following imports syntactically`,
      );
      syntacticFiles.push(...untyped);
    }
    for (const [tsconfig, files] of groups) {
      let factory: ProgramFactory;
      try {
        factory = new ProgramFactory({
          tsconfig,
          ormModules: config.ormModules,
          connectionModule: config.connection.module,
          connectionName: config.connection.name,
          syncToAsyncName: SYNC_TO_ASYNC_FUNCTION,
          configBaseDir: config.baseDir,
        });
      } catch (error) {
        if (!(error instanceof TsconfigError)) throw error;
        notes.push(`could not use ${displayPath(cwd, tsconfig)} (${error.message}): its files are matched by following imports syntactically`);
        syntacticFiles.push(...files);
        continue;
      }
      const unresolved = new Set<string>();
      const chunks = chunksOf(files, texts, options.typeAwareChunkBytes ?? DEFAULT_CHUNK_BYTES);
      for (const [index, chunk] of chunks.entries()) {
        if (index > 0) collectGarbage();
        const typed = factory.create(chunk);
        for (const module of typed.unresolvedModules) unresolved.add(module);
        for (const file of chunk) {
          const sourceFile = typed.program.getSourceFile(file);
          if (!sourceFile) continue;
          const facts = analyzeFile(sourceFile, {
            surface,
            dispatch,
            resolveSpecifier: (specifier) => specifierResolver.resolveFrom(file, specifier),
            keepNodes: true,
          });
          settleTypeFacts(facts, typed.oracle);
          factsByFile.set(file, facts);
          typedFiles += 1;
          tick();
        }
      }
      // Free the last chunk's program before the project-wide analysis allocates the findings.
      if (chunks.length > 1) collectGarbage();
      if (unresolved.size > 0) {
        notes.push(
          `${displayPath(cwd, tsconfig)}: ${[...unresolved].join(', ')} does not resolve, so types cannot tell the ORM apart; receivers are matched by following imports syntactically`,
        );
      }
    }
  }
  const mode = typedFiles > 0 ? 'type-aware' : 'syntactic';

  // Syntactic files: one walk each, in worker threads when there are many.
  if (shouldUseWorkers(syntacticFiles.length, options.workers)) {
    const settings: SyntacticSettings = {
      surface: { asyncToSync: [...surface.asyncToSync], connectionName: surface.connectionName, syncToAsyncName: surface.syncToAsyncName },
      enabledRules: [...rules.keys()],
    };
    const shares = syntacticFiles.map((file) => ({ file, text: texts.get(file) as string }));
    for (const facts of await analyzeInWorkers(shares, settings, options.workers, tick)) factsByFile.set(facts.file, facts);
  } else {
    for (const file of syntacticFiles) {
      factsByFile.set(file, analyzeSyntactically(file, texts.get(file) as string, surface, dispatch, specifierResolver));
      tick();
    }
  }
  texts.clear();

  // Files outside the scan that imports lead to: parsed on demand, only if their text could matter.
  const exportOnlyDispatch: RuleDispatch = [];
  const extraFacts = new Map<string, FileFacts | undefined>();
  const factsProvider = (file: string): FileFacts | undefined => {
    const scanned = factsByFile.get(file);
    if (scanned) return scanned;
    if (extraFacts.has(file)) return extraFacts.get(file);
    let facts: FileFacts | undefined;
    try {
      const text = readFileSync(file, 'utf8');
      if (prefilter(text) || hasReexport(text)) {
        facts = analyzeFile(parseSource(file, text), {
          surface,
          dispatch: exportOnlyDispatch,
          resolveSpecifier: (specifier) => specifierResolver.resolveFrom(file, specifier),
          keepNodes: false,
        });
      }
    } catch {
      facts = undefined;
    }
    extraFacts.set(file, facts);
    return facts;
  };

  const resolver = new OriginResolver(factsProvider, {
    isOrmModule: (module) => matchesKeys(ormKeys, module),
    isConnectionModule: (module) => matchesKeys(connectionKeys, module),
    connectionName: config.connection.name,
    syncToAsyncName: SYNC_TO_ASYNC_FUNCTION,
  });
  progress?.({ phase: 'analyse', done: candidates.length, total: candidates.length });
  const scannedFacts = candidates.map((file) => factsByFile.get(file)).filter((facts): facts is FileFacts => facts !== undefined);
  const analysis = analyzeProject({
    files: scannedFacts,
    resolver,
    rules,
  });

  return {
    findings: analysis.findings,
    files: discovery.files,
    mode,
    notes,
    stats: {
      discovered: discovery.files.length,
      parsed: candidates.length,
      skippedByPrefilter: discovery.files.length - candidates.length,
      durationMs: performance.now() - started,
    },
    connection: analysis.connection,
    cwd,
    configSource: config.source,
  };
}
