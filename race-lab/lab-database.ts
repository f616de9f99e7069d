// The database a race-lab command works on: the DATABASE_URL the command read (never migrated or altered
// behind the user's back), or a private embedded PostgreSQL on a free port, migrated, fast, and removed
// afterwards.
import pg from "pg";
import { openDatabase, type Database } from "../backend/database.ts";
import { DatabaseUnreachableError } from "../backend/errors.ts";
import { DatabaseNotReadyError } from "./errors.ts";

/**
 * `durable` keeps fsync and synchronous_commit on in the private server, as in production: a tier row's
 * lock is released only once its commit is flushed, which is what makes one row hot. Without it, commits
 * cost microseconds and every design is only as fast as the machine's CPU.
 */
export async function openLabDatabase(external: string | undefined, options: { durable?: boolean } = {}): Promise<Database> {
  if (external) return openDatabase({ databaseUrl: external, migrate: false });
  const kind = options.durable ? "durable commits, as in production" : "fsync off, for speed";
  console.error(`DATABASE_URL is not set: starting a private embedded PostgreSQL (${kind}; removed when done) ...`);
  return openDatabase({ port: 0, fast: !options.durable });
}

/** A client connected to the lab's database, or DatabaseUnreachableError saying why not. */
export async function connectLab(databaseUrl: string, applicationName?: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: applicationName });
  try {
    await client.connect();
  } catch (err) {
    throw new DatabaseUnreachableError(`cannot connect to the database: ${(err as Error).message}`);
  }
  return client;
}

/** Fails with the fix when the database lacks the functions a command calls. */
export async function requireFunctions(databaseUrl: string, names: string[]): Promise<void> {
  const client = await connectLab(databaseUrl);
  try {
    const r = await client.query<{ proname: string }>(
      "SELECT DISTINCT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace AND proname = ANY ($1)",
      [names],
    );
    const missing = names.filter((n) => !r.rows.some((row) => row.proname === n));
    if (missing.length) {
      throw new DatabaseNotReadyError(
        `the database lacks ${missing.join(", ")}: apply supabase/migrations first (supabase db push, or psql -f each file in order)`,
      );
    }
  } finally {
    await client.end();
  }
}
