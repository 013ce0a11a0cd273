/** Worker thread entry: parse and walk a share of the files, post the facts back. */
import { parentPort } from 'node:worker_threads';
import { SpecifierResolver } from './module-resolution.js';
import type { WorkerRequest, WorkerResponse } from './parallel.js';
import { analyzeSyntactically, dispatchFor, surfaceFromSettings } from './syntactic.js';

parentPort?.once('message', (request: WorkerRequest) => {
  let response: WorkerResponse;
  try {
    const surface = surfaceFromSettings(request.settings);
    const dispatch = dispatchFor(request.settings.enabledRules);
    const resolver = new SpecifierResolver();
    response = { ok: true, facts: request.files.map(({ file, text }) => analyzeSyntactically(file, text, surface, dispatch, resolver)) };
  } catch (error) {
    response = { ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
  parentPort?.postMessage(response);
});
