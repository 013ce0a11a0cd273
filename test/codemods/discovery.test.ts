/** Which files a scan looks at, the glob and .gitignore matchers, and the text prefilter. */
import assert from 'node:assert/strict';
import { relative } from 'node:path';
import { IgnoreFile } from '../../src/codemods/engine/gitignore.js';
import { globBase, globMatcher } from '../../src/codemods/engine/glob.js';
import { buildPrefilter } from '../../src/codemods/engine/prefilter.js';
import { DiscoveryError, discoverFiles, scan } from '../../src/codemods/index.js';
import { MODELS_SOURCE, createTempProject, createTypedProject } from '../support/temp-project.js';

describe('globs', () => {
  const table: [string, string, boolean][] = [
    ['src/**/*.ts', 'src/a.ts', true],
    ['src/**/*.ts', 'src/deep/er/a.ts', true],
    ['src/**/*.ts', 'lib/a.ts', false],
    ['**/*.test.ts', 'a.test.ts', true],
    ['**/*.test.ts', 'x/y/a.test.ts', true],
    ['*.ts', 'x/a.ts', false],
    ['legacy/**', 'legacy/a/b.js', true],
    ['src/{a,b}.ts', 'src/b.ts', true],
    ['src/[!a]*.ts', 'src/a.ts', false],
    ['src/[!a]*.ts', 'src/b.ts', true],
    ['file?.js', 'file1.js', true],
    ['./src/*.ts', 'src/x.ts', true],
  ];
  for (const [pattern, path, expected] of table) {
    it(`${pattern} ${expected ? 'matches' : 'does not match'} ${path}`, () => assert.equal(globMatcher(pattern)(path), expected));
  }
  it('globBase is the leading directory without magic', () => {
    assert.equal(globBase('src/**/*.ts'), 'src');
    assert.equal(globBase('*.ts'), '.');
    assert.equal(globBase('a/b/c?.ts'), 'a/b');
  });
});

describe('.gitignore semantics', () => {
  const ignore = IgnoreFile.parse('/repo', ['# comment', 'build/', '*.log', '/only-top.ts', 'generated/**', '!generated/keep.ts', 'docs/*.md'].join('\n'));
  const table: [string, boolean, boolean | undefined][] = [
    ['build', true, true],
    ['build', false, undefined],
    ['x/build/a.ts', false, true],
    ['a.log', false, true],
    ['deep/a.log', false, true],
    ['only-top.ts', false, true],
    ['sub/only-top.ts', false, undefined],
    ['generated/a.ts', false, true],
    ['generated/keep.ts', false, false],
    ['docs/a.md', false, true],
    ['src/a.ts', false, undefined],
  ];
  for (const [path, isDirectory, expected] of table) {
    it(`${path}${isDirectory ? '/' : ''} → ${String(expected)}`, () => assert.equal(ignore.test(path, isDirectory), expected));
  }
});

