/**
 * The bank of the invariant tests: accounts whose balances must always total the same, and a
 * ledger row per committed transfer. Used by test/runtime/invariants.test.ts and by the child
 * processes it starts (bank-writer.ts), so both run exactly the same transfer.
 */
import { IntegrityError, aatomic, defineModel, fields, newConnection } from 'orm-migrate/runtime';

export const Account = defineModel('Account', {
  table: 'bank_account',
  fields: {
    id: fields.autoId(),
    owner: fields.string({ maxLength: 50 }),
    balance: fields.integer(),
    lastTransfer: fields.integer({ nullable: true }),
  },
});

export const Transfer = defineModel('Transfer', {
  table: 'bank_transfer',
  fields: {
    id: fields.autoId(),
    number: fields.integer({ unique: true }),
    source: fields.integer(),
    target: fields.integer(),
    amount: fields.integer(),
  },
});

export const ACCOUNTS = 20;
export const TOTAL = 1000;

export interface TransferPlan {
  readonly number: number;
  readonly source: number;
  readonly target: number;
  readonly amount: number;
  /**
   * After debiting the source: 'throw' throws on purpose; 'caught' runs a statement that fails
   * (a duplicate ledger number), catches the error and returns normally, as careless user code
   * would. Both must leave nothing behind.
   */
  readonly failMidway: 'no' | 'throw' | 'caught';
  /** The timer awaited between reading the balances and moving the money, in ms. */
  readonly pauseMs: number;
}

export class MidwayFailure extends Error {
  override name = 'MidwayFailure';
}
export class InsufficientFunds extends Error {
  override name = 'InsufficientFunds';
}

/** A small seeded PRNG (mulberry32), so a failing run can be repeated. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` transfers numbered from `firstNumber`, between the accounts with ids 1..ACCOUNTS. */
export function planTransfers(count: number, seed: number, firstNumber = 1): TransferPlan[] {
  const next = random(seed);
  const pick = () => 1 + Math.floor(next() * ACCOUNTS);
  return Array.from({ length: count }, (_, i) => {
    const source = pick();
    let target = pick();
    while (target === source) target = pick();
    const roll = next();
    const failMidway = roll < 0.1 ? 'throw' : roll < 0.15 ? 'caught' : 'no';
    return { number: firstNumber + i, source, target, amount: 1 + Math.floor(next() * 20), failMidway, pauseMs: Math.floor(next() * 3) };
  });
}

/** The ledger number taken by the opening entry (transfers that hit it on purpose fail with an IntegrityError). */
export const OPENING_NUMBER = 0;

/** Opens ACCOUNTS accounts holding TOTAL together, and the ledger (sync: call before the transfers). */
export function openAccounts(): void {
  const each = TOTAL / ACCOUNTS;
  Account.objects.bulkCreate(Array.from({ length: ACCOUNTS }, (_, i) => ({ owner: `owner ${i + 1}`, balance: each })));
  Transfer.objects.create({ number: OPENING_NUMBER, source: 1, target: 1, amount: 0 });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * One transfer as user code would write it: its own newConnection() block and transaction. It
 * locks both rows first, in id order (an UPDATE takes row locks on PostgreSQL; on SQLite BEGIN
 * IMMEDIATE already serializes writers), so the balances it reads are the latest committed ones.
 */
export function transfer(plan: TransferPlan, using: string): Promise<'moved' | 'declined'> {
  const accounts = Account.objects.using(using);
  return newConnection(
    () =>
      aatomic(
        async () => {
          for (const id of [Math.min(plan.source, plan.target), Math.max(plan.source, plan.target)]) {
            await accounts.filter({ id }).aupdate({ lastTransfer: plan.number });
          }
          const source = await accounts.aget({ id: plan.source });
          const target = await accounts.aget({ id: plan.target });
          await sleep(plan.pauseMs);
          if (source.balance < plan.amount) throw new InsufficientFunds(`transfer ${plan.number}: account ${plan.source} holds ${source.balance}`);
          await accounts.filter({ id: plan.source }).aupdate({ balance: source.balance - plan.amount });
          if (plan.failMidway === 'throw') throw new MidwayFailure(`transfer ${plan.number} fails on purpose after the debit`);
          if (plan.failMidway === 'caught') {
            try {
              await Transfer.objects.using(using).acreate({ number: OPENING_NUMBER, source: plan.source, target: plan.target, amount: 0 });
            } catch (error) {
              if (!(error instanceof IntegrityError)) throw error;
              return 'declined' as const; // the transaction is broken: aatomic rolls it back
            }
          }
          await accounts.filter({ id: plan.target }).aupdate({ balance: target.balance + plan.amount });
          await Transfer.objects.using(using).acreate({ number: plan.number, source: plan.source, target: plan.target, amount: plan.amount });
          return 'moved' as const;
        },
        { using },
      ),
    { using },
  );
}

/** The balances the ledger says the accounts must hold, from TOTAL / ACCOUNTS each. */
export function balancesFromLedger(ledger: ReadonlyArray<{ source: number; target: number; amount: number }>): Map<number, number> {
  const balances = new Map(Array.from({ length: ACCOUNTS }, (_, i) => [i + 1, TOTAL / ACCOUNTS] as [number, number]));
  for (const row of ledger) {
    balances.set(row.source, balances.get(row.source)! - row.amount);
    balances.set(row.target, balances.get(row.target)! + row.amount);
  }
  return balances;
}
