/**
 * npm run bench:scan — `orm-migrate scan` against `tsc --noEmit` and ast-grep on the same
 * synthetic corpus, in one run: medians of several interleaved repetitions, ratios, peak RSS.
 *
 * Targets (issue 3): type-aware ≤ 0.5× tsc --noEmit; --no-types ≤ 2× ast-grep; peak RSS ≤ 500 MB.
 * Also timed: the floor under --no-types, TypeScript's parser alone over the same files.
 * BENCH_REPS (default 3) and BENCH_MODULES (default 2000) change the size of the run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeScanCorpus } from './scan-corpus.js';

const require = createRequire(import.meta.url);
const repositoryRoot = fileURLToPath(new URL('../', import.meta.url));
const bin = join(repositoryRoot, 'bin', 'orm-migrate.js');
const tscBin = require.resolve('typescript/bin/tsc');
const GNU_TIME = '/usr/bin/time';

const repetitions = Number(process.env.BENCH_REPS ?? 3);
const modules = Number(process.env.BENCH_MODULES ?? 2000);

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

function main(): void {
  if (!existsSync(join(repositoryRoot, 'dist', 'cli', 'main.js'))) throw new Error('run `npm run build` first (npm run bench:scan does)');
  const corpus = mkdtempSync(join(tmpdir(), 'orm-migrate-bench-'));
  try {
    const stats = writeScanCorpus(corpus, { modules });
    const typedReport = join(corpus, 'scan-types.json');
    const untypedReport = join(corpus, 'scan-no-types.json');
    // Timed as users run it (default stylish output, to /dev/null); checked once, untimed, in JSON.
    const tools: Tool[] = [
      { name: 'orm-migrate scan (type-aware)', command: process.execPath, args: [bin, 'scan', '.'], okStatus: [0, 1] },
      { name: 'orm-migrate scan --no-types', command: process.execPath, args: [bin, 'scan', '.', '--no-types'], okStatus: [0, 1] },
      { name: 'tsc --noEmit', command: process.execPath, args: [tscBin, '--noEmit', '-p', '.'], okStatus: [0] },
      { name: 'ast-grep -p $X.aexists()', command: astGrepBinary(), args: ['run', '--pattern', '$X.aexists()', '--lang', 'ts', 'src'], okStatus: [0] },
      { name: 'TypeScript parse only (floor)', command: process.execPath, args: [join(repositoryRoot, 'bench', 'parse-floor.mjs'), 'src'], okStatus: [0] },
    ];

    console.log(`Corpus: ${stats.files} files, ${stats.lines.toLocaleString('en-US')} lines (${modules} modules) in a temp directory`);
    console.log(`Machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown CPU'}), node ${process.version}; ${repetitions} interleaved repetitions`);
    if (!hasGnuTime) console.log(`(${GNU_TIME} not found: peak RSS is not measured)`);

    // Warm the file cache so the first timed tool does not pay for it.
    run(tools[3] as Tool, corpus);
    const samples = new Map<string, Sample[]>(tools.map((tool) => [tool.name, []]));
    for (let repetition = 0; repetition < repetitions; repetition += 1) {
      for (const tool of tools) {
        const sample = run(tool, corpus);
        samples.get(tool.name)?.push(sample);
        process.stderr.write(`  ${tool.name}: ${sample.seconds.toFixed(2)} s\n`);
      }
    }
    run({ ...(tools[0] as Tool), args: [bin, 'scan', '.', '--format', 'json', '--output-file', typedReport] }, corpus);
    run({ ...(tools[1] as Tool), args: [bin, 'scan', '.', '--no-types', '--format', 'json', '--output-file', untypedReport] }, corpus);
    verifyFindings(typedReport, stats.expectedFindings, 'type-aware scan');
    verifyFindings(untypedReport, stats.expectedFindings, '--no-types scan');

    const medianOf = (name: string): number => median((samples.get(name) ?? []).map((sample) => sample.seconds));
    const medianCpuOf = (name: string): number | undefined => {
      const values = (samples.get(name) ?? []).map((sample) => sample.cpuSeconds).filter((value): value is number => value !== undefined);
      return values.length > 0 ? median(values) : undefined;
    };
    const peakOf = (name: string): number | undefined => {
      const values = (samples.get(name) ?? []).map((sample) => sample.peakRssMb).filter((value): value is number => value !== undefined);
      return values.length > 0 ? Math.max(...values) : undefined;
    };
    console.log('');
    console.log(`${'tool'.padEnd(32)} ${'median'.padStart(9)} ${'CPU'.padStart(9)} ${'peak RSS'.padStart(10)}`);
    for (const tool of tools) {
      const peak = peakOf(tool.name);
      const cpu = medianCpuOf(tool.name);
      console.log(
        `${tool.name.padEnd(32)} ${`${medianOf(tool.name).toFixed(2)} s`.padStart(9)} ${(cpu === undefined ? 'n/a' : `${cpu.toFixed(2)} s`).padStart(9)} ${(peak === undefined ? 'n/a' : `${peak.toFixed(0)} MB`).padStart(10)}`,
      );
    }
    const [typed, untyped, tsc, astGrep, floor] = tools.map((tool) => tool.name) as [string, string, string, string, string];
    const typedRatio = medianOf(typed) / medianOf(tsc);
    const untypedRatio = medianOf(untyped) / medianOf(astGrep);
    const peak = Math.max(peakOf(typed) ?? 0, peakOf(untyped) ?? 0);
    const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT met');
    console.log('');
    console.log(`type-aware scan / tsc --noEmit: ${typedRatio.toFixed(2)}× (target ≤ 0.5×: ${verdict(typedRatio <= 0.5)})`);
    console.log(`--no-types scan / ast-grep:     ${untypedRatio.toFixed(2)}× (target ≤ 2×: ${verdict(untypedRatio <= 2)})`);
    console.log(`  floor, TypeScript's parser alone / ast-grep: ${(medianOf(floor) / medianOf(astGrep)).toFixed(2)}× (the scan spends ${((medianOf(floor) / medianOf(untyped)) * 100).toFixed(0)}% of its time there)`);
    console.log(`scan peak RSS:                  ${hasGnuTime ? `${peak.toFixed(0)} MB (target ≤ 500 MB: ${verdict(peak <= 500)})` : 'n/a'}`);
    const cpuTyped = medianCpuOf(typed);
    const cpuTsc = medianCpuOf(tsc);
    const cpuUntyped = medianCpuOf(untyped);
    const cpuAstGrep = medianCpuOf(astGrep);
    if (cpuTyped && cpuTsc && cpuUntyped && cpuAstGrep) {
      console.log(`CPU-time ratios (for a loaded machine): type-aware/tsc ${(cpuTyped / cpuTsc).toFixed(2)}×, --no-types/ast-grep ${(cpuUntyped / cpuAstGrep).toFixed(2)}×`);
    }
    console.log(`Findings verified: ${Object.entries(stats.expectedFindings).map(([rule, count]) => `${rule} ${count}`).join(', ')}`);
  } finally {
    rmSync(corpus, { recursive: true, force: true });
  }
}

main();
