/** The polls models and a fresh SQLite file per test, for the runtime tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeAllConnections, configure, defineModel, fields, migrate, resetWarningsSeen } from 'orm-migrate/runtime';

export const Question = defineModel('Question', {
  table: 'polls_question',
  fields: {
    id: fields.autoId(),
    questionText: fields.string({ maxLength: 200 }),
    pubDate: fields.datetime(),
  },
  getLatestBy: 'pubDate',
});

export const Choice = defineModel('Choice', {
  table: 'polls_choice',
  fields: {
    id: fields.autoId(),
    question: fields.foreignKey(() => Question, { onDelete: 'cascade' }),
    choiceText: fields.string({ maxLength: 200 }),
    votes: fields.integer({ default: 0 }),
  },
});

/** Every field type, nullable and defaulted, for the type-mapping and parity tests. */
export const Sample = defineModel('Sample', {
  table: 'sample',
  fields: {
    id: fields.autoId(),
    label: fields.string({ maxLength: 50 }),
    body: fields.text({ nullable: true }),
    count: fields.integer({ default: 0 }),
    ratio: fields.float({ nullable: true }),
    active: fields.boolean({ default: true }),
    seenAt: fields.datetime({ nullable: true }),
    payload: fields.json<{ tags: string[] } | null>({ nullable: true }),
    question: fields.foreignKey(() => Question, { nullable: true, onDelete: 'setNull' }),
  },
});

export interface TempDatabase {
  dir: string;
  file: string;
}

/** Registers mocha hooks: each test gets its own database file, migrated, and every connection closed after. */
export function useTempDatabase(): TempDatabase {
  const db: TempDatabase = { dir: '', file: '' };
  beforeEach(() => {
    db.dir = mkdtempSync(join(tmpdir(), 'orm-migrate-test-'));
    db.file = join(db.dir, 'polls.sqlite3');
    configure({ databases: { default: { engine: 'sqlite', name: db.file } } });
    migrate();
    resetWarningsSeen();
  });
  afterEach(async () => {
    await closeAllConnections();
    rmSync(db.dir, { recursive: true, force: true });
  });
  return db;
}

/** Collects the process 'warning' events emitted while `fn` runs (they arrive on nextTick). */
export async function collectWarnings<T>(fn: () => Promise<T>): Promise<{ result: T; warnings: Error[] }> {
  const warnings: Error[] = [];
  const listener = (warning: Error) => warnings.push(warning);
  process.on('warning', listener);
  try {
    const result = await fn();
    await new Promise((resolve) => setImmediate(resolve));
    return { result, warnings };
  } finally {
    process.off('warning', listener);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
