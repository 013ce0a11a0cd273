// Loads TypeScript through require(): importing its 9 MB CommonJS file from ESM makes Node lex it
// for named exports first, which costs about half a second on every run of the CLI.
import ts = require('typescript');
export = ts;
