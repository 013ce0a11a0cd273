/**
 * npm run bench:runtime — the runtime's overhead against raw better-sqlite3, measured in one run.
 *   (i)   aexists() inside newConnection   vs a raw prepared statement of the same SQL   (target ≤ 2×)
 *   (ii)  fallback aexists() (no block)    vs a bare worker postMessage round trip      (target ≤ 1.5×)
 *   (iii) sync exists()                    vs the raw prepared statement
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { closeAllConnections, configure, defineModel, fields, migrate, newConnection, onQuery } from 'orm-migrate/runtime';

const require = createRequire(import.meta.url);
const Database = require('better-sqlite3') as typeof import('better-sqlite3');

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const IN_THREAD_OPS = Number(process.env.BENCH_OPS ?? 20_000);
const WORKER_OPS = Number(process.env.BENCH_WORKER_OPS ?? 2_000);

const dir = mkdtempSync(join(tmpdir(), 'orm-migrate-bench-'));
const file = join(dir, 'bench.sqlite3');
configure({ databases: { default: { engine: 'sqlite', name: file } } });
const Question = defineModel('Question', {
  table: 'polls_question',
  fields: { id: fields.autoId(), questionText: fields.string({ maxLength: 200 }), pubDate: fields.datetime() },
});
migrate();
Question.objects.bulkCreate(Array.from({ length: 1000 }, (_, i) => ({ questionText: `question ${i}`, pubDate: new Date() })));

// The exact SQL and parameters the ORM sends for filter({ pk: 500 }).aexists().
let captured: { sql: string; params: readonly unknown[] } | undefined;
const stop = onQuery((event) => (captured ??= event));
await newConnection(() => Question.objects.filter({ pk: 500 }).aexists());
stop();
const { sql, params } = captured!;
process.env.ORM_MIGRATE_WARNINGS = 'ignore';

/** µs per call of `ops` sequential awaited calls. */
async function perCall(ops: number, body: () => unknown): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) await body();
  return Number(process.hrtime.bigint() - started) / 1000 / ops;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const raw = new Database(file);
const rawStatement = raw.prepare(sql);
const rawExists = () => rawStatement.get(...(params as unknown[])) !== undefined;

const rawWorker = new Worker(new URL('./support/raw-sqlite-worker.mjs', import.meta.url), { workerData: { file } });
let nextId = 0;
const waiting = new Map<number, (row: unknown) => void>();
rawWorker.on('message', ({ id, row }: { id: number; row: unknown }) => waiting.get(id)!(row));
const workerRoundTrip = () =>
  new Promise<boolean>((resolve) => {
    const id = nextId++;
    waiting.set(id, (row) => {
      waiting.delete(id);
      resolve(row !== undefined);
    });
    rawWorker.postMessage({ id, sql, params });
  });

const qs = Question.objects.filter({ pk: 500 });
const results: Array<{ name: string; us: number; baseline: string; baseUs: number; target?: number }> = [];

// Rounds alternate between the variants, so a change of machine load hits them all alike.
const variants: Record<string, { ops: number; run: () => Promise<number> }> = {
  raw: { ops: IN_THREAD_OPS, run: () => perCall(IN_THREAD_OPS, rawExists) },
  block: { ops: IN_THREAD_OPS, run: () => newConnection(() => perCall(IN_THREAD_OPS, () => Question.objects.filter({ pk: 500 }).aexists())) },
  blockSameQs: { ops: IN_THREAD_OPS, run: () => newConnection(() => perCall(IN_THREAD_OPS, () => qs.aexists())) },
  sync: { ops: IN_THREAD_OPS, run: () => perCall(IN_THREAD_OPS, () => Question.objects.filter({ pk: 500 }).exists()) },
  bareWorker: { ops: WORKER_OPS, run: () => perCall(WORKER_OPS, workerRoundTrip) },
  fallback: { ops: WORKER_OPS, run: () => perCall(WORKER_OPS, () => Question.objects.filter({ pk: 500 }).aexists()) },
};
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
for (let round = 0; round < ROUNDS + 1; round++) {
  for (const [name, variant] of Object.entries(variants)) {
    const us = await variant.run();
    if (round > 0) samples[name]!.push(us); // round 0 warms up
  }
}
const [rawUs, blockUs, blockSameQsUs, syncUs, bareWorkerUs, fallbackUs] = ['raw', 'block', 'blockSameQs', 'sync', 'bareWorker', 'fallback'].map((name) => median(samples[name]!)) as [number, number, number, number, number, number];

results.push({ name: '(i)   aexists() in newConnection', us: blockUs, baseline: 'raw prepared statement', baseUs: rawUs, target: 2 });
results.push({ name: '      same, reusing one QuerySet', us: blockSameQsUs, baseline: 'raw prepared statement', baseUs: rawUs });
results.push({ name: '(ii)  fallback aexists(), no block', us: fallbackUs, baseline: 'bare worker round trip', baseUs: bareWorkerUs, target: 1.5 });
results.push({ name: '(iii) sync exists()', us: syncUs, baseline: 'raw prepared statement', baseUs: rawUs });

console.log(`SQL: ${sql}  params: ${JSON.stringify(params)}`);
console.log(`medians of ${ROUNDS} alternating rounds (${IN_THREAD_OPS} in-thread / ${WORKER_OPS} worker calls each), node ${process.version}\n`);
for (const r of results) {
  const ratio = r.us / r.baseUs;
  const verdict = r.target === undefined ? '' : ratio <= r.target ? `  ≤ ${r.target}× ✓` : `  > ${r.target}× ✗ (target missed)`;
  console.log(`${r.name.padEnd(38)} ${r.us.toFixed(2).padStart(8)} µs   vs ${r.baseline} ${r.baseUs.toFixed(2)} µs   ratio ${ratio.toFixed(2)}×${verdict}`);
}

await rawWorker.terminate();
raw.close();
await closeAllConnections();
rmSync(dir, { recursive: true, force: true });
