// The database a race-lab command works on: the DATABASE_URL the command read (never migrated or altered
// behind the user's back), or a private embedded PostgreSQL on a free port, migrated, fast, and removed
// afterwards even when the user presses Ctrl-C.
import pg from "pg";
import { openDatabase, type Database } from "../backend/database.ts";
import { CliExit } from "../cli/exit.ts";

/**
 * `durable` keeps fsync and synchronous_commit on in the private server, as in production: a tier row's
 * lock is released only once its commit is flushed, which is what makes one row hot. Without it, commits
 * cost microseconds and every design is only as fast as the machine's CPU.
 */
export async function openLabDatabase(external: string | undefined, options: { durable?: boolean } = {}): Promise<Database> {
  if (external) return openDatabase({ databaseUrl: external, migrate: false });
  const kind = options.durable ? "durable commits, as in production" : "fsync off, for speed";
  console.error(`DATABASE_URL is not set: starting a private embedded PostgreSQL (${kind}; removed when done) ...`);
  const db = await openDatabase({ port: 0, fast: !options.durable });
  const onSignal = (signal: NodeJS.Signals) => {
    void db.stop().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
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

/** Fails with the fix when the database lacks the functions a command calls. */
export async function requireFunctions(databaseUrl: string, names: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  try {
    await client.connect();
  } catch (err) {
    throw new CliExit(`cannot connect to the database: ${(err as Error).message}`);
  }
  try {
    const r = await client.query<{ proname: string }>(
      "SELECT DISTINCT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace AND proname = ANY ($1)",
      [names],
    );
    const missing = names.filter((n) => !r.rows.some((row) => row.proname === n));
    if (missing.length) {
      throw new CliExit(
        `the database lacks ${missing.join(", ")}: apply supabase/migrations first (supabase db push, or psql -f each file in order)`,
      );
    }
  } finally {
    await client.end();
  }
}
