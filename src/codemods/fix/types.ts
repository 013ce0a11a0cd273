/** What `orm-migrate fix` takes and gives back (the programmatic API; the CLI prints it). */
import type { InputProblem } from '../engine/discover.js';
import type { LoadedConfig } from '../engine/config.js';
import type { PresetName } from '../presets/index.js';
import type { AnalysisMode, RuleId, ScanProgress } from '../engine/types.js';

export const FIXABLE_RULE_IDS = ['async-outside-connection', 'sync-in-async-context', 'sync-to-async-wrapper'] as const satisfies readonly RuleId[];
export type FixableRuleId = (typeof FIXABLE_RULE_IDS)[number];

export function isFixableRuleId(value: string): value is FixableRuleId {
  return (FIXABLE_RULE_IDS as readonly string[]).includes(value);
}

export interface FixOptions {
  /** Directory paths and the config search start from (default: process.cwd()). */
  cwd?: string;
  /** Files, directories or globs (default `.`). */
  paths?: readonly string[];
  configFile?: string;
  config?: LoadedConfig;
  /** `--preset`: overrides the config's "preset" when the config is loaded here. */
  preset?: PresetName;
  /** Type-aware scan with the nearest tsconfig.json (default true). */
  types?: boolean;
  /** The rewrites to apply (default: every fixable rule the config does not turn off). */
  rules?: readonly FixableRuleId[];
  onProgress?: (progress: ScanProgress) => void;
}

/** Something the fix left alone on purpose, with what the user should do. */
export interface ManualItem {
  file: string;
  line: number;
  column: number;
  ruleId: FixableRuleId;
  /** What it is about: a function (the root of a call chain), the module's top level, or a call. */
  subject: string;
  reason: string;
  /** Findings of scan it leaves in place. */
  findings: number;
}

export interface FixedFile {
  /** Absolute path. */
  file: string;
  original: string;
  fixed: string;
  /** Rewrites applied, per rule. */
  rewrites: Partial<Record<FixableRuleId, number>>;
}

export interface FixFailure {
  file: string;
  message: string;
}

export interface FixPlan {
  cwd: string;
  mode: AnalysisMode;
  notes: string[];
  /** Input the scan could not look at (see ScanResult.problems). */
  problems: InputProblem[];
  /** Files whose text changes. */
  files: FixedFile[];
  /** Scanned files that stay as they are (and did not fail). */
  unchanged: number;
  manual: ManualItem[];
  errors: FixFailure[];
  /** Every file the scan covered. */
  scanned: string[];
  durationMs: number;
  /** How the CLI names each rule's rewrites when the preset's differ ("context opened" rather than "block added"). */
  rewriteLabels?: Partial<Record<FixableRuleId, [one: string, many: string]>>;
}
