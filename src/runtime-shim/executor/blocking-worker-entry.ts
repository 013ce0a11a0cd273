/** The blocking worker: runs each statement on its own pg connection and wakes the waiting caller. */
import { parentPort, workerData } from 'node:worker_threads';
import { PostgresClientConnection } from '../backends/postgres.js';
import { BlockingState, serializeError } from './protocol.js';
import type { BlockingWorkerSetup, StatementReply, StatementRequest } from './protocol.js';

const { settings, statementTimeout, state, port } = workerData as BlockingWorkerSetup;
const connection = new PostgresClientConnection(settings, statementTimeout);

function signal(value: number): void {
  Atomics.store(state, 0, value);
  Atomics.notify(state, 0);
}

// The caller sends one request and sleeps until its reply, so requests never overlap.
parentPort!.on('message', async ({ id, statement }: StatementRequest) => {
  signal(BlockingState.taken);
  const started = performance.now();
  let reply: StatementReply;
  try {
    reply = { id, ok: true, result: await connection.execute(statement), durationMs: performance.now() - started };
  } catch (error) {
    reply = { id, ok: false, error: serializeError(error) };
  }
  // The reply is queued on the port before the caller wakes, so it can read it synchronously.
  port.postMessage(reply);
  signal(BlockingState.done);
});
