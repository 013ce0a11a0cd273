// The baseline for the fallback path: a bare worker that runs one prepared statement per message.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const db = new Database(workerData.file);
const statements = new Map();
parentPort.on('message', ({ id, sql, params }) => {
  let statement = statements.get(sql);
  if (!statement) statements.set(sql, (statement = db.prepare(sql)));
  parentPort.postMessage({ id, row: statement.get(...params) });
});
