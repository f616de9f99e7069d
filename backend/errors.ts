// What can stop the backend's start-up that a command must tell apart from a bug: each error names what
// happened, and its message says how to fix it. The commands give each one its exit code (cli/exit-codes.ts).

/** The database a command was pointed at did not answer: it is down, or the URL names the wrong place. */
export class DatabaseUnreachableError extends Error {
  override name = "DatabaseUnreachableError";
}
