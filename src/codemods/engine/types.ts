/** Public result types of the scan engine: what `scan` reports and what `fix` will consume. */
import type { PresetName } from '../presets/index.js';
import type { InputProblem } from './discover.js';
import type { RewriteFacts, WrapFacts } from './facts.js';

export type Severity = 'error' | 'warning';
export type RuleSetting = 'off' | 'warn' | 'error';

export const RULE_IDS = [
  'async-outside-connection',
  'sync-in-async-context',
  'sync-to-async-wrapper',
  'allow-async-unsafe',
  'floating-async-call',
] as const;
export type RuleId = (typeof RULE_IDS)[number];

/** A file that does not parse is reported under this pseudo-rule; it cannot be turned off. */
export const PARSE_ERROR_RULE_ID = 'parse-error';
export type FindingRuleId = RuleId | typeof PARSE_ERROR_RULE_ID;

export function isRuleId(value: string): value is RuleId {
  return (RULE_IDS as readonly string[]).includes(value);
}

/** Where a function sits and what kind it is, as the connection analysis sees it. */
export type FunctionKind =
  /** The top level of a module (top-level await runs here). */
  | 'module'
  /** The callback passed to the connection function: always inside a connection. */
  | 'connection-callback'
  /** The callback passed to the legacy thread wrapper: runs on a worker, never inside. */
  | 'thread-callback'
  /** A function expression used in place (argument, IIFE): runs where it is written. */
  | 'inline'
  /** A declaration or a function bound to a name, method or property: runs where it is called from. */
  | 'named';

/** One function of the project, located precisely enough for `fix` to rewrite it. */
export interface FunctionRef {
  /** Stable within one scan: `<file>#<start offset>`. */
  id: string;
  /** Absolute path. */
  file: string;
  /** Declared name, the variable or property it is bound to, or undefined. */
  name: string | undefined;
  kind: FunctionKind;
  async: boolean;
  /** 1-based line and column (UTF-16 code units) of the function's first token. */
  line: number;
  column: number;
  /** Offsets into the file text: the function node without leading trivia, and its end. */
  start: number;
  end: number;
}

export interface Finding {
  ruleId: FindingRuleId;
  severity: Severity;
  messageId: string;
  message: string;
  /** Absolute path. */
  file: string;
  /** 1-based lines and columns, UTF-16 code units (as editors, ESLint and SARIF count). */
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  /** Offsets into the file text (no leading trivia). */
  start: number;
  end: number;
  /** The rule can rewrite this finding (`orm-migrate fix`, a later command). */
  fixable: boolean;
  /** Values interpolated into the message (method names, suggested replacement). */
  data: Record<string, string>;
  /**
   * async-outside-connection only: the outermost in-project async functions from which this
   * call is reached outside any connection block; wrapping each in the connection function
   * fixes it. A call at module top level has the module as its root.
   */
  roots?: FunctionRef[];
}

export type AnalysisMode = 'type-aware' | 'syntactic';

export interface ConnectionFunctionSummary extends FunctionRef {
  /** Runs only inside a connection block (every in-project caller is inside one). */
  insideConnection: boolean;
  /** What fix needs to know to wrap its body (not for the module). */
  wrap?: WrapFacts;
}

/** A sync ORM call or loop outside every block, where the scan's walk saw it (see ConnectionAnalysis.latentSyncCalls). */
export interface LatentSyncCall {
  /** Start of the function it runs in (0 and `inModule` for top-level code). */
  functionStart: number;
  inModule: boolean;
  start: number;
  end: number;
  /**
   * A sync call, a sync for…of over a QuerySet, another sync iteration of one (`[...qs]`,
   * `Array.from(qs)`, `const [a] = qs` …) or a lazy foreign-key read (`choice.question`); the
   * last two fix never rewrites (see sync-sites.ts).
   */
  kind: 'call' | 'iteration' | 'iterable' | 'foreign-key';
  /** The method name (a call), or the related model's name (a foreign-key read, '' when unknown). */
  method: string;
  twin: string;
  /** Short source text for messages. */
  excerpt: string;
}

export interface ConnectionAnalysis {
  /** Every function the scan saw in the analysed files, with the verdict of the call-graph analysis. */
  functions: ConnectionFunctionSummary[];
  /** Roots of the call chains through which a function is reached outside a connection block. */
  rootsOf(functionId: string): FunctionRef[];
  /**
   * A function inside a block from which this one is also called (or handed to the connection
   * function), if any: giving this one a block of its own would nest a block, with a connection of
   * its own, in that caller's (outside its transaction).
   */
  insideCallerOf?(functionId: string): FunctionRef | undefined;
  /**
   * Functions handed to a call that runs them later (`setTimeout(cb)`, `emitter.on('x', cb)`), by
   * id, each with the functions that hand them over: such a callback runs in the async context of
   * the code that scheduled it, so a block around that code is its context too (during the block,
   * or after it ended).
   */
  scheduled?(): ReadonlyMap<string, readonly FunctionRef[]>;
  /** Whether the function is reached from itself outside every block (recursion): a block of its own would nest at every level. */
  reachesItself?(functionId: string): boolean;
  /** The top-level code (module refs) that calls the function outside every block, and whether anything else reaches it outside one. */
  moduleCallersOf?(functionId: string): { modules: FunctionRef[]; elsewhere: boolean };
  /**
   * Sync ORM calls and loops of a file that are not findings only because their function runs
   * outside every block (the ORM verdict held, type-aware where the checker answered): a wrap
   * that puts their function inside a block must make them async too.
   */
  latentSyncCalls?(file: string): readonly LatentSyncCall[];
  /** What fix's in-place rewrite of this finding depends on (sync calls and loops, thread wrappers), as the walk saw it. */
  rewriteFacts?(finding: Finding): RewriteFacts | undefined;
}

export interface ScanStats {
  /** Files found by discovery (after ignores, include/exclude). */
  discovered: number;
  /** Files that passed the text prefilter and were parsed. */
  parsed: number;
  /** Files never parsed: their text names nothing of the ORM. */
  skippedByPrefilter: number;
  durationMs: number;
  /** Wall-clock milliseconds per step (discover, read, types, syntax, analysis). */
  phases: Record<string, number>;
}

export interface ScanResult {
  /** Sorted by file, line, column, rule. */
  findings: Finding[];
  /** Absolute paths of every discovered file (scanned set), sorted. */
  files: string[];
  mode: AnalysisMode;
  /** Things the user should know about how the scan ran (fallbacks, unresolved modules). */
  notes: string[];
  /** Patterns that matched nothing, files and directories that could not be read (the CLI exits 2). */
  problems: InputProblem[];
  stats: ScanStats;
  connection: ConnectionAnalysis;
  /** Directory paths in reports are relative to. */
  cwd: string;
  /** The config file that was used, if any (absolute path, with `#ormMigrate` for package.json). */
  configSource: string | undefined;
  /** The preset, when it is not the default runtime's (`"mikro-orm"`); reports take its rules' help from it. */
  preset?: Exclude<PresetName, 'runtime'>;
}

export interface ScanProgress {
  phase: 'discover' | 'parse' | 'analyse';
  done: number;
  total: number;
}
