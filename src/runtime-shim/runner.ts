/** Drives an operation generator: the sync runner and the async runner of every ORM method. */
import type { Statement, StatementResult } from './backends/types.js';
import type { Op } from './orm/ops.js';

export interface SyncExecutor {
  execute(statement: Statement): StatementResult;
  atomic<T>(op: Op<T>): T;
  /** A write failed with `error` inside the executor's transaction, if it has one: mark it for rollback. */
  markRollback?(error: unknown): void;
}

export interface AsyncExecutor {
  /** May answer synchronously (in-thread SQLite) to spare a promise per statement. */
  execute(statement: Statement): StatementResult | Promise<StatementResult>;
  atomic<T>(op: Op<T>): Promise<T>;
  markRollback?(error: unknown): void;
}

export function runOpSync<T>(op: Op<T>, executor: SyncExecutor): T {
  let input: unknown;
  let failure: { error: unknown } | null = null;
  for (;;) {
    const step = failure ? op.throw(failure.error) : op.next(input);
    failure = null;
    if (step.done) return step.value;
    try {
      const instruction = step.value;
      if (instruction.kind === 'mark-rollback') {
        executor.markRollback?.(instruction.error);
        input = undefined;
      } else {
        input = instruction.kind === 'query' ? executor.execute(instruction.statement) : executor.atomic(instruction.op);
      }
    } catch (error) {
      failure = { error };
    }
  }
}

export async function runOpAsync<T>(op: Op<T>, executor: AsyncExecutor): Promise<T> {
  let input: unknown;
  let failure: { error: unknown } | null = null;
  for (;;) {
    const step = failure ? op.throw(failure.error) : op.next(input);
    failure = null;
    if (step.done) return step.value;
    try {
      const instruction = step.value;
      if (instruction.kind === 'query') {
        const result = executor.execute(instruction.statement);
        input = result instanceof Promise ? await result : result;
      } else if (instruction.kind === 'mark-rollback') {
        executor.markRollback?.(instruction.error);
        input = undefined;
      } else {
        input = await executor.atomic(instruction.op);
      }
    } catch (error) {
      failure = { error };
    }
  }
}
