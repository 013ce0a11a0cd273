'use strict';
// Mocha's spec reporter plus the closing line CI reads: "N passed, N failed".
const Mocha = require('mocha');

const { EVENT_RUN_END } = Mocha.Runner.constants;

class SpecWithTotals extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const { passes = 0, failures = 0, pending = 0 } = runner.stats ?? {};
      const skipped = pending > 0 ? `, ${pending} skipped` : '';
      // After the spec epilogue, which is printed on the same event.
      process.nextTick(() => process.stdout.write(`${passes} passed, ${failures} failed${skipped}\n`));
    });
  }
}

module.exports = SpecWithTotals;
