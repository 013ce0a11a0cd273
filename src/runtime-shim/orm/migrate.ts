import { OPTIONS, checkOptions } from '../options.js';
import { runSync } from '../shim.js';
import { registeredModels } from './model.js';
import { rawStatements } from './ops.js';
import { compilerFor } from './queryset.js';
import type { ModelMeta } from './meta.js';

/** Referenced tables first, so foreign keys point at tables that exist. */
function inDependencyOrder(metas: readonly ModelMeta[]): ModelMeta[] {
  const ordered: ModelMeta[] = [];
  const visiting = new Set<ModelMeta>();
  const visit = (meta: ModelMeta) => {
    if (ordered.includes(meta) || visiting.has(meta)) return;
    visiting.add(meta);
    for (const fk of meta.foreignKeys.values()) visit(fk.target().meta);
    ordered.push(meta);
  };
  metas.forEach(visit);
  return ordered;
}

/** Creates the missing tables (and foreign key indexes) of every defined model. Sync. */
export function migrate(options: { using?: string } = {}): void {
  checkOptions(options, OPTIONS.migrate, 'migrate');
  const alias = options.using ?? 'default';
  const compiler = compilerFor(alias);
  const statements = inDependencyOrder(registeredModels()).flatMap((meta) =>
    compiler.createTable(meta).map((sql) => ({ sql, params: [], mode: 'run' as const, writes: true })),
  );
  runSync({ alias, model: '', method: 'migrate' }, rawStatements(statements));
}
