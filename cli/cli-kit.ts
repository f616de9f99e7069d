// Shared plumbing for the race-lab commands (race, readiness, db-stats): bad flags become one clear
// line and exit code 2; expected failures (CliExit) one line and their own exit code.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { CliExit, runCli } from "./exit.ts";

/** A mistake in how the command was called: exit 2, message names the flag and the fix. */
export class UsageError extends CliExit {
  constructor(message: string) {
    super(message, 2);
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

/** Runs a race-lab command's main: every message, expected or not, reads "error: …". */
export function runMain(main: () => Promise<number>): Promise<never> {
  return runCli(main, { expected: "error: ", unexpected: "error: " });
}
