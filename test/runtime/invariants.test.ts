/**
 * Reliability under faults: the bank-transfer invariant. Concurrent transfers, some failing on
 * purpose, server backends killed under them (PostgreSQL), several processes writing one file
 * (SQLite): the money is never created or lost, and every transfer happened fully or not at all.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { closeAllConnections, configure, migrate, openConnectionCount } from 'orm-migrate/runtime';
import { admin, describeEachEngine } from './support/engines.js';
import type { TestEngine } from './support/engines.js';
import { Account, InsufficientFunds, MidwayFailure, OPENING_NUMBER, TOTAL, Transfer, balancesFromLedger, openAccounts, planTransfers, random, transfer } from './support/bank.js';
import type { TransferPlan } from './support/bank.js';
import { sleep } from './support/polls.js';

const TRANSFERS = 500;
const SEED = 20261129;
/** No promise may take longer than this to settle; past it the test fails instead of hanging. */
const SETTLE_BOUND_MS = 60_000;

/** Rejects when `work` has not settled within `ms`. */
async function bounded<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms: a promise hangs`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Server sessions opened under `applicationName` (only our own test's pool uses it). */
async function sessionsOf(applicationName: string): Promise<Array<{ pid: number; state: string | null }>> {
  const { rows } = await admin().query<{ pid: number; state: string | null }>(
    'SELECT pid, state FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1',
    [applicationName],
  );
  return rows;
}

/** Kills random backends of our pool until told to stop (bounded); returns how many it killed. */
async function killRandomBackends(applicationName: string, keepGoing: () => boolean): Promise<number> {
  const next = random(SEED);
  let kills = 0;
  for (let round = 0; keepGoing() && round < 1000; round++) {
    await sleep(30 + Math.floor(next() * 50));
    const sessions = await sessionsOf(applicationName);
    if (sessions.length === 0) continue;
    const { pid } = sessions[Math.floor(next() * sessions.length)]!;
    const { rows } = await admin().query<{ killed: boolean }>('SELECT pg_terminate_backend($1) AS killed', [pid]);
    if (rows[0]?.killed) kills++;
  }
  return kills;
}

/** A transfer's rejection the test expects; anything else is a bug. */
function expectedFailure(error: unknown, engine: TestEngine): 'on purpose' | 'connection lost' | null {
  if (error instanceof MidwayFailure || error instanceof InsufficientFunds) return 'on purpose';
  const { name, message, code } = error as { name?: string; message?: string; code?: string };
  // A killed backend: the block rejects with the loss (its outcome is unknown only if COMMIT was in flight).
  if (engine.name === 'postgres' && name === 'OperationalError' && /was lost/.test(message ?? '') && /^(57P01|08)/.test(code ?? '')) return 'connection lost';
  return null;
}

interface LedgerRow {
  number: number;
  source: number;
  target: number;
  amount: number;
}

/** Checks the bank against the ledger: the total, and each balance replayed from the committed transfers (returned, without the opening entry). */
function assertBooksBalance(): LedgerRow[] {
  const accounts = [...Account.objects.orderBy('id').iterator()];
  assert.equal(accounts.reduce((sum, account) => sum + account.balance, 0), TOTAL, 'the total is exactly what it was');
  const ledger = [...Transfer.objects.values('number', 'source', 'target', 'amount').iterator()] as unknown as LedgerRow[];
  const expected = balancesFromLedger(ledger);
  for (const account of accounts) {
    assert.equal(account.balance, expected.get(account.id), `account ${account.id} holds what the ledger says`);
  }
  return ledger.filter((row) => row.number !== OPENING_NUMBER);
}

describeEachEngine('the bank-transfer invariant', (engine) => {
  const bankApplication = `orm-migrate-invariants-${process.pid}`;

  beforeEach(async () => {
    await engine.create();
    configure({
      databases: {
        default: engine.settings(),
        // Transfers use an alias of their own, so the kill loop can tell its sessions from every other one.
        bank: engine.name === 'postgres' ? engine.settings({ applicationName: bankApplication, pool: { max: 10, idleTimeout: 200, acquireTimeout: 30_000 } }) : engine.settings(),
      },
    });
    migrate();
    openAccounts();
  });
  afterEach(async () => {
    await closeAllConnections();
    if (engine.name === 'sqlite') await engine.destroy();
  });

  const faults = engine.name === 'postgres' ? ', with random backends of the pool killed meanwhile' : '';
  it(`${TRANSFERS} concurrent transfers, some failing midway${faults}: the total holds and the ledger matches every balance`, async function () {
    this.timeout(SETTLE_BOUND_MS + 30_000);
    const plans = planTransfers(TRANSFERS, SEED);
    const baseline = engine.name === 'postgres' ? (await sessionsOf(bankApplication)).length : 0;
    let transfersRunning = true;
    const killer = engine.name === 'postgres' ? killRandomBackends(bankApplication, () => transfersRunning) : Promise.resolve(0);
    let outcomes: PromiseSettledResult<'moved' | 'declined'>[];
    try {
      outcomes = await bounded(Promise.allSettled(plans.map((plan) => transfer(plan, 'bank'))), SETTLE_BOUND_MS, `${TRANSFERS} transfers`);
    } finally {
      transfersRunning = false;
    }
    const kills = await killer;

    const moved = new Set<number>();
    const notMoved = new Set<number>();
    const unknown = new Set<number>();
    const unexpected: string[] = [];
    outcomes.forEach((outcome, i) => {
      const plan: TransferPlan = plans[i]!;
      if (outcome.status === 'fulfilled') return void (outcome.value === 'moved' ? moved : notMoved).add(plan.number);
      const kind = expectedFailure(outcome.reason, engine);
      if (kind === 'on purpose') notMoved.add(plan.number);
      else if (kind === 'connection lost') unknown.add(plan.number);
      else unexpected.push(`transfer ${plan.number}: ${String(outcome.reason)}`);
    });
    assert.deepEqual(unexpected, [], 'no transfer failed for any other reason');
    assert.ok(plans.some((plan) => plan.failMidway === 'throw' && notMoved.has(plan.number)), 'some transfers threw midway on purpose');
    assert.ok(plans.some((plan) => plan.failMidway === 'caught' && notMoved.has(plan.number)), 'some transfers caught a database error midway and returned');

    const ledger = assertBooksBalance();
    const committed = new Set(ledger.map((row) => row.number));
    assert.equal(committed.size, ledger.length, 'one ledger row per transfer');
    for (const number of moved) assert.ok(committed.has(number), `transfer ${number} resolved, so it committed`);
    for (const number of notMoved) assert.ok(!committed.has(number), `transfer ${number} failed, so nothing of it committed`);
    for (const number of committed) assert.ok(moved.has(number) || unknown.has(number), `transfer ${number} committed, so it did not fail`);
    assert.ok(moved.size > TRANSFERS / 4, `a good share of the transfers went through (${moved.size})`);
    assert.equal(openConnectionCount().blocks, 0, 'every block closed its connection');

    if (engine.name === 'postgres') {
      assert.ok(kills > 0, 'the kill loop killed backends while the transfers ran');
      let sessions = await sessionsOf(bankApplication);
      for (let i = 0; i < 200 && sessions.length !== baseline; i++) {
        await sleep(25);
        sessions = await sessionsOf(bankApplication);
      }
      assert.equal(sessions.length, baseline, `the pool's sessions went back to the baseline (left: ${JSON.stringify(sessions)})`);
    }
  });
});

