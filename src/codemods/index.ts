/**
 * The codemods' programmatic API: the scan engine, its rules and the report formatters.
 *
 * For `fix`: every `async-outside-connection` finding carries `roots` (the outermost in-project
 * async functions through which the call is reached outside any connection block), and
 * `result.connection` has the whole call-graph verdict (`functions`, `rootsOf(id)`).
 */
export { scan } from './engine/scan.js';
export type { ScanOptions } from './engine/scan.js';
export { ConfigError, CONFIG_FILE_NAME, PACKAGE_JSON_KEY, defaultConfig, loadConfig, validateConfig } from './engine/config.js';
export type { ConnectionFunctionConfig, LoadedConfig, ScanConfig } from './engine/config.js';
export { DiscoveryError, discoverFiles, SOURCE_EXTENSIONS } from './engine/discover.js';
export { TsconfigError } from './engine/programs.js';
export { PARSE_ERROR_RULE_ID, RULE_IDS, isRuleId } from './engine/types.js';
export type {
  AnalysisMode,
  ConnectionAnalysis,
  ConnectionFunctionSummary,
  Finding,
  FindingRuleId,
  FunctionKind,
  FunctionRef,
  RuleId,
  RuleSetting,
  ScanProgress,
  ScanResult,
  ScanStats,
  Severity,
} from './engine/types.js';
export { defineRule, formatMessage } from './engine/rule-api.js';
export type { Rule, RuleContext, RuleMeta } from './engine/rule-api.js';
export { RULES, ruleById, parseErrorMeta } from './rules/index.js';
export { FORMATS, FORMATTERS, buildReport, compareWithBaseline, countFindings, updatedStaticCounts } from './report/index.js';
export { BaselineError, readBaseline, serializeBaseline, writeBaseline } from '../gate/baseline.js';
export type { Baseline, StaticCounts } from '../gate/baseline.js';
export type { BaselineComparison, FormatContext, FormatName, GateOptions, Report, ReportedFinding } from './report/index.js';
export {
  ConcurrentChangeError,
  FIXABLE_RULE_IDS,
  isFixableRuleId,
  planFix,
  uncommittedChanges,
  unifiedDiff,
  writeFileAtomically,
} from './fix/index.js';
export type { DirtyFile, FixFailure, FixOptions, FixPlan, FixableRuleId, FixedFile, GitCheck, ManualItem } from './fix/index.js';
