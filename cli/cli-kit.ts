// Shared plumbing for the race-lab commands (race, readiness, db-stats, chaos): bad flags become one
// clear line and exit code 2; every other failure one line and its code from cli/exit-codes.ts.
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { Database } from "../backend/database.ts";
import { openLabDatabase } from "../race-lab/lab-database.ts";
import { CliExit, runCli } from "./exit.ts";
import { EXIT, signalExitCode } from "./exit-codes.ts";

/** A mistake in how the command was called: the message names the flag and the fix. */
export class UsageError extends CliExit {
  constructor(message: string) {
    super(message, EXIT.USAGE);
  }
}

/** A run the command will not start without an explicit yes, because it could harm the database it points at. */
export class RefusedError extends CliExit {
  constructor(message: string) {
    super(message, EXIT.REFUSED);
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>;

export function parseFlags<T extends Options>(argv: string[], options: T, usage: string) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    // node's messages already name the flag ("Unknown option '--foo'"); add how to find the right one.
    throw new UsageError(`${(err as Error).message}\n${usage}`);
  }
}

/** Parses a whole number flag within bounds, or explains which flag is wrong and what it accepts. */
export function intFlag(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new UsageError(`--${name} must be from ${min} to ${max}, got ${value}`);
  return value;
}

export function choiceFlag<C extends string>(name: string, raw: string | undefined, choices: readonly C[], fallback: C): C {
  if (raw === undefined) return fallback;
  if (!(choices as readonly string[]).includes(raw)) {
    throw new UsageError(`--${name} must be one of ${choices.join(", ")}, got "${raw}"`);
  }
  return raw as C;
}

/** Runs a race-lab command's main: every message, the command's own or not, reads "error: …". */
export function runMain(main: () => Promise<number>): Promise<never> {
  return runCli(main, { cliExit: "error: ", other: "error: " });
}

/**
 * The race lab's database (race-lab/lab-database.ts), with a private server removed even when the user
 * presses Ctrl-C or the job is cancelled: the command then exits as the signal says (130, 143).
 */
export async function openCommandDatabase(external: string | undefined, options: { durable?: boolean } = {}): Promise<Database> {
  const db = await openLabDatabase(external, options);
  if (db.external) return db;
  const onSignal = (signal: NodeJS.Signals) => {
    void db.stop().finally(() => process.exit(signalExitCode(signal)));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return {
    ...db,
    async stop() {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      await db.stop();
    },
  };
}
