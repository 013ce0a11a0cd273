/** Syntactic analysis of one file (no type checker), and the pieces scan and fix share for it. */
import ts from '../typescript.cjs';
import { RULES } from '../rules/index.js';
import type { LoadedConfig } from './config.js';
import type { FileFacts } from './facts.js';
import { analyzeFile, buildRuleDispatch } from './file-analysis.js';
import type { OrmSurface, RuleDispatch } from './file-analysis.js';
import type { SpecifierResolver } from './module-resolution.js';
import { SYNC_TO_ASYNC_FUNCTION } from '../../runtime-shim/surface.js';
import type { RuleId } from './types.js';
import { contextSurfaceOf } from './context-model.js';
import type { ContextEntryFlags } from './context-model.js';
import { presetByName } from '../presets/index.js';

export function surfaceFromConfig(config: LoadedConfig, flags?: ContextEntryFlags): OrmSurface {
  const preset = presetByName(config.preset);
  const context = contextSurfaceOf(preset, flags);
  if (context) {
    // A preset with a context model matches calls by it, not by the runtime's names.
    return { asyncToSync: new Map(), syncToAsync: new Map(), connectionName: '', connectionCallbackArgument: 0, syncToAsyncName: '', preset, context };
  }
  const asyncToSync = new Map(Object.entries(config.methods));
  const syncToAsync = new Map<string, string>();
  for (const [asyncName, syncName] of asyncToSync) if (!syncToAsync.has(syncName)) syncToAsync.set(syncName, asyncName);
  return { asyncToSync, syncToAsync, connectionName: config.connection.name, connectionCallbackArgument: config.connection.callbackArgument, syncToAsyncName: SYNC_TO_ASYNC_FUNCTION };
}

export function dispatchFor(ruleIds: readonly RuleId[]): RuleDispatch {
  return buildRuleDispatch(RULES.filter((rule) => ruleIds.includes(rule.meta.id)));
}

export function scriptKindOf(file: string): ts.ScriptKind {
  if (file.endsWith('.tsx')) return ts.ScriptKind.TSX;
  if (file.endsWith('.jsx')) return ts.ScriptKind.JSX;
  if (/\.[cm]?js$/.test(file)) return ts.ScriptKind.JS;
  return ts.ScriptKind.TS;
}

/**
 * Parses a file for the syntactic walk (no JSDoc: nothing here reads it). `parents: false` skips
 * TypeScript's separate pass that links every node to its parent (~15% of parsing): analyzeFile
 * links them on its own walk, so only a tree nothing walks needs them from the parser.
 */
export function parseSource(file: string, text: string, parents = true): ts.SourceFile {
  return ts.createSourceFile(
    file,
    text,
    { languageVersion: ts.ScriptTarget.Latest, jsDocParsingMode: ts.JSDocParsingMode.ParseNone },
    parents,
    scriptKindOf(file),
  );
}

/** Parses and walks one file without types. */
export function analyzeSyntactically(file: string, text: string, surface: OrmSurface, dispatch: RuleDispatch, resolver: SpecifierResolver): FileFacts {
  return analyzeFile(parseSource(file, text, false), {
    surface,
    dispatch,
    resolveSpecifier: (specifier) => resolver.resolveFrom(file, specifier),
    keepNodes: false,
  });
}

