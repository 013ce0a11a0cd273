/**
 * What a sync-in-async-context candidate is, as the fix plans it: one mapping from the rule's
 * message ids (scan's findings, the scan's latent sync calls and fix's own finder share it).
 */
import type { LatentSyncCall } from './types.js';

/** What a message calls the related model of a foreign key when its definition is not in sight. */
export const RELATED_MODEL = 'RelatedModel';

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
      return { kind, method: '', twin: '', excerpt: data.form ?? '' };
    case 'foreign-key':
      // method: the related model (for the suggestion).
      return { kind, method: data.model ?? RELATED_MODEL, twin: '', excerpt: data.form ?? '' };
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
export function unrewritableReason(site: Pick<LatentSyncCall, 'kind' | 'method' | 'excerpt'>): string | undefined {
  if (site.kind === 'iterable') {
    return (
      'it iterates the QuerySet synchronously and no async form keeps its meaning on Node 20 (`Array.fromAsync` needs Node 22): ' +
      'collect the rows first (`const rows = []; for await (const row of qs) rows.push(row);`) and use `rows` there'
    );
  }
  if (site.kind === 'foreign-key') {
    // The excerpt is the read itself (`choice.question`): its key is `choice.questionId`.
    const key = site.excerpt.endsWith('…') ? '…' : `${site.excerpt}Id`;
    return `unless the related object is cached, reading the foreign key runs a sync query: fetch it with \`await ${site.method || RELATED_MODEL}.objects.aget({ pk: ${key} })\` and use that`;
  }
  return undefined;
}
