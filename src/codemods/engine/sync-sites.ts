/**
 * What a sync-in-async-context candidate is, as the fix plans it: one mapping from the rule's
 * message ids (scan's findings, the scan's latent sync calls and fix's own finder share it).
 */
import type { LatentSyncCall } from './types.js';

export type SyncSiteKind = LatentSyncCall['kind'];

/** The rule's message id → the kind of sync site. */
export function syncSiteKind(messageId: string): SyncSiteKind {
  switch (messageId) {
    case 'iteration':
      return 'iteration';
    case 'iterable':
      return 'iterable';
    case 'foreignKey':
      return 'foreign-key';
    default:
      return 'call';
  }
}

/** The fields of a sync site a candidate's message data gives. */
export function syncSiteOf(messageId: string, data: Readonly<Record<string, string>>): Pick<LatentSyncCall, 'kind' | 'method' | 'twin' | 'excerpt'> {
  const kind = syncSiteKind(messageId);
  switch (kind) {
    case 'iteration':
      return { kind, method: data.method ?? 'for…of', twin: '', excerpt: 'for…of over a QuerySet' };
    case 'iterable':
    case 'foreign-key':
      return { kind, method: data.method ?? '', twin: '', excerpt: data.form ?? '' };
    default:
      return { kind, method: data.method ?? '', twin: data.twin ?? '', excerpt: `${data.callee ?? data.method}()` };
  }
}

/** How a message names the site (`a for…of over a QuerySet`, `` `qs.count()` ``). */
export function describeSyncSite(site: Pick<LatentSyncCall, 'kind' | 'excerpt'>): string {
  switch (site.kind) {
    case 'iteration':
      return 'a for…of over a QuerySet';
    case 'iterable':
      return `a sync iteration of a QuerySet (\`${site.excerpt}\`)`;
    case 'foreign-key':
      return `a lazy foreign-key read (\`${site.excerpt}\`)`;
    default:
      return `\`${site.excerpt}\``;
  }
}

/**
 * Why a site fix never rewrites stays manual, and what to write instead (undefined for the
 * kinds fix rewrites).
 */
export function unrewritableReason(site: Pick<LatentSyncCall, 'kind' | 'method'>): string | undefined {
  if (site.kind === 'iterable') {
    return (
      'it iterates the QuerySet synchronously and no async form keeps its meaning on Node 20 (`Array.fromAsync` needs Node 22): ' +
      'collect the rows first (`const rows = []; for await (const row of qs) rows.push(row);`) and use `rows` there'
    );
  }
  if (site.kind === 'foreign-key') {
    const model = site.method || 'Model';
    return `reading a foreign key that is not cached runs a sync query: fetch it with \`await ${model}.objects.aget({ pk: … })\` (the \`…Id\` field holds the key) and use that`;
  }
  return undefined;
}
