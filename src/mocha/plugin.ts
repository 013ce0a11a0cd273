/**
 * orm-migrate/mocha: a root hook plugin (`mocha --require orm-migrate/mocha`) that tells the
 * runtime which test is running, so each recorded warning names the test that caused it.
 * Works in serial and --parallel runs (each worker process loads it).
 */

const CURRENT_TEST = Symbol.for('orm-migrate.current-test');
type Holder = { [CURRENT_TEST]?: string };

/** The part of mocha's hook context this plugin reads. */
interface HookContext {
  currentTest?: { fullTitle(): string };
}

export const mochaHooks = {
  beforeEach(this: HookContext): void {
    (globalThis as Holder)[CURRENT_TEST] = this.currentTest?.fullTitle();
  },
  afterEach(): void {
    (globalThis as Holder)[CURRENT_TEST] = undefined;
  },
};
