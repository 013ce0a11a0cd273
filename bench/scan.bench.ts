/**
 * npm run bench:scan — `orm-migrate scan` against `tsc --noEmit` and ast-grep on the same
 * synthetic corpus, in one run: medians of several interleaved repetitions, ratios, peak RSS.
 *
 * Three corpora (issue 11): the main one, a denser one (two awaited ORM calls per function) and a
 * monorepo of 22 tsconfigs that never imports the ORM. Targets: type-aware ≤ 0.5× tsc --noEmit;
 * --no-types ≤ 1.6× the parse-only floor (TypeScript's parser alone over the same files); on the
 * monorepo, type-aware ≤ 1.5× --no-types; peak RSS ≤ 500 MB. ast-grep stays as a reference.
 * BENCH_REPS (default 3), BENCH_MODULES / BENCH_DENSITY_MODULES (2000), BENCH_MONOREPO_PACKAGES
 * (22) × BENCH_MONOREPO_FILES (90) and BENCH_CORPORA (main,density,monorepo) size the run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeDensityCorpus, writeNoOrmMonorepo } from './more-corpora.js';
import { writeScanCorpus } from './scan-corpus.js';
import type { CorpusStats } from './scan-corpus.js';

const require = createRequire(import.meta.url);
const repositoryRoot = fileURLToPath(new URL('../', import.meta.url));
const bin = join(repositoryRoot, 'bin', 'orm-migrate.js');
const tscBin = require.resolve('typescript/bin/tsc');
const GNU_TIME = '/usr/bin/time';

const repetitions = Number(process.env.BENCH_REPS ?? 3);
const modules = Number(process.env.BENCH_MODULES ?? 2000);
const densityModules = Number(process.env.BENCH_DENSITY_MODULES ?? 2000);
const monorepoPackages = Number(process.env.BENCH_MONOREPO_PACKAGES ?? 22);
const monorepoFiles = Number(process.env.BENCH_MONOREPO_FILES ?? 90);
const selectedCorpora = (process.env.BENCH_CORPORA ?? 'main,density,monorepo').split(',').filter((name) => name !== '');

/** ast-grep's native binary: the platform package's, else the one the CLI package installed. */
function astGrepBinary(): string {
  const cliDir = dirname(require.resolve('@ast-grep/cli/package.json'));
  const platform = `@ast-grep/cli-${process.platform}-${process.arch}${process.platform === 'linux' ? '-gnu' : ''}`;
  try {
    const candidate = join(dirname(require.resolve(`${platform}/package.json`, { paths: [cliDir] })), 'ast-grep');
    if (existsSync(candidate)) return candidate;
  } catch {
    // fall back to the binary next to the CLI package
  }
  return join(cliDir, 'ast-grep');
}

interface Tool {
  name: string;
  command: string;
  args: string[];
  /** Exit codes that mean "ran fine" (scan exits 1 when it has findings). */
  okStatus: number[];
}

interface Sample {
  seconds: number;
  /** User + system CPU seconds (all threads): less sensitive than wall time to other load on the machine. */
  cpuSeconds: number | undefined;
  peakRssMb: number | undefined;
}

const hasGnuTime = existsSync(GNU_TIME);

