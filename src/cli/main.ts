import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { AppError } from '../core/errors.js';
import { registerImportCommands } from './commands/import.js';
import { registerKeysCommand } from './commands/keys.js';
import { registerSeedCommand } from './commands/seed.js';
import { registerTimeTravelCommands } from './commands/timeTravel.js';

/**
 * The `twin` command line. Each command group lives in its own module under src/cli/commands/ and is
 * registered here with one line.
 */
export function buildProgram(): Command {
  const program = new Command('twin')
    .description('Urban Twin: seed, import and operate the event-sourced city twin')
    .showHelpAfterError();
  registerSeedCommand(program);
  registerImportCommands(program);
  registerKeysCommand(program);
  registerTimeTravelCommands(program);
  return program;
}

/** Runs the CLI on `argv` (node, script, ...args); errors become a message on stderr and exit code 1. */
export async function runCli(argv: string[] = process.argv): Promise<void> {
  const program = buildProgram().exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander printed its message already (help, version, a bad option).
      process.exitCode = err.exitCode;
      return;
    }
    if (err instanceof AppError) {
      process.stderr.write(`error: ${err.message}\n`);
      for (const issue of err.issues) {
        process.stderr.write(
          `  ${issue.index !== undefined ? `#${issue.index} ` : ''}${issue.field}: ${issue.message}\n`,
        );
      }
    } else {
      process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    process.exitCode = 1;
  }
}

const entry = process.argv[1] ? realpathSync(process.argv[1]) : '';
if (entry === realpathSync(fileURLToPath(import.meta.url))) await runCli();
