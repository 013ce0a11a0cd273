// Loads TypeScript through require(): importing its 9 MB CommonJS file from ESM makes Node lex it
// for named exports first, which costs about half a second on every run of the CLI. The code
// cache module compiles it first (from its cache when it can), so this require finds it loaded.
import './typescript-code-cache.cjs';
import ts = require('typescript');
export = ts;
