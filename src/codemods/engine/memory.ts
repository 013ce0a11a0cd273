/**
 * Type-aware scans build one program per chunk of files. V8 collects a dropped program only when
 * its old generation fills up, so without help the garbage of two or three chunks piles up and
 * the process peaks far above what it holds alive. A full collection between chunks keeps the
 * peak near one chunk's program plus the facts gathered so far.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | undefined;

export function collectGarbage(): void {
  if (!collect) {
    // The documented way to reach gc() without starting node with --expose-gc.
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
}
