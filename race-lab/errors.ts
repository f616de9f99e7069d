// What can stop the race lab before it judges anything: each error names what happened, and its message
// says how to fix it. The commands give each one its exit code (cli/exit-codes.ts).

/** A program the lab runs (pgbench) is not installed, or too old. */
export class MissingToolError extends Error {
  override name = "MissingToolError";
}

/** The database answers but lacks what the lab calls: the suite's functions, before supabase/migrations is applied. */
export class DatabaseNotReadyError extends Error {
  override name = "DatabaseNotReadyError";
}

/** DATABASE_URL is not a PostgreSQL connection string. */
export class InvalidDatabaseUrlError extends Error {
  override name = "InvalidDatabaseUrlError";
}
