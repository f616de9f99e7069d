// A database shaped like a hosted Supabase project, on the machine's PostgreSQL 15, and the real
// Supabase CLI pushing supabase/migrations into it. The roles, grants and default privileges are those
// of the initial schema of github.com/supabase/postgres (migrations/db/init-scripts/
// 00000000000000-initial-schema.sql, at 7db7e1a) and of the migrations that demote `postgres` and
// grant it the API roles, pg_monitor, pg_read_all_data and pg_signal_backend. That script runs as
// `postgres`, so its `ALTER DEFAULT PRIVILEGES IN SCHEMA public` applies to objects `postgres` creates:
// written here as FOR ROLE postgres, run by the bootstrap superuser supabase_admin. pgjwt is left out
// (Debian does not ship it; nothing here uses it).
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { MIGRATIONS_DIR } from "../../backend/migrate.ts";
import { startPg15, type Pg15 } from "./pg15.ts";
import { withPg } from "./target.ts";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SUPABASE_CLI = path.join(ROOT, "node_modules", ".bin", "supabase");

const CLUSTER_SETUP = `
  ALTER USER supabase_admin WITH SUPERUSER CREATEDB CREATEROLE REPLICATION BYPASSRLS;
  CREATE ROLE postgres LOGIN PASSWORD 'postgres';
  CREATE ROLE anon NOLOGIN NOINHERIT;
  CREATE ROLE authenticated NOLOGIN NOINHERIT;
  CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
  CREATE USER authenticator NOINHERIT;
  GRANT anon, authenticated, service_role TO authenticator;
  ALTER ROLE anon SET statement_timeout = '3s';
  ALTER ROLE authenticated SET statement_timeout = '8s';
  -- 10000000000000_demote-postgres, 20230529180330 (API roles inherit), 20230201083204, 20230306081037, 20240606060239
  ALTER ROLE postgres NOSUPERUSER CREATEDB CREATEROLE LOGIN REPLICATION BYPASSRLS;
  ALTER ROLE anon INHERIT;
  ALTER ROLE authenticated INHERIT;
  ALTER ROLE service_role INHERIT;
  GRANT anon, authenticated, service_role TO postgres;
  GRANT pg_monitor, pg_read_all_data, pg_signal_backend TO postgres;
  ALTER ROLE postgres SET search_path TO "$user", public, extensions;`;

const DATABASE_SETUP = `
  CREATE SCHEMA extensions;
  CREATE EXTENSION "uuid-ossp" WITH SCHEMA extensions;
  CREATE EXTENSION pgcrypto WITH SCHEMA extensions;
  CREATE EXTENSION pg_stat_statements WITH SCHEMA extensions;
  GRANT USAGE ON SCHEMA public TO postgres, anon, authenticated, service_role;
  GRANT USAGE ON SCHEMA extensions TO postgres, anon, authenticated, service_role;
  GRANT ALL ON SCHEMA extensions TO postgres;
  ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON TABLES TO postgres, anon, authenticated, service_role;
  ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON FUNCTIONS TO postgres, anon, authenticated, service_role;
  ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON SEQUENCES TO postgres, anon, authenticated, service_role;
  ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public GRANT ALL ON TABLES TO postgres, anon, authenticated, service_role;
  ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public GRANT ALL ON FUNCTIONS TO postgres, anon, authenticated, service_role;
  ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public GRANT ALL ON SEQUENCES TO postgres, anon, authenticated, service_role;`;

export interface SupabaseCluster {
  pg: Pg15;
  /** A new database set up like a hosted project's; returns the URL the project's `postgres` role uses. */
  project(name: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startSupabaseCluster(): Promise<SupabaseCluster> {
  const pg = await startPg15({ superuser: "supabase_admin", settings: { shared_preload_libraries: "pg_stat_statements" } });
  try {
    await withPg(pg.url(), (c) => c.query(CLUSTER_SETUP));
  } catch (err) {
    await pg.stop();
    throw err;
  }
  return {
    pg,
    async project(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`database name "${name}" must be a lower-case identifier`);
      await withPg(pg.url(), (c) => c.query(`CREATE DATABASE ${name} OWNER postgres`));
      await withPg(pg.url("supabase_admin", name), (c) => c.query(DATABASE_SETUP));
      return pg.url("postgres", name, "postgres");
    },
    stop: () => pg.stop(),
  };
}

export interface PushResult {
  stdout: string;
  stderr: string;
}

/**
 * `supabase db push --db-url <url>` from a throwaway project folder holding the migrations that `pick`
 * keeps (all by default), the way a user pushes from their checkout. The CLI gets a bare environment:
 * no SUPABASE_* variables of the developer's, a private HOME, no telemetry.
 */
export async function supabaseDbPush(url: string, pick: (file: string) => boolean = () => true): Promise<PushResult> {
  const project = await mkdtemp(path.join(tmpdir(), "liventix-supabase-project-"));
  try {
    await mkdir(path.join(project, "supabase", "migrations"), { recursive: true });
    for (const file of (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith(".sql") && pick(f))) {
      await cp(path.join(MIGRATIONS_DIR, file), path.join(project, "supabase", "migrations", file));
    }
    // The test cluster speaks no TLS; a hosted project does, and the CLI would negotiate it there.
    return await run(SUPABASE_CLI, ["db", "push", "--db-url", `${url}?sslmode=disable`, "--yes"], {
      cwd: project,
      env: { PATH: process.env.PATH ?? "", HOME: project, DO_NOT_TRACK: "1" },
      timeout: 120_000,
    });
  } finally {
    await rm(project, { recursive: true, force: true });
  }
}
