/**
 * Syntactic mode on large scans: the main thread and worker threads parse and walk batches of
 * files taken from one queue (so a worker still loading TypeScript, or a busy core, never holds
 * up the rest). Facts are plain data, so they cross threads; the project-wide analysis that
 * follows stays on the main thread.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { FileFacts } from './facts.js';
import { SpecifierResolver } from './module-resolution.js';
import type { SyntacticSettings } from './syntactic.js';
import { analyzeSyntactically, dispatchFor, surfaceFromSettings } from './syntactic.js';

export interface SourceText {
  file: string;
  text: string;
}

/** Main thread → worker: the settings once, then batches until `done`. */
export type WorkerRequest = { kind: 'settings'; settings: SyntacticSettings } | { kind: 'batch'; files: SourceText[] } | { kind: 'done' };

/** Worker → main thread: ready for a batch (with the facts of the previous one), or a failure. */
export type WorkerResponse = { kind: 'ready'; facts: FileFacts[] } | { kind: 'failed'; error: string };

/** Below this many files a worker's start-up (loading TypeScript) costs more than it saves. */
const MIN_FILES_FOR_WORKERS = 300;
const BATCH_FILES = 40;

export function shouldUseWorkers(fileCount: number, workers: number | 'auto' | undefined): boolean {
  if (typeof workers === 'number') return workers > 1 && fileCount > 1;
  return fileCount >= MIN_FILES_FOR_WORKERS && availableParallelism() > 1;
}

/** Worker threads besides the main thread. */
function workerCount(fileCount: number, workers: number | 'auto' | undefined): number {
  const threads = typeof workers === 'number' ? workers : Math.min(availableParallelism(), 4);
  return Math.max(0, Math.min(threads - 1, Math.ceil(fileCount / BATCH_FILES) - 1));
}

/** The worker entry sits next to this module, compiled (.js) or run from source (.ts). */
function workerUrl(): URL {
  const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./syntactic-worker${extension}`, import.meta.url);
}

function startWorker(): Worker {
  const url = workerUrl();
  if (url.pathname.endsWith('.ts')) {
    // Running from source under tsx (the test suite): the worker has to register tsx itself.
    // The tsx API resolves from the working directory (the repository, when the tests run).
    const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); });`;
    return new Worker(bootstrap, { eval: true });
  }
  return new Worker(url);
}

export async function analyzeInWorkers(
  files: readonly SourceText[],
  settings: SyntacticSettings,
  workers: number | 'auto' | undefined,
  onFileDone: () => void,
): Promise<FileFacts[]> {
  const queue: SourceText[][] = [];
  for (let index = 0; index < files.length; index += BATCH_FILES) queue.push(files.slice(index, index + BATCH_FILES));
  const results: FileFacts[] = [];
  const collect = (facts: readonly FileFacts[]): void => {
    for (const fact of facts) {
      results.push(fact);
      onFileDone();
    }
  };

  const running = Array.from({ length: workerCount(files.length, workers) }, () => startWorker());
  const finished = running.map(
    (worker) =>
      new Promise<void>((resolvePromise, reject) => {
        let done = false;
        let inFlight = 0;
        worker.on('message', (response: WorkerResponse) => {
          if (response.kind === 'failed') {
            done = true;
            void worker.terminate();
            reject(new Error(`scan worker failed: ${response.error}`));
            return;
          }
          collect(response.facts);
          if (response.facts.length > 0) inFlight -= 1;
          // Two batches in flight: the next one waits in the worker's port while the main thread is busy.
          while (inFlight < 2) {
            const batch = queue.shift();
            if (!batch) break;
            worker.postMessage({ kind: 'batch', files: batch } satisfies WorkerRequest);
            inFlight += 1;
          }
          if (inFlight === 0) {
            done = true;
            worker.postMessage({ kind: 'done' } satisfies WorkerRequest);
            resolvePromise();
          }
        });
        worker.once('error', reject);
        worker.once('exit', (code) => {
          if (!done) reject(new Error(`scan worker exited with code ${code} before finishing`));
        });
        worker.postMessage({ kind: 'settings', settings } satisfies WorkerRequest);
      }),
  );

  const surface = surfaceFromSettings(settings);
  const dispatch = dispatchFor(settings.enabledRules);
  const resolver = new SpecifierResolver();
  for (let batch = queue.shift(); batch; batch = queue.shift()) {
    collect(batch.map(({ file, text }) => analyzeSyntactically(file, text, surface, dispatch, resolver)));
    // Let waiting workers take their next batch before this thread takes another.
    await new Promise<void>((resolveTurn) => setImmediate(resolveTurn));
  }
  await Promise.all(finished);
  return results;
}
