// Compiling TypeScript's 9 MB typescript.js costs ~110 ms on every run of the CLI, so this module
// keeps the compiled code in a V8 code cache, as Node 22's module.enableCompileCache() does (and
// TypeScript's own tsc enables that one). Node 20 has no such switch, so typescript.js is compiled
// here with vm.Script and cachedData and put into require's cache, where the require('typescript')
// in typescript.cts finds it. The cache lives in a directory of the temp dir that only this user
// can write, keyed by Node's and the file's identity, and V8 rejects data that does not match the
// source. Any problem (no cache dir, rejected data, NODE_DISABLE_COMPILE_CACHE set, Node's own
// compile cache on) leaves the plain require() to do its usual work.
import crypto = require('node:crypto');
import fs = require('node:fs');
import Module = require('node:module');
import os = require('node:os');
import path = require('node:path');
import vm = require('node:vm');

/** A per-user cache directory that nobody else can write, or undefined. */
function cacheDirectory(): string | undefined {
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  const directory = path.join(os.tmpdir(), `orm-migrate-compile-cache${uid === undefined ? '' : `-${uid}`}`);
  fs.mkdirSync(directory, { recursive: true, mode: 0o700 });
  const stat = fs.lstatSync(directory);
  if (!stat.isDirectory()) return undefined;
  if (uid !== undefined && (stat.uid !== uid || (stat.mode & 0o022) !== 0)) return undefined;
  return directory;
}

function loadWithCodeCache(filename: string): void {
  const directory = cacheDirectory();
  if (!directory) return;
  const source = fs.readFileSync(filename, 'utf8');
  const stat = fs.statSync(filename);
  const key = crypto
    .createHash('sha256')
    .update([process.version, process.arch, process.versions.v8, filename, stat.size, stat.mtimeMs].join('\0'))
    .digest('hex')
    .slice(0, 32);
  const cacheFile = path.join(directory, `typescript-${key}.bin`);
  let cachedData: Buffer | undefined;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }

  const script = new vm.Script(Module.wrap(source), {
    filename,
    cachedData,
    // A dynamic import() inside it (TypeScript's own code has none today) resolves as in any module.
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });

  const loaded = new Module(filename, module);
  loaded.filename = filename;
  loaded.paths = (Module as unknown as { _nodeModulePaths(from: string): string[] })._nodeModulePaths(path.dirname(filename));
  const wrapper = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: Module, filename: string, dirname: string) => void;
  wrapper.call(loaded.exports, loaded.exports, Module.createRequire(filename), loaded, filename, path.dirname(filename));
  loaded.loaded = true;
  // Later require('typescript') calls in this process get this same instance.
  require.cache[filename] = loaded;

  if (cachedData === undefined || script.cachedDataRejected === true) {
    // Written at exit, so the cache also holds the functions this run compiled lazily.
    process.once('exit', () => {
      try {
        const temporary = `${cacheFile}.${process.pid}.tmp`;
        fs.writeFileSync(temporary, script.createCachedData(), { mode: 0o600 });
        fs.renameSync(temporary, cacheFile);
      } catch {
        // A cache that cannot be written only costs the next run its compile time.
      }
    });
  }
}

/** Puts TypeScript, compiled with the code cache, into require's cache (once per process). */
function preloadTypeScript(): void {
  const filename = require.resolve('typescript');
  const compileCacheOn = (Module as { getCompileCacheDir?: () => string | undefined }).getCompileCacheDir?.() !== undefined;
  if (compileCacheOn || process.env.NODE_DISABLE_COMPILE_CACHE || require.cache[filename] !== undefined) return;
  try {
    loadWithCodeCache(filename);
  } catch {
    // require('typescript') compiles it the usual way
    delete require.cache[filename];
  }
}

preloadTypeScript();
