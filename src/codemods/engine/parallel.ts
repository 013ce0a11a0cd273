/**
 * Syntactic mode on large scans: the main thread and worker threads each parse and walk a share
 * of the files. Facts are plain data, so they cross threads; the project-wide analysis that
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

export interface WorkerRequest {
  files: SourceText[];
  settings: SyntacticSettings;
}

export type WorkerResponse = { ok: true; facts: FileFacts[] } | { ok: false; error: string };

/** Below this many files a worker's start-up (loading TypeScript) costs more than it saves. */
const MIN_FILES_FOR_WORKERS = 300;

export function shouldUseWorkers(fileCount: number, workers: number | 'auto' | undefined): boolean {
  if (typeof workers === 'number') return workers > 1 && fileCount > 1;
  return fileCount >= MIN_FILES_FOR_WORKERS && availableParallelism() > 1;
}

function threadCount(fileCount: number, workers: number | 'auto' | undefined): number {
  if (typeof workers === 'number') return Math.max(1, Math.min(workers, fileCount));
  return Math.max(1, Math.min(availableParallelism(), 4, Math.ceil(fileCount / 150)));
}

/** The worker entry sits next to this module, compiled (.js) or run from source (.ts). */
function workerUrl(): URL {
  const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./syntactic-worker${extension}`, import.meta.url);
}

/** Splits files into shares of about equal text size; the main thread's share is larger (its TypeScript is already loaded). */
function shares(files: readonly SourceText[], threads: number): SourceText[][] {
  const buckets: SourceText[][] = Array.from({ length: threads }, () => []);
  const sizes = new Array<number>(threads).fill(0);
  const mainHeadStart = files.reduce((sum, file) => sum + file.text.length, 0) * 0.08;
  sizes[0] = -mainHeadStart;
  for (const file of files) {
    let smallest = 0;
    for (let index = 1; index < threads; index += 1) if ((sizes[index] ?? 0) < (sizes[smallest] ?? 0)) smallest = index;
    buckets[smallest]?.push(file);
    sizes[smallest] = (sizes[smallest] ?? 0) + file.text.length;
  }
  return buckets;
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

function runWorker(request: WorkerRequest): Promise<FileFacts[]> {
  return new Promise((resolvePromise, reject) => {
    const worker = startWorker();
    worker.once('message', (response: WorkerResponse) => {
      void worker.terminate();
      if (response.ok) resolvePromise(response.facts);
      else reject(new Error(`scan worker failed: ${response.error}`));
    });
    worker.once('error', reject);
    // After a reply, terminate() ends the worker with code 1: only an exit before any reply is a failure.
    worker.once('exit', (code) => reject(new Error(`scan worker exited with code ${code} before replying`)));
    worker.postMessage(request);
  });
}

export async function analyzeInWorkers(
  files: readonly SourceText[],
  settings: SyntacticSettings,
  workers: number | 'auto' | undefined,
  onFileDone: () => void,
): Promise<FileFacts[]> {
  const [own = [], ...others] = shares(files, threadCount(files.length, workers));
  const pending = others.filter((share) => share.length > 0).map((share) => runWorker({ files: share, settings }));
  const surface = surfaceFromSettings(settings);
  const dispatch = dispatchFor(settings.enabledRules);
  const resolver = new SpecifierResolver();
  const results: FileFacts[] = [];
  for (const { file, text } of own) {
    results.push(analyzeSyntactically(file, text, surface, dispatch, resolver));
    onFileDone();
  }
  for (const facts of await Promise.all(pending)) {
    results.push(...facts);
    for (let index = 0; index < facts.length; index += 1) onFileDone();
  }
  return results;
}
