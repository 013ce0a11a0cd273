/** The sticky worker: holds its own connection and runs statements one at a time, in order. */
import { parentPort, workerData } from 'node:worker_threads';
import { PostgresClientConnection } from '../backends/postgres.js';
import { SqliteDriverConnection } from '../backends/sqlite.js';
import type { StatementResult } from '../backends/types.js';
import { serializeError } from './protocol.js';
import type { StatementReply, StatementRequest, WorkerSetup } from './protocol.js';

const { settings } = workerData as WorkerSetup;
const port = parentPort!;

function succeeded(id: number, result: StatementResult, started: number): StatementReply {
  return { id, ok: true, result, durationMs: performance.now() - started };
}
function failed(id: number, error: unknown): StatementReply {
  return { id, ok: false, error: serializeError(error) };
}

if (settings.engine === 'postgres') {
  let connection: PostgresClientConnection | undefined;
  // pg answers asynchronously: chain the requests so statements run, and replies go back, in order.
  let queue: Promise<void> = Promise.resolve();
  port.on('message', ({ id, statement }: StatementRequest) => {
    queue = queue.then(async () => {
      const started = performance.now();
      let reply: StatementReply;
      try {
        connection ??= new PostgresClientConnection(settings, settings.statementTimeout);
        reply = succeeded(id, await connection.execute(statement), started);
      } catch (error) {
        reply = failed(id, error);
      }
      port.postMessage(reply);
    });
  });
} else {
  let connection: SqliteDriverConnection | undefined;
  port.on('message', ({ id, statement }: StatementRequest) => {
    const started = performance.now();
    let reply: StatementReply;
    try {
      // SQLite's own busy wait is harmless here: it blocks this worker, not the caller's event loop.
      connection ??= new SqliteDriverConnection(settings, { busyTimeout: settings.timeout });
      reply = succeeded(id, connection.execute(statement), started);
    } catch (error) {
      reply = failed(id, error);
    }
    port.postMessage(reply);
  });
}
