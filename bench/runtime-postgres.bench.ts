/**
 * npm run bench:runtime (second part) — the runtime on PostgreSQL against raw `pg`, measured in one run.
 *   (i)   aexists() inside newConnection   vs raw client.query of the same SQL and parameters   (target ≤ 1.15×)
 *   (ii)  fallback aexists() (no block)    vs the raw query (ratio reported)
 *   (iii) sync exists() (blocking worker)  vs the raw query (ratio reported)
 * Rounds alternate between the contenders so that drift of a shared machine hits them alike.
 */
import pg from 'pg';
import { closeAllConnections, configure, defineModel, fields, migrate, newConnection, onQuery } from 'orm-migrate/runtime';

const URL_ = process.env.ORM_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const OPS = Number(process.env.BENCH_PG_OPS ?? 2_000);
const SCHEMA = `orm_bench_${process.pid}`;

const admin = new pg.Client({ connectionString: URL_, connectionTimeoutMillis: 3000 });
try {
  await admin.connect();
} catch (error) {
  console.log(`skipped: no PostgreSQL at ${URL_} (${(error as Error).message})`);
  process.exit(0);
}
await admin.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE; CREATE SCHEMA "${SCHEMA}"`);

try {
  configure({ databases: { default: { engine: 'postgres', url: URL_, schema: SCHEMA, pool: { max: 4 } } } });
  const Question = defineModel('Question', {
    table: 'polls_question',
    fields: { id: fields.autoId(), questionText: fields.string({ maxLength: 200 }), pubDate: fields.datetime() },
  });
  migrate();
  Question.objects.bulkCreate(Array.from({ length: 1000 }, (_, i) => ({ questionText: `question ${i}`, pubDate: new Date() })));
  await admin.query(`ANALYZE "${SCHEMA}"."polls_question"`);

  // The exact SQL and parameters the ORM sends for filter({ pk: 500 }).aexists().
  let captured: { sql: string; params: readonly unknown[] } | undefined;
  const stop = onQuery((event) => (captured ??= event));
  await newConnection(() => Question.objects.filter({ pk: 500 }).aexists());
  stop();
  const { sql, params } = captured!;
  process.env.ORM_MIGRATE_WARNINGS = 'ignore';

  const raw = new pg.Client({ connectionString: URL_, options: `-c search_path=${SCHEMA}` });
  await raw.connect();
  const rawExists = async () => (await raw.query(sql, params as unknown[])).rows.length > 0;

  /** µs per call of `ops` sequential awaited calls. */
  async function time(body: () => Promise<unknown>): Promise<number> {
    const started = process.hrtime.bigint();
    for (let i = 0; i < OPS; i++) await body();
    return Number(process.hrtime.bigint() - started) / 1000 / OPS;
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

  const contenders: Record<string, () => Promise<number>> = {
    raw: () => time(rawExists),
    block: () => newConnection(() => time(() => Question.objects.filter({ pk: 500 }).aexists())),
    fallback: () => time(() => Question.objects.filter({ pk: 500 }).aexists()),
    sync: () => time(async () => Question.objects.filter({ pk: 500 }).exists()),
  };
  const samples: Record<string, number[]> = { raw: [], block: [], fallback: [], sync: [] };
  for (let round = 0; round <= ROUNDS; round++) {
    for (const [name, run] of Object.entries(contenders)) {
      const us = await run();
      if (round > 0) samples[name]!.push(us); // round 0 warms up
    }
  }
  const rawUs = median(samples.raw!);
  const rows: Array<{ name: string; us: number; target?: number }> = [
    { name: '(i)   aexists() in newConnection', us: median(samples.block!), target: 1.15 },
    { name: '(ii)  fallback aexists(), no block', us: median(samples.fallback!) },
    { name: '(iii) sync exists() (blocking worker)', us: median(samples.sync!) },
  ];

  console.log(`\nPostgreSQL ${(await admin.query('SHOW server_version')).rows[0].server_version} at ${URL_}`);
  console.log(`SQL: ${sql}  params: ${JSON.stringify(params)}`);
  console.log(`medians of ${ROUNDS} alternating rounds of ${OPS} calls, node ${process.version}\n`);
  for (const r of rows) {
    const ratio = r.us / rawUs;
    const verdict = r.target === undefined ? '' : ratio <= r.target ? `  ≤ ${r.target}× ✓` : `  > ${r.target}× ✗ (target missed)`;
    console.log(`${r.name.padEnd(38)} ${r.us.toFixed(1).padStart(8)} µs   vs raw client.query ${rawUs.toFixed(1)} µs   ratio ${ratio.toFixed(2)}×${verdict}`);
  }
  await raw.end();
} finally {
  await closeAllConnections();
  await admin.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
  await admin.end();
}
