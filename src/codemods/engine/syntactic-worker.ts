/** Worker thread entry: take batches of files, parse and walk each, send the facts back. */
import { parentPort } from 'node:worker_threads';
import type { RuleDispatch, OrmSurface } from './file-analysis.js';
import { SpecifierResolver } from './module-resolution.js';
import type { WorkerRequest, WorkerResponse } from './parallel.js';
import { analyzeSyntactically, dispatchFor, surfaceFromSettings } from './syntactic.js';

let surface: OrmSurface | undefined;
let dispatch: RuleDispatch = [];
const resolver = new SpecifierResolver();

function reply(response: WorkerResponse): void {
  parentPort?.postMessage(response);
}

parentPort?.on('message', (request: WorkerRequest) => {
  try {
    if (request.kind === 'settings') {
      surface = surfaceFromSettings(request.settings);
      dispatch = dispatchFor(request.settings.enabledRules);
      reply({ kind: 'ready', facts: [] });
    } else if (request.kind === 'batch' && surface) {
      const ready = surface;
      reply({ kind: 'ready', facts: request.files.map(({ file, text }) => analyzeSyntactically(file, text, ready, dispatch, resolver)) });
    } else {
      parentPort?.close();
    }
  } catch (error) {
    reply({ kind: 'failed', error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
});
