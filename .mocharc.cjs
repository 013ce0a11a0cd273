'use strict';
module.exports = {
  // Warnings still reach process.on('warning') listeners; only their printing is silenced.
  'node-option': ['import=tsx', 'disable-warning=PendingDeprecationWarning'],
  spec: ['test/**/*.test.ts'],
  reporter: 'test/support/reporter.cjs',
  timeout: 60000,
  exit: false,
};
