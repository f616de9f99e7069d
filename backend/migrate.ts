// Applies supabase/migrations/*.sql in filename order, once each, recording them in the same table
// the Supabase CLI uses (supabase_migrations.schema_migrations) so that a project migrated here and
// later with `supabase db push` agrees on what has been applied. The files are idempotent too, so
// applying them by hand a second time (SQL editor, psql -f) is also safe.
import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";
import pg from "pg";

export const MIGRATIONS_DIR = fileURLToPath(new URL("../supabase/migrations/", import.meta.url));

const MIGRATION_FILE = /^(\d{14})_([a-z0-9_]+)\.sql$/;
// Any constant works; it only has to be the same for every runner so two never migrate at once.
const MIGRATION_LOCK_KEY = 7_405_221;

export interface Migration {
  version: string;
  name: string;
  sql: string;
}

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".sql")).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = MIGRATION_FILE.exec(file);
    if (!match) {
      throw new Error(`migration file "${file}" must be named <14-digit timestamp>_<snake_case_name>.sql`);
    }
    migrations.push({ version: match[1]!, name: match[2]!, sql: await readFile(path.join(dir, file), "utf8") });
  }
  return migrations;
}

/** Applies what is not yet recorded; returns the versions applied by this call. */
export async function migrate(databaseUrl: string, dir = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = await readMigrations(dir);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS supabase_migrations;
      CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (
        version text PRIMARY KEY, statements text[], name text)`);
    const done = new Set(
      (await client.query<{ version: string }>("SELECT version FROM supabase_migrations.schema_migrations")).rows.map((r) => r.version),
    );
    const applied: string[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await client.query("BEGIN");
      try {
        await client.query(m.sql);
        await client.query("INSERT INTO supabase_migrations.schema_migrations (version, statements, name) VALUES ($1, $2, $3)", [
          m.version,
          [m.sql],
          m.name,
        ]);
        await client.query("COMMIT");
      } catch (err) {
        await client.query("ROLLBACK");
        throw new Error(`migration ${m.version}_${m.name} failed: ${(err as Error).message}`);
      }
      applied.push(m.version);
    }
    return applied;
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await client.end();
  }
}
