// The one table of exit codes: each code means the same in every command, and README.md lists them.
// 0, 1 and 2 follow the shell's habit (done, the check failed, wrong usage); the rest are sysexits.h
// codes, whose range stays clear of k6's own (97-110), which `npm run load` and `npm run cloud` pass through.
// Library code throws errors named for what happened; exitCodeOf() is where they become codes.
import { constants } from "node:os";
import { ConfigError } from "../backend/config.ts";
import { DatabaseUnreachableError } from "../backend/errors.ts";
import { DatabaseNotReadyError, InvalidDatabaseUrlError, MissingToolError } from "../race-lab/errors.ts";

export const EXIT = {
  /** Done: every check passed (a benchmark: its figures are printed). */
  OK: 0,
  /** A check ran and found a problem: an invariant, a verdict, a readiness item, a chaos check, a fault that escaped. */
  CHECK_FAILED: 1,
  /** A flag, argument or variable is wrong; the message names it and the fix. */
  USAGE: 2,
  /** A program the command needs is missing or too old (k6, pgbench 15+, GNU time); the message says how to install it. */
  MISSING_TOOL: 69,
  /** The command broke before it could judge (a failed build, a port in use, an unexpected error); the message says what. */
  ERROR: 70,
  /** The system under test did not answer: its database or API is down, or the URL is wrong. Start it, or fix the URL. */
  UNREACHABLE: 75,
  /** Refused for safety: heavy load on a host not in LOAD_ALLOW_HOSTS, a fault planted in DATABASE_URL without --i-know-this-is-scratch. */
  REFUSED: 77,
  /** The system under test answers but lacks what the command calls: the suite's functions, or pg_stat_statements. */
  NOT_SET_UP: 78,
  /** k6's own code for a crossed threshold (an oversell or a failed invariant among them), passed through like k6's other codes. */
  K6_THRESHOLDS: 99,
} as const;

/** How shells report a process stopped by a signal: 128 + its number (130 for Ctrl-C, 143 for SIGTERM). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}

/** The exit code of an error a command did not catch: the domain errors have theirs, anything else is ERROR. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof ConfigError || err instanceof InvalidDatabaseUrlError) return EXIT.USAGE;
  if (err instanceof MissingToolError) return EXIT.MISSING_TOOL;
  if (err instanceof DatabaseUnreachableError) return EXIT.UNREACHABLE;
  if (err instanceof DatabaseNotReadyError) return EXIT.NOT_SET_UP;
  return EXIT.ERROR;
}
