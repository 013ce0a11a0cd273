export * from './runtime-shim/index.js';
