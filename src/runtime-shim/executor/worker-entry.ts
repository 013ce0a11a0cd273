/** The sticky worker: holds its own connection and runs statements one at a time, in order. */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteDriverConnection } from '../backends/sqlite.js';
import type { SyncDriverConnection } from '../backends/types.js';
import type { StatementReply, StatementRequest, WorkerSetup } from './protocol.js';

const { settings } = workerData as WorkerSetup;
let connection: SyncDriverConnection | undefined;

function open(): SyncDriverConnection {
  // SQLite's own busy wait is harmless here: it blocks this worker, not the caller's event loop.
  connection ??= new SqliteDriverConnection(settings, { busyTimeout: settings.timeout });
  return connection;
}

parentPort!.on('message', ({ id, statement }: StatementRequest) => {
  const started = performance.now();
  let reply: StatementReply;
  try {
    const result = open().execute(statement);
    reply = { id, ok: true, result, durationMs: performance.now() - started };
  } catch (error) {
    const { name, message, code } = error as { name: string; message: string; code?: string };
    reply = { id, ok: false, error: { name, message, code } };
  }
  parentPort!.postMessage(reply);
});
