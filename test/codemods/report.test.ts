/** Every output format, the summary and the baseline logic, on real scan results. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { escapeData, escapeProperty } from '../../src/codemods/report/github.js';
import {
  BaselineError,
  FORMATTERS,
  buildReport,
  compareWithBaseline,
  readBaseline,
  scan,
  serializeBaseline,
  updatedStaticCounts,
  writeBaseline,
} from '../../src/codemods/index.js';
import type { StaticCounts } from '../../src/codemods/index.js';
import type { FormatContext, ScanResult } from '../../src/codemods/index.js';
import { sarifErrors } from '../support/sarif-schema.js';
import { createTempProject } from '../support/temp-project.js';

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));
const ANSI = /\x1b\[[0-9;]*m/;

describe('report formats', () => {
  let result: ScanResult;
  let clean: ScanResult;
  const context: FormatContext = { cwd: repositoryRoot, color: false, toolVersion: '9.9.9' };
  before(async () => {
    result = await scan({ cwd: repositoryRoot, paths: ['fixtures/polls'], types: false });
    clean = await scan({ cwd: repositoryRoot, paths: ['fixtures/rules/async-outside-connection/decoys.ts'], types: false });
  });

  it('stylish: grouped by file like ESLint, totals, counts per rule, no colour unless asked', () => {
    const text = FORMATTERS.stylish(buildReport(result), context);
    assert.doesNotMatch(text, ANSI);
    assert.match(text, /^fixtures\/polls\/handlers\/questions\.ts\n {2}8:69 +warning +`for await` over an ORM QuerySet/m);
    assert.match(text, /✖ 19 problems \(2 errors, 17 warnings\) in 5 files/);
    assert.match(text, /By rule:\n {4}allow-async-unsafe {8}1 warning\n {4}async-outside-connection {2}14 warnings\n {4}floating-async-call {7}1 error/);
    assert.match(text, /Gate failed: 2 errors\./);
    assert.match(FORMATTERS.stylish(buildReport(result), { ...context, color: true }), ANSI);
    assert.match(FORMATTERS.stylish(buildReport(clean), context), /✔ No problems found in 1 file \(1 parsed\)\./);
  });

  it('json: every finding with paths relative to the working directory, roots, summary and gate', () => {
    const document = JSON.parse(FORMATTERS.json(buildReport(result, { maxWarnings: 100 }), context)) as {
      version: number;
      tool: { version: string };
      mode: string;
      summary: { errors: number; warnings: number; byRule: Record<string, { errors: number; warnings: number }> };
      gate: { passed: boolean; failures: string[]; maxWarnings: number };
      findings: { file: string; line: number; ruleId: string; severity: string; suppressed: boolean; roots?: { file: string; name: string }[] }[];
    };
    assert.equal(document.version, 1);
    assert.equal(document.tool.version, '9.9.9');
    assert.equal(document.mode, 'syntactic');
    assert.equal(document.findings.length, 19);
    assert.deepEqual(document.summary.byRule['sync-in-async-context'], { errors: 1, warnings: 0 });
    assert.deepEqual(document.gate, { ...document.gate, passed: false, maxWarnings: 100, failures: ['2 errors'] });
    const helper = document.findings.find((finding) => finding.file === 'fixtures/polls/services/votes.ts' && finding.line === 5);
    assert.deepEqual(helper?.roots?.map((root) => [root.file, root.name]), [['fixtures/polls/handlers/votes.ts', 'vote']]);
  });

  it('sarif: valid against the SARIF 2.1.0 schema, rules with help text, levels, suppressions', () => {
    const report = buildReport(result);
    const log = JSON.parse(FORMATTERS.sarif(report, context)) as {
      version: string;
      runs: { tool: { driver: { rules: { id: string; help: { text: string } }[] } }; results: { ruleId: string; level: string; locations: unknown[] }[] }[];
    };
    assert.deepEqual(sarifErrors(log), []);
    const run = log.runs[0];
    assert.ok(run);
    assert.deepEqual(run.tool.driver.rules.map((rule) => rule.id), [
      'async-outside-connection',
      'sync-in-async-context',
      'sync-to-async-wrapper',
      'allow-async-unsafe',
      'floating-async-call',
      'parse-error',
    ]);
    for (const rule of run.tool.driver.rules) assert.ok(rule.help.text.length > 40);
    assert.equal(run.results.length, 19);
    assert.deepEqual([...new Set(run.results.map((entry) => entry.level))].sort(), ['error', 'warning']);

    const everything = compareWithBaseline(result.findings, new Map([['fixtures/polls/legacy.ts', new Map([['sync-to-async-wrapper', 2]])]]), join(repositoryRoot, 'b.json'), result.files, repositoryRoot);
    const suppressed = JSON.parse(FORMATTERS.sarif(buildReport(result, { baseline: everything }), context)) as { runs: { results: { suppressions?: unknown[] }[] }[] };
    assert.deepEqual(sarifErrors(suppressed), []);
    assert.equal(suppressed.runs[0]?.results.filter((entry) => entry.suppressions).length, 2);
    assert.deepEqual(sarifErrors(JSON.parse(FORMATTERS.sarif(buildReport(clean), context))), []);
  });

  it('the schema check can fail: a broken log is reported', () => {
    const log = JSON.parse(FORMATTERS.sarif(buildReport(result), context)) as { runs: { results: { level: string }[] }[] };
    const first = log.runs[0]?.results[0];
    assert.ok(first);
    first.level = 'fatal';
    assert.notDeepEqual(sarifErrors(log), []);
  });

  it('github: one workflow annotation per finding, escaped, then the summary', () => {
    const lines = FORMATTERS.github(buildReport(result), context).trimEnd().split('\n');
    assert.equal(lines.filter((line) => line.startsWith('::')).length, 19);
    assert.ok(
      lines.includes(
        '::error file=fixtures/polls/scripts/report.ts,line=12,col=36,endLine=12,endColumn=43,title=orm-migrate(sync-in-async-context)::`Choice.objects.count()` is a sync ORM call inside a newConnection() block: it throws SynchronousOnlyOperation; use `await Choice.objects.acount()`',
      ),
    );
    assert.ok(lines.some((line) => line.startsWith('::warning file=fixtures/polls/legacy.ts,line=6,col=10,')));
    assert.ok(lines.includes('orm-migrate: 19 problems (2 errors, 17 warnings)'));
    assert.equal(escapeData('50% done\nnext'), '50%25 done%0Anext');
    assert.equal(escapeProperty('a:b,c'), 'a%3Ab%2Cc');
  });
});

describe('gate', () => {
  let result: ScanResult;
  before(async () => {
    result = await scan({ cwd: repositoryRoot, paths: ['fixtures/polls/legacy.ts', 'fixtures/polls/services'], types: false });
  });

  it('warnings pass without --max-warnings and fail over it; errors always fail', () => {
    assert.equal(buildReport(result).gate.passed, true);
    assert.equal(buildReport(result, { maxWarnings: 5 }).gate.passed, true);
    const over = buildReport(result, { maxWarnings: 4 }).gate;
    assert.equal(over.passed, false);
    assert.deepEqual(over.failures, ['5 warnings, more than --max-warnings 4']);
  });
});

describe('baseline (the static half)', () => {
  let result: ScanResult;
  const project = createTempProject();
  const baselinePath = project.path('ci/baseline.json');
  const read = (): StaticCounts => readBaseline(baselinePath, repositoryRoot).baseline.static ?? new Map();
  before(async () => {
    result = await scan({ cwd: repositoryRoot, paths: ['fixtures/polls'], types: false });
  });
  after(() => project.remove());

  it('is written sorted, with forward-slash paths relative to the working directory, and read back', () => {
    writeBaseline(baselinePath, { runtime: null, static: updatedStaticCounts(null, result.findings, repositoryRoot, result.files) });
    const text = project.read('ci/baseline.json');
    const counts = read();
    const keys = [...counts.keys()];
    assert.deepEqual(keys, [...keys].sort());
    assert.ok(keys.every((key) => key.startsWith('fixtures/polls/') && !key.includes('\\')), keys.join());
    assert.deepEqual(Object.fromEntries(counts.get('fixtures/polls/handlers/questions.ts') ?? []), { 'async-outside-connection': 8, 'floating-async-call': 1 });
    assert.equal(serializeBaseline({ runtime: null, static: counts }), text);
    assert.ok(text.endsWith('}\n'));
  });

  it('within the counts: everything suppressed, nothing increased, nothing dropped', () => {
    const comparison = compareWithBaseline(result.findings, read(), baselinePath, result.files, repositoryRoot);
    assert.equal(comparison.suppressed.size, 19);
    assert.deepEqual([comparison.increased, comparison.decreased, comparison.stale, comparison.dropped], [[], [], [], 0]);
    assert.equal(buildReport(result, { baseline: comparison }).gate.passed, true);
  });

  it('new and increased counts fail; decreased counts are tallied; stale entries are listed', () => {
    const counts = read();
    counts.delete('fixtures/polls/legacy.ts');
    counts.get('fixtures/polls/handlers/questions.ts')?.set('async-outside-connection', 6);
    counts.get('fixtures/polls/services/votes.ts')?.set('async-outside-connection', 5);
    counts.set('fixtures/polls/models.ts', new Map([['floating-async-call', 1]]));
    counts.set('gone/deleted.ts', new Map([['allow-async-unsafe', 2]]));
    const comparison = compareWithBaseline(result.findings, counts, baselinePath, result.files, repositoryRoot);
    assert.deepEqual(
      comparison.increased.map((entry) => [entry.file, entry.rule, entry.recorded, entry.current]),
      [
        ['fixtures/polls/handlers/questions.ts', 'async-outside-connection', 6, 8],
        ['fixtures/polls/legacy.ts', 'sync-to-async-wrapper', 0, 2],
      ],
    );
    assert.deepEqual(comparison.decreased.map((entry) => [entry.rule, entry.recorded, entry.current]), [['async-outside-connection', 5, 3]]);
    assert.deepEqual(
      comparison.stale.map((entry) => [entry.file, entry.rule, entry.fileExists]),
      [
        ['fixtures/polls/models.ts', 'floating-async-call', true],
        ['gone/deleted.ts', 'allow-async-unsafe', false],
      ],
    );
    assert.equal(comparison.dropped, 2 + 2 + 1);
    const gate = buildReport(result, { baseline: comparison }).gate;
    assert.equal(gate.passed, false);
    // The two errors are recorded in the baseline, so only the increase fails the gate.
    assert.deepEqual(gate.failures, ['4 findings over the baseline in 2 file/rule entries']);
  });

  it('a file outside this scan keeps its entry when it still exists, loses it when it is gone', () => {
    project.write('elsewhere.ts', '');
    const previous: StaticCounts = new Map([
      ['elsewhere.ts', new Map([['allow-async-unsafe', 1]])],
      ['missing.ts', new Map([['allow-async-unsafe', 1]])],
    ]);
    const next = updatedStaticCounts(previous, [], project.dir, []);
    assert.deepEqual([...next.keys()], ['elsewhere.ts']);
  });

  it('a malformed baseline names the file and the entry', () => {
    project.write('bad.json', JSON.stringify({ version: 2, static: { 'src/a.ts': { 'async-outside-connection': { count: -1 } } } }, null, 2));
    assert.throws(() => readBaseline(project.path('bad.json')), (error: Error) => {
      assert.ok(error instanceof BaselineError);
      assert.equal(error.message, `${project.path('bad.json')}:4: src/a.ts → async-outside-connection must be { "count": N } with N an integer >= 0`);
      return true;
    });
    project.write('worse.json', '[');
    assert.throws(() => readBaseline(project.path('worse.json')), /worse\.json:1: the baseline is not valid JSON/);
  });
});
