/**
 * `orm-migrate fix` under the mikro-orm preset: decide each root (decide.ts, no ts-morph), then
 * make the edits on ts-morph (edit.ts, imported only here and only when there is an edit).
 */
import type { LoadedConfig } from '../../engine/config.js';
import type { ScanResult } from '../../engine/types.js';
import type { FixPlan, FixableRuleId, FixedFile } from '../types.js';
import { decideMikroOrmFix, mikroOrmRewrittenFindings } from './decide.js';

export function isMikroOrmPreset(config: LoadedConfig): boolean {
  return config.preset === 'mikro-orm';
}

export function rewrittenMikroOrmFindings(result: ScanResult, rules: ReadonlySet<FixableRuleId>): ReturnType<typeof mikroOrmRewrittenFindings> {
  return mikroOrmRewrittenFindings(result, rules.has('async-outside-connection'));
}

export async function planMikroOrmFix(result: ScanResult, rules: ReadonlySet<FixableRuleId>, started: number): Promise<FixPlan> {
  const decisions = decideMikroOrmFix(result, rules.has('async-outside-connection'));
  const files: FixedFile[] = [];
  const withEdits = [...decisions.byFile].filter(([file, list]) => !decisions.failed.has(file) && list.some((decision) => decision.edit));
  if (withEdits.length > 0) {
    const { MikroOrmEditor } = await import('./edit.js');
    const editor = new MikroOrmEditor();
    for (const [file, list] of withEdits) {
      const source = decisions.texts.get(file);
      if (!source) continue;
      try {
        const { text, edits } = editor.rewrite(file, source.text, list);
        if (text !== source.text) files.push({ file, original: source.raw, fixed: source.bom + text, rewrites: { 'async-outside-connection': edits } });
      } catch (error) {
        decisions.failed.add(file);
        decisions.errors.push({ file, message: error instanceof Error ? error.message : String(error) });
      }
    }
  }
  return {
    cwd: result.cwd,
    mode: result.mode,
    notes: result.notes,
    problems: result.problems,
    files,
    unchanged: result.files.length - files.length - decisions.failed.size,
    manual: decisions.manual,
    errors: decisions.errors,
    scanned: result.files,
    durationMs: performance.now() - started,
    rewriteLabels: { 'async-outside-connection': ['RequestContext opened', 'RequestContexts opened'] },
  };
}
