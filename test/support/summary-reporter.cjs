'use strict';
// mocha's spec reporter plus the closing line CI reads: "N passed, N failed".
const Mocha = require('mocha');
const { Spec } = Mocha.reporters;
const { EVENT_RUN_END } = Mocha.Runner.constants;

class SummaryReporter extends Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats;
      const pending = s.pending ? `, ${s.pending} skipped` : '';
      // printed after the spec epilogue
      process.nextTick(() => console.log(`${s.passes} passed, ${s.failures} failed${pending}`));
    });
  }
}
module.exports = SummaryReporter;
