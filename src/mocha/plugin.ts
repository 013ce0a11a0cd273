/**
 * orm-migrate/mocha (`mocha --require orm-migrate/mocha`):
 * - a global setup that starts a fresh ORM_MIGRATE_WARNINGS_FILE for each test run and writes its
 *   run header (mocha runs global setup once, in the main process, before any --parallel worker
 *   starts; the workers inherit the run id), so a run counts once and a run with no deprecated
 *   call is told apart from a missing record; a global teardown writes the run's end, so a run cut
 *   short (or whose recording failed) is told apart from a finished one;
 * - root hooks that tell the runtime which test is running, so each record names its test.
 */
import { CURRENT_TEST, finishRecordingRun, startRecordingRun } from '../runtime-shim/recording.js';

type Holder = { [CURRENT_TEST]?: string };

/** The part of mocha's hook context this plugin reads. */
interface HookContext {
  currentTest?: { fullTitle(): string };
}

/** For other test runners: call these once per run, before the first and after the last test (e.g. jest's globalSetup/globalTeardown). */
export { finishRecordingRun, startRecordingRun };

export function mochaGlobalSetup(): void {
  startRecordingRun();
}

export function mochaGlobalTeardown(): void {
  finishRecordingRun();
}

export const mochaHooks = {
  beforeEach(this: HookContext): void {
    (globalThis as Holder)[CURRENT_TEST] = this.currentTest?.fullTitle();
  },
  afterEach(): void {
    (globalThis as Holder)[CURRENT_TEST] = undefined;
  },
};
