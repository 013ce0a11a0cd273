import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerFixCommand } from './fix.js';
import { registerScanCommand } from './scan.js';
import { registerGateCommand } from './gate.js';

/** Exit codes, as ESLint uses them: 0 clean, 1 findings or pending changes, 2 bad usage or crash. */
export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_USAGE = 2;

export class UsageError extends Error {
  override name = 'UsageError';
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Each subcommand sets this; the program returns it instead of calling process.exit. */
export interface CommandResult {
  exitCode: number;
}

export function buildProgram(result: CommandResult): Command {
  const program = new Command('orm-migrate')
    .description('Find and rewrite async ORM calls that run outside a newConnection() block.')
    .version(packageVersion(), '-v, --version')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) });

  registerScanCommand(program, result);

  registerFixCommand(program, result);

  registerGateCommand(program, result);

  return program;
}

/** Runs the CLI with process.argv-style arguments and resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const result: CommandResult = { exitCode: EXIT_OK };
  const program = buildProgram(result);
  try {
    await program.parseAsync([...argv]);
    return result.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through exitOverride with code 0.
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`orm-migrate: ${error.message}\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`orm-migrate: crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT_USAGE;
  }
}
