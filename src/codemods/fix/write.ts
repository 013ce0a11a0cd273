/** Writing the fix: refuse on uncommitted changes (so every rewrite can be reviewed and reverted), then one atomic rename per file. */
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { toPosix } from '../engine/discover.js';

export interface DirtyFile {
  file: string;
  /** Git's two-letter status (` M`, `??`, `A `, …). */
  status: string;
}

export type GitCheck = { kind: 'clean' } | { kind: 'dirty'; files: DirtyFile[] } | { kind: 'no-git'; reason: string };

/** Git's own limit on arguments is the OS's: ask about files in batches. */
const PATHS_PER_CALL = 400;

function git(cwd: string, args: readonly string[]): { status: number | null; stdout: string; error?: Error } {
  const run = spawnSync('git', args, { cwd, encoding: 'utf8', maxBuffer: 1 << 26 });
  return { status: run.status, stdout: run.stdout ?? '', ...(run.error ? { error: run.error } : {}) };
}

/** Which of these files have uncommitted changes (staged, unstaged or untracked) in their git working trees. */
export function uncommittedChanges(files: readonly string[]): GitCheck {
  const toplevels = new Map<string, string | null>();
  const byRepository = new Map<string, string[]>();
  for (const file of files) {
    const directory = dirname(file);
    let toplevel = toplevels.get(directory);
    if (toplevel === undefined) {
      const run = git(directory, ['rev-parse', '--show-toplevel']);
      if (run.error) return { kind: 'no-git', reason: `git could not be run (${run.error.message})` };
      toplevel = run.status === 0 ? run.stdout.trim() : null;
      toplevels.set(directory, toplevel);
    }
    if (toplevel === null) return { kind: 'no-git', reason: `${file} is not in a git working tree` };
    const list = byRepository.get(toplevel);
    if (list) list.push(file);
    else byRepository.set(toplevel, [file]);
  }
  const dirty: DirtyFile[] = [];
  for (const [toplevel, repositoryFiles] of byRepository) {
    for (let index = 0; index < repositoryFiles.length; index += PATHS_PER_CALL) {
      const batch = repositoryFiles.slice(index, index + PATHS_PER_CALL).map((file) => toPosix(relative(toplevel, file)));
      const run = git(toplevel, ['status', '--porcelain=v1', '-z', '--untracked-files=all', '--', ...batch]);
      if (run.status !== 0) return { kind: 'no-git', reason: `git status failed in ${toplevel}` };
      for (const entry of run.stdout.split('\0')) {
        if (entry.length < 4) continue;
        dirty.push({ status: entry.slice(0, 2), file: join(toplevel, entry.slice(3)) });
      }
    }
  }
  return dirty.length > 0 ? { kind: 'dirty', files: dirty } : { kind: 'clean' };
}

/** The file changed on disk between planning and writing: not overwritten. */
export class ConcurrentChangeError extends Error {
  override name = 'ConcurrentChangeError';
  constructor(file: string) {
    super(`${file} changed on disk while fix was running: it was left as it is; run fix again`);
  }
}

/** Writes `text` through a temporary file in the same directory and a rename, keeping the file's mode. */
export function writeFileAtomically(file: string, text: string, expected: string): void {
  if (readFileSync(file, 'utf8') !== expected) throw new ConcurrentChangeError(file);
  const mode = statSync(file).mode & 0o7777;
  const temporary = join(dirname(file), `.${basename(file)}.orm-migrate-${process.pid}.tmp`);
  try {
    writeFileSync(temporary, text, { mode });
    chmodSync(temporary, mode);
    renameSync(temporary, file);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}