interface WriterReport {
  number: number;
  moved: boolean;
  declined?: boolean;
  error?: { name: string; message: string };
}

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WRITER = fileURLToPath(new URL('./support/bank-writer.ts', import.meta.url));

interface Writer {
  ready: Promise<void>;
  go(): void;
  done: Promise<WriterReport[]>;
}

/** Starts a bank-writer child process (killed after SETTLE_BOUND_MS). */
function startWriter(file: string, firstNumber: number, count: number, seed: number): Writer {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, file, String(firstNumber), String(count), String(seed)], {
    cwd: REPO_ROOT,
    timeout: SETTLE_BOUND_MS,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let announceReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (announceReady = resolve));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (stdout.startsWith('ready\n')) announceReady();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<WriterReport[]>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      announceReady(); // a writer that died before it was ready must not keep the others waiting
      if (code !== 0) return reject(new Error(`writer ${firstNumber} exited with ${signal ?? code}: ${stderr}`));
      resolve(JSON.parse(stdout.slice('ready\n'.length)) as WriterReport[]);
    });
  });
  return { ready, go: () => child.stdin.end('go\n'), done };
}

describeEachEngine('the bank-transfer invariant across processes', (engine) => {
  beforeEach(async () => {
    await engine.create();
    configure({ databases: { default: engine.settings() } });
    migrate();
    openAccounts();
  });
  afterEach(async () => {
    await closeAllConnections();
    await engine.destroy();
  });

  it('several Node processes writing one SQLite file at once: no "database is locked", nothing lost', async function () {
    this.timeout(SETTLE_BOUND_MS + 30_000);
    const PROCESSES = 4;
    const EACH = 60;
    const file = (engine.settings() as { name: string }).name;
    const writers = Array.from({ length: PROCESSES }, (_, k) => startWriter(file, 1 + k * 1000, EACH, SEED + k));
    await bounded(Promise.all(writers.map((writer) => writer.ready)), SETTLE_BOUND_MS, 'the writers starting');
    for (const writer of writers) writer.go(); // all at once
    const reports = (await Promise.all(writers.map((writer) => writer.done))).flat();

    assert.equal(reports.length, PROCESSES * EACH);
    const unexpected = reports.filter((report) => report.error && !['MidwayFailure', 'InsufficientFunds'].includes(report.error.name));
    assert.ok(reports.some((report) => report.declined), 'some transfers caught a database error midway and returned');
    assert.deepEqual(unexpected, [], 'no transfer failed for any other reason (no "database is locked")');
    const ledger = assertBooksBalance();
    assert.deepEqual(
      ledger.map((row) => row.number).sort((a, b) => a - b),
      reports.filter((report) => report.moved).map((report) => report.number).sort((a, b) => a - b),
      'exactly the transfers that resolved are in the ledger',
    );
  });
}, ['sqlite']);
