/**
 * npm run bench:mikro-orm — what orm-migrate/mikro-orm costs, measured in one run on one SQLite file.
 *   (i)   em.findOne in a RequestContext, with warnOnGlobalContext   vs the same without it     (target ≤ 1.05×)
 *   (ii)  em.findOne on the global EntityManager with the shim, after its warning was printed
 *         (the per-call cost of the check and its call-site dedupe)  vs allowGlobalContext: true (the same work, unchecked)
 *   (iii) the same as (ii) while recording to ORM_MIGRATE_WARNINGS_FILE (one appended line per call)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EntitySchema, RequestContext } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/better-sqlite';
import { warnOnGlobalContext } from 'orm-migrate/mikro-orm';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const OPS = Number(process.env.BENCH_OPS ?? 3_000);

interface Book {
  id: number;
  title: string;
}
const BookSchema = new EntitySchema<Book>({ name: 'Book', tableName: 'book', properties: { id: { type: 'number', primary: true }, title: { type: 'string' } } });

const dir = mkdtempSync(join(tmpdir(), 'orm-migrate-bench-mikro-'));
const dbName = join(dir, 'bench.sqlite3');
const options = { dbName, entities: [BookSchema], debug: false };

const plain = await MikroORM.init({ ...options });
await plain.schema.refreshDatabase();
const seed = plain.em.fork();
for (let i = 0; i < 1000; i++) seed.create(BookSchema, { title: `book ${i}` });
await seed.flush();
const shimmed = await MikroORM.init(warnOnGlobalContext({ ...options }));
const unchecked = await MikroORM.init({ ...options, allowGlobalContext: true });


/** µs per call of `ops` sequential awaited calls. */
async function perCall(ops: number, body: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) await body();
  return Number(process.hrtime.bigint() - started) / 1000 / ops;
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

// A where clause that is no primary key, so every call queries (the identity map cannot answer it).
const where = { title: 'book 500' };
const inContext = (orm: MikroORM) => () => RequestContext.create(orm.em, () => orm.em.findOne(BookSchema, where));
// The global EntityManager's identity map keeps the row; clearing it keeps every call's work the same.
const onGlobal = (orm: MikroORM) => async () => {
  const book = await orm.em.findOne(BookSchema, where);
  orm.em.getUnitOfWork(false).clear();
  return book;
};
const recordingFile = join(dir, 'warnings.jsonl');
const recording = <T>(body: () => Promise<T>) => async (): Promise<T> => {
  process.env.ORM_MIGRATE_WARNINGS_FILE = recordingFile;
  try {
    return await body();
  } finally {
    delete process.env.ORM_MIGRATE_WARNINGS_FILE;
  }
};

// Rounds alternate between the variants, so a change of machine load hits them all alike.
const variants: Record<string, () => Promise<number>> = {
  contextPlain: () => perCall(OPS, inContext(plain)),
  contextShim: () => perCall(OPS, inContext(shimmed)),
  globalUnchecked: () => perCall(OPS, onGlobal(unchecked)),
  globalShim: () => perCall(OPS, onGlobal(shimmed)),
  globalShimRecording: recording(() => perCall(OPS, onGlobal(shimmed))),
};
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
for (let round = 0; round < ROUNDS + 1; round++) {
  for (const [name, run] of Object.entries(variants)) {
    const us = await run();
    if (round > 0) samples[name]!.push(us); // round 0 warms up (and prints (ii)'s one warning)
  }
}
const us = (name: string) => median(samples[name]!);

console.log(`medians of ${ROUNDS} alternating rounds of ${OPS} awaited em.findOne calls each, MikroORM 6 on better-sqlite3, node ${process.version}\n`);
const rows: Array<[string, number, string, number, number?]> = [
  ['(i)   findOne in a RequestContext, shim', us('contextShim'), 'no shim', us('contextPlain'), 1.05],
  ['(ii)  findOne on the global EM, shim, warned', us('globalShim'), 'allowGlobalContext: true', us('globalUnchecked')],
  ['(iii) same, recording every use', us('globalShimRecording'), 'allowGlobalContext: true', us('globalUnchecked')],
];
for (const [name, value, baseline, base, target] of rows) {
  const ratio = value / base;
  const verdict = target === undefined ? '' : ratio <= target ? `  ≤ ${target}× ✓` : `  > ${target}× ✗ (target missed)`;
  const extra = `   +${(value - base).toFixed(2)} µs/call`;
  console.log(`${name.padEnd(46)} ${value.toFixed(2).padStart(8)} µs   vs ${baseline} ${base.toFixed(2)} µs   ratio ${ratio.toFixed(2)}×${extra}${verdict}`);
}

await Promise.all([plain.close(true), shimmed.close(true), unchecked.close(true)]);
rmSync(dir, { recursive: true, force: true });