describe('file discovery', () => {
  const project = createTempProject({
    '.gitignore': 'ignored/\n*.generated.ts\n',
    'src/a.ts': '',
    'src/b.tsx': '',
    'src/c.mts': '',
    'src/d.cts': '',
    'src/e.js': '',
    'src/f.jsx': '',
    'src/g.mjs': '',
    'src/h.cjs': '',
    'src/types.d.ts': '',
    'src/readme.md': '',
    'src/x.generated.ts': '',
    'src/nested/.gitignore': 'secret.ts\n',
    'src/nested/secret.ts': '',
    'src/nested/open.ts': '',
    'ignored/a.ts': '',
    'node_modules/pkg/index.js': '',
    'dist/out.js': '',
    'legacy/old.ts': '',
  });
  after(() => project.remove());
  const found = (patterns: string[], include: string[] = [], exclude: string[] = []): string[] =>
    discoverFiles({ cwd: project.dir, patterns, include, exclude, configBaseDir: project.dir }).files.map((file) => relative(project.dir, file).split('\\').join('/'));

  it('walks directories: every JS/TS extension; no .d.ts, node_modules, dist or .gitignored files', () => {
    assert.deepEqual(found(['.']), [
      'legacy/old.ts',
      'src/a.ts',
      'src/b.tsx',
      'src/c.mts',
      'src/d.cts',
      'src/e.js',
      'src/f.jsx',
      'src/g.mjs',
      'src/h.cjs',
      'src/nested/open.ts',
    ]);
  });

  it('globs, explicit files (even ignored ones) and the config include/exclude', () => {
    assert.deepEqual(found(['src/*.ts']), ['src/a.ts']);
    assert.deepEqual(found(['src/**/*.{js,cjs}']), ['src/e.js', 'src/h.cjs']);
    assert.deepEqual(found(['ignored/a.ts']), ['ignored/a.ts']);
    assert.deepEqual(found(['.'], ['src/**'], ['**/*.js', 'src/nested/**']), ['src/a.ts', 'src/b.tsx', 'src/c.mts', 'src/d.cts', 'src/f.jsx', 'src/g.mjs', 'src/h.cjs']);
  });

  it('a path that names nothing is bad usage; a glob that matches nothing is an input problem (the CLI decides its exit code)', () => {
    assert.throws(() => found(['nope']), (error: Error) => error instanceof DiscoveryError && /no such file or directory: nope/.test(error.message));
    const result = discoverFiles({ cwd: project.dir, patterns: ['src/**/*.vue'], include: [], exclude: [], configBaseDir: project.dir });
    assert.deepEqual(result.files, []);
    assert.deepEqual(result.problems, [{ kind: 'unmatched-pattern', path: 'src/**/*.vue', message: 'no files match the pattern src/**/*.vue' }]);
  });
});

describe('text prefilter', () => {
  const prefilter = buildPrefilter({ words: ['aget', 'get', 'newConnection', 'ORM_ALLOW_ASYNC_UNSAFE'], modules: ['orm-migrate/runtime'] });

  it('passes text that names an ORM method, module, the connection function or the variable; not substrings', () => {
    assert.equal(prefilter('await x.aget(1)'), true);
    assert.equal(prefilter("import x from 'orm-migrate/runtime/extra'"), true);
    assert.equal(prefilter('process.env.ORM_ALLOW_ASYNC_UNSAFE'), true);
    assert.equal(prefilter('const target = budget; agetter(); $aget;'), false);
    assert.equal(prefilter('export const one = 1;'), false);
  });

  it('a file with no ORM name is never parsed: its syntax error goes unreported and it counts as skipped', async () => {
    const project = createTempProject({
      'skip.ts': 'export const broken = (1 + ;\n',
      'models.ts': MODELS_SOURCE,
      'scan.ts': "import { Question } from './models.js';\nexport const q = Question.objects.get({ pk: 1 });\n",
    });
    try {
      const result = await scan({ cwd: project.dir, types: false });
      assert.deepEqual(result.findings, []);
      assert.deepEqual(result.stats, { ...result.stats, discovered: 3, parsed: 2, skippedByPrefilter: 1 });
    } finally {
      project.remove();
    }
  });

  it('a file naming ORM methods whose imports never lead to the ORM is never parsed, in both modes', async () => {
    const project = createTypedProject({
      'cache.ts': "import { helper } from './helper.js';\nexport const broken = helper().get('a') + ;\n",
      'helper.ts': 'export function helper() {\n  return new Map<string, number>();\n}\n',
      'barrel.ts': "export * from './models.js';\n",
      'uses-barrel.ts': "import { Question } from './barrel.js';\nexport async function f() {\n  return Question.objects.aget({ pk: 1 });\n}\n",
    });
    try {
      for (const types of [true, false]) {
        const result = await scan({ cwd: project.dir, types });
        assert.deepEqual(
          result.findings.map((finding) => `${finding.file.slice(project.dir.length + 1)} ${finding.ruleId}`),
          ['uses-barrel.ts async-outside-connection'],
          `types: ${types}`,
        );
        assert.deepEqual(result.stats, { ...result.stats, parsed: 2, skippedByPrefilter: 3 }, `types: ${types}`);
      }
    } finally {
      project.remove();
    }
  });
});
