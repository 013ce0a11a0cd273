/**
 * npm run bench:fix — `orm-migrate fix` against the type-aware `orm-migrate scan` on the scan
 * benchmark's synthetic corpus, in one run: medians of interleaved repetitions (each fix on a
 * fresh copy of the corpus), the ratio, and peak RSS. Afterwards the fixed copy is checked: a
 * second fix changes nothing, and scan reports no fixable finding besides the manual items.
 *
 * Targets (issue 4): fix ≤ 2× the type-aware scan; peak RSS ≤ 800 MB — on every corpus of
 * bench:scan (issue 11): BENCH_CORPORA (main,density,monorepo), BENCH_REPS (default 3),
 * BENCH_MODULES / BENCH_DENSITY_MODULES (2000), BENCH_MONOREPO_PACKAGES (22) ×
 * BENCH_MONOREPO_FILES (90) change the size of the run.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeDensityCorpus, writeNoOrmMonorepo } from './more-corpora.js';
import { writeScanCorpus } from './scan-corpus.js';
import type { CorpusStats } from './scan-corpus.js';

const repositoryRoot = fileURLToPath(new URL('../', import.meta.url));
const bin = join(repositoryRoot, 'bin', 'orm-migrate.js');
const GNU_TIME = '/usr/bin/time';
const hasGnuTime = existsSync(GNU_TIME);

const repetitions = Number(process.env.BENCH_REPS ?? 3);
const modules = Number(process.env.BENCH_MODULES ?? 2000);
const densityModules = Number(process.env.BENCH_DENSITY_MODULES ?? 2000);
const monorepoPackages = Number(process.env.BENCH_MONOREPO_PACKAGES ?? 22);
const monorepoFiles = Number(process.env.BENCH_MONOREPO_FILES ?? 90);
const selectedCorpora = (process.env.BENCH_CORPORA ?? 'main,density,monorepo').split(',').filter((name) => name !== '');

interface Sample {
  seconds: number;
  peakRssMb: number | undefined;
  stdout: string;
}

function run(args: readonly string[], cwd: string, okStatus: readonly number[]): Sample {
  const command = hasGnuTime ? GNU_TIME : process.execPath;
  const commandArgs = hasGnuTime ? ['-f', '%M', process.execPath, bin, ...args] : [bin, ...args];
  const started = performance.now();
  const child = spawnSync(command, commandArgs, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28 });
  const seconds = (performance.now() - started) / 1000;
  if (child.status === null || !okStatus.includes(child.status)) throw new Error(`orm-migrate ${args.join(' ')} failed (status ${child.status}): ${child.stderr.slice(-2000)}`);
  // GNU time prints the peak resident set in KB as the last line of stderr.
  const lastLine = child.stderr.trim().split('\n').pop() ?? '';
  return { seconds, peakRssMb: hasGnuTime && /^\d+$/.test(lastLine) ? Number(lastLine) / 1024 : undefined, stdout: child.stdout };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function summaryOf(stdout: string): string {
  return /^\d+ files? changed, .*$/m.exec(stdout)?.[0] ?? '(no summary line)';
}

function benchCorpus(name: string, write: (root: string) => CorpusStats): void {
  const workspace = mkdtempSync(join(tmpdir(), 'orm-migrate-fix-bench-'));
  try {
    const corpus = join(workspace, 'corpus');
    mkdirSync(corpus, { recursive: true });
    const stats = write(corpus);
    console.log('');
    console.log(`== ${name}: ${stats.files} files, ${stats.lines.toLocaleString('en-US')} lines; ${repetitions} interleaved repetitions (load average ${loadavg().map((value) => value.toFixed(1)).join(' ')})`);

    const scanArgs = ['scan', '.', '--format', 'json', '--output-file', join(workspace, 'scan.json')];
    // Warm the file cache and the module cache of node before timing.
    run(scanArgs, corpus, [0, 1]);
    const scans: Sample[] = [];
    const fixes: Sample[] = [];
    let fixed = '';
    for (let repetition = 0; repetition < repetitions; repetition += 1) {
      const copy = join(workspace, `fix-${repetition}`);
      cpSync(corpus, copy, { recursive: true });
      const scanSample = run(scanArgs, corpus, [0, 1]);
      scans.push(scanSample);
      process.stderr.write(`  scan (type-aware): ${scanSample.seconds.toFixed(2)} s\n`);
      // No git repository here; --force skips asking git about every file.
      const fixSample = run(['fix', '.', '--force'], copy, [0, 1]);
      fixes.push(fixSample);
      process.stderr.write(`  fix: ${fixSample.seconds.toFixed(2)} s — ${summaryOf(fixSample.stdout)}\n`);
      if (fixed) rmSync(fixed, { recursive: true, force: true });
      fixed = copy;
    }

    // The last fixed copy: nothing left to fix, no fixable finding outside the manual items.
    const again = run(['fix', '.', '--force'], fixed, [0, 1]);
    const report = JSON.parse(readFileSync(join(workspace, 'scan.json'), 'utf8')) as { findings: unknown[] };
    run(['scan', '.', '--format', 'json', '--output-file', join(workspace, 'after.json')], fixed, [0, 1]);
    const after = JSON.parse(readFileSync(join(workspace, 'after.json'), 'utf8')) as { findings: { ruleId: string; fixable: boolean }[] };
    const counts: Record<string, number> = {};
    for (const finding of after.findings) counts[finding.ruleId] = (counts[finding.ruleId] ?? 0) + 1;

    const scanMedian = median(scans.map((sample) => sample.seconds));
    const fixMedian = median(fixes.map((sample) => sample.seconds));
    const peak = (samples: readonly Sample[]): number | undefined => {
      const values = samples.map((sample) => sample.peakRssMb).filter((value): value is number => value !== undefined);
      return values.length > 0 ? Math.max(...values) : undefined;
    };
    const mb = (value: number | undefined): string => (value === undefined ? 'n/a' : `${value.toFixed(0)} MB`);
    console.log(`${'tool'.padEnd(32)} ${'median'.padStart(9)} ${'peak RSS'.padStart(10)}`);
    console.log(`${'orm-migrate scan (type-aware)'.padEnd(32)} ${`${scanMedian.toFixed(2)} s`.padStart(9)} ${mb(peak(scans)).padStart(10)}`);
    console.log(`${'orm-migrate fix'.padEnd(32)} ${`${fixMedian.toFixed(2)} s`.padStart(9)} ${mb(peak(fixes)).padStart(10)}`);
    const ratio = fixMedian / scanMedian;
    const fixPeak = peak(fixes);
    const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT met');
    console.log(`fix / type-aware scan: ${ratio.toFixed(2)}× (target ≤ 2×: ${verdict(ratio <= 2)})`);
    console.log(`fix peak RSS:          ${fixPeak === undefined ? 'n/a' : `${fixPeak.toFixed(0)} MB (target ≤ 800 MB: ${verdict(fixPeak <= 800)})`}`);
    console.log(`fix result:            ${summaryOf(fixes[fixes.length - 1]?.stdout ?? '')}`);
    console.log(`fixing again:          ${summaryOf(again.stdout)}`);
    console.log(`scan before → after:   ${report.findings.length} → ${after.findings.length} findings (${Object.entries(counts).map(([rule, count]) => `${rule} ${count}`).join(', ')})`);
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
}

function main(): void {
  if (!existsSync(join(repositoryRoot, 'dist', 'cli', 'main.js'))) throw new Error('run `npm run build` first (npm run bench:fix does)');
  console.log(`Machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown CPU'}), node ${process.version}`);
  if (!hasGnuTime) console.log(`(${GNU_TIME} not found: peak RSS is not measured)`);
  const corpora: Record<string, { name: string; write: (root: string) => CorpusStats }> = {
    main: { name: `main corpus (${modules} modules)`, write: (root) => writeScanCorpus(root, { modules }) },
    density: { name: `density corpus (${densityModules} modules, two awaited ORM calls per function)`, write: (root) => writeDensityCorpus(root, densityModules) },
    monorepo: { name: `monorepo without the ORM (${monorepoPackages} tsconfigs)`, write: (root) => writeNoOrmMonorepo(root, monorepoPackages, monorepoFiles) },
  };
  for (const name of selectedCorpora) {
    const corpus = corpora[name];
    if (!corpus) throw new Error(`BENCH_CORPORA: unknown corpus ${name} (corpora: ${Object.keys(corpora).join(', ')})`);
    benchCorpus(corpus.name, corpus.write);
  }
  console.log('');
  console.log(`load average after: ${loadavg().map((value) => value.toFixed(1)).join(' ')}`);
}

main();
