'use strict';
module.exports = {
  'node-option': ['import=tsx'],
  spec: ['test/**/*.test.ts'],
  reporter: 'test/support/reporter.cjs',
  timeout: 20000,
  exit: false,
};