function run(tool: Tool, cwd: string): Sample {
  const started = performance.now();
  const child = hasGnuTime
    ? spawnSync(GNU_TIME, ['-f', '%M %U %S', tool.command, ...tool.args], { cwd, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 })
    : spawnSync(tool.command, tool.args, { cwd, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 });
  const seconds = (performance.now() - started) / 1000;
  if (child.status === null || !tool.okStatus.includes(child.status)) {
    throw new Error(`${tool.name} failed (status ${child.status}): ${child.stderr.slice(-2000)}`);
  }
  // GNU time prints "<peak RSS in KB> <user s> <system s>" as the last line of stderr.
  const measured = /^(\d+) ([\d.]+) ([\d.]+)$/.exec(child.stderr.trim().split('\n').pop() ?? '');
  return {
    seconds,
    cpuSeconds: measured ? Number(measured[2]) + Number(measured[3]) : undefined,
    peakRssMb: measured ? Number(measured[1]) / 1024 : undefined,
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function verifyFindings(reportFile: string, expected: Record<string, number>, label: string): void {
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as { findings: { ruleId: string }[] };
  const counts: Record<string, number> = {};
  for (const finding of report.findings) counts[finding.ruleId] = (counts[finding.ruleId] ?? 0) + 1;
  const wanted = JSON.stringify(Object.entries(expected).sort());
  const got = JSON.stringify(Object.entries(counts).sort());
  if (wanted !== got) throw new Error(`${label} found ${got}, the corpus has ${wanted}`);
}

interface CorpusRun {
  name: string;
  write(root: string): CorpusStats;
  /** Directory ast-grep and the parse floor read. */
  sourceDir: string;
  /** Which tools run on it (all by default). */
  tools: ToolId[];
}

type ToolId = 'typed' | 'untyped' | 'tsc' | 'astGrep' | 'floor';

function toolsFor(ids: readonly ToolId[], sourceDir: string): Map<ToolId, Tool> {
  const all: Record<ToolId, Tool> = {
    typed: { name: 'orm-migrate scan (type-aware)', command: process.execPath, args: [bin, 'scan', '.'], okStatus: [0, 1] },
    untyped: { name: 'orm-migrate scan --no-types', command: process.execPath, args: [bin, 'scan', '.', '--no-types'], okStatus: [0, 1] },
    tsc: { name: 'tsc --noEmit', command: process.execPath, args: [tscBin, '--noEmit', '-p', '.'], okStatus: [0] },
    astGrep: { name: 'ast-grep -p $X.aexists()', command: astGrepBinary(), args: ['run', '--pattern', '$X.aexists()', '--lang', 'ts', sourceDir], okStatus: [0, 1] },
    floor: { name: 'TypeScript parse only (floor)', command: process.execPath, args: [join(repositoryRoot, 'bench', 'parse-floor.mjs'), sourceDir], okStatus: [0] },
  };
  return new Map(ids.map((id) => [id, all[id]]));
}

const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT met');

function benchCorpus(corpusRun: CorpusRun): void {
  const corpus = mkdtempSync(join(tmpdir(), 'orm-migrate-bench-'));
  try {
    const stats = corpusRun.write(corpus);
    const tools = toolsFor(corpusRun.tools, corpusRun.sourceDir);
    console.log('');
    console.log(`== ${corpusRun.name}: ${stats.files} files, ${stats.lines.toLocaleString('en-US')} lines; ${repetitions} interleaved repetitions`);

    // Warm the file cache so the first timed tool does not pay for it.
    run(tools.get('untyped') as Tool, corpus);
    const samples = new Map<ToolId, Sample[]>([...tools.keys()].map((id) => [id, []]));
    for (let repetition = 0; repetition < repetitions; repetition += 1) {
      for (const [id, tool] of tools) {
        const sample = run(tool, corpus);
        samples.get(id)?.push(sample);
        process.stderr.write(`  ${tool.name}: ${sample.seconds.toFixed(2)} s\n`);
      }
    }
    // Timed as users run it (default stylish output, to /dev/null); checked once, untimed, in JSON.
    for (const id of ['typed', 'untyped'] as const) {
      const tool = tools.get(id);
      if (!tool) continue;
      const report = join(corpus, `scan-${id}.json`);
      run({ ...tool, args: [...tool.args, '--format', 'json', '--output-file', report] }, corpus);
      verifyFindings(report, stats.expectedFindings, tool.name);
    }

    const medianOf = (id: ToolId): number => median((samples.get(id) ?? []).map((sample) => sample.seconds));
    const medianCpuOf = (id: ToolId): number | undefined => {
      const values = (samples.get(id) ?? []).map((sample) => sample.cpuSeconds).filter((value): value is number => value !== undefined);
      return values.length > 0 ? median(values) : undefined;
    };
    const peakOf = (id: ToolId): number | undefined => {
      const values = (samples.get(id) ?? []).map((sample) => sample.peakRssMb).filter((value): value is number => value !== undefined);
      return values.length > 0 ? Math.max(...values) : undefined;
    };
    console.log(`${'tool'.padEnd(32)} ${'median'.padStart(9)} ${'CPU'.padStart(9)} ${'peak RSS'.padStart(10)}`);
    for (const [id, tool] of tools) {
      const peak = peakOf(id);
      const cpu = medianCpuOf(id);
      console.log(
        `${tool.name.padEnd(32)} ${`${medianOf(id).toFixed(2)} s`.padStart(9)} ${(cpu === undefined ? 'n/a' : `${cpu.toFixed(2)} s`).padStart(9)} ${(peak === undefined ? 'n/a' : `${peak.toFixed(0)} MB`).padStart(10)}`,
      );
    }
    const ratio = (a: ToolId, b: ToolId, target: number, label: string): void => {
      if (!tools.has(a) || !tools.has(b)) return;
      const wall = medianOf(a) / medianOf(b);
      const cpuA = medianCpuOf(a);
      const cpuB = medianCpuOf(b);
      const cpu = cpuA && cpuB ? ` (CPU time ${(cpuA / cpuB).toFixed(2)}×)` : '';
      console.log(`${label.padEnd(34)} ${wall.toFixed(2)}×${cpu} (target ≤ ${target}×: ${verdict(wall <= target)})`);
    };
    ratio('typed', 'tsc', 0.5, 'type-aware scan / tsc --noEmit:');
    ratio('untyped', 'floor', 1.6, '--no-types scan / parse floor:');
    // Where tsc is no baseline (many tsconfigs, no ORM): type-aware must cost about what --no-types does.
    if (!tools.has('tsc')) ratio('typed', 'untyped', 1.5, 'type-aware / --no-types:');
    if (tools.has('astGrep') && tools.has('floor')) {
      console.log(`  reference: --no-types / ast-grep ${(medianOf('untyped') / medianOf('astGrep')).toFixed(2)}×, parse floor / ast-grep ${(medianOf('floor') / medianOf('astGrep')).toFixed(2)}×`);
    }
    const peak = Math.max(peakOf('typed') ?? 0, peakOf('untyped') ?? 0);
    console.log(`scan peak RSS:                     ${hasGnuTime ? `${peak.toFixed(0)} MB (target ≤ 500 MB: ${verdict(peak <= 500)})` : 'n/a'}`);
    const expected = Object.entries(stats.expectedFindings);
    console.log(`Findings verified: ${expected.length > 0 ? expected.map(([rule, count]) => `${rule} ${count}`).join(', ') : 'none (as expected)'}`);
  } finally {
    rmSync(corpus, { recursive: true, force: true });
  }
}

function main(): void {
  if (!existsSync(join(repositoryRoot, 'dist', 'cli', 'main.js'))) throw new Error('run `npm run build` first (npm run bench:scan does)');
  console.log(`Machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown CPU'}), node ${process.version}; load average ${loadavg().map((value) => value.toFixed(1)).join(' ')}`);
  if (!hasGnuTime) console.log(`(${GNU_TIME} not found: peak RSS is not measured)`);
  const corpora: Record<string, CorpusRun> = {
    main: { name: `main corpus (${modules} modules)`, write: (root) => writeScanCorpus(root, { modules }), sourceDir: 'src', tools: ['typed', 'untyped', 'tsc', 'astGrep', 'floor'] },
    density: { name: `density corpus (${densityModules} modules, two awaited ORM calls per function)`, write: (root) => writeDensityCorpus(root, densityModules), sourceDir: 'src', tools: ['typed', 'untyped', 'tsc', 'floor'] },
    monorepo: {
      name: `monorepo without the ORM (${monorepoPackages} tsconfigs)`,
      write: (root) => writeNoOrmMonorepo(root, monorepoPackages, monorepoFiles),
      sourceDir: 'packages',
      tools: ['typed', 'untyped', 'floor'],
    },
  };
  for (const name of selectedCorpora) {
    const corpusRun = corpora[name];
    if (!corpusRun) throw new Error(`BENCH_CORPORA: unknown corpus ${name} (corpora: ${Object.keys(corpora).join(', ')})`);
    benchCorpus(corpusRun);
  }
  console.log('');
  console.log(`load average after: ${loadavg().map((value) => value.toFixed(1)).join(' ')}`);
}

main();
