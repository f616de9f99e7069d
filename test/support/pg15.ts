// A throwaway Debian PostgreSQL 15 server (the major version Supabase projects run): its own folder, a free
// port on 127.0.0.1, trust authentication, no fsync; removed on stop. For the tests that must prove
// something on 15 and not only on the embedded 18. As root, PostgreSQL refuses to run, so it runs as the
// `postgres` OS user in a folder it owns.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { access, chmod, chown, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { freePort } from "../../backend/database.ts";

const run = promisify(execFile);
export const PG15_BIN = "/usr/lib/postgresql/15/bin";
const PG15_LIB = "/usr/lib/postgresql/15/lib";

export interface Pg15Options {
  /** The bootstrap superuser's name (Supabase's is supabase_admin). */
  superuser?: string;
  /** Extra server settings (-c name=value), e.g. shared_preload_libraries: "pg_cron". */
  settings?: Record<string, string>;
}

export interface Pg15 {
  port: number;
  /** The server's folder (socket directory too). */
  dir: string;
  /** A URL for `user` and `database` (trust authentication: any password, or none, is accepted). */
  url(user?: string, database?: string, password?: string): string;
  stop(): Promise<void>;
}

/** Fails with the install command when a file of a Debian package is missing. */
export async function requireFile(file: string, pkg: string): Promise<void> {
  await access(file).catch(() => assert.fail(`${file} is missing: install it (apt-get install -y ${pkg})`));
}

export async function requirePgCron(): Promise<void> {
  await requireFile(path.join(PG15_LIB, "pg_cron.so"), "postgresql-15-cron");
}

export async function startPg15(options: Pg15Options = {}): Promise<Pg15> {
  for (const bin of ["initdb", "pg_ctl", "postgres"]) await requireFile(path.join(PG15_BIN, bin), "postgresql-15");
  const asRoot = process.getuid?.() === 0;
  const as = async (bin: string, args: string[]) =>
    asRoot ? run("runuser", ["-u", "postgres", "--", path.join(PG15_BIN, bin), ...args]) : run(path.join(PG15_BIN, bin), args);
  const dir = await mkdtemp(path.join(tmpdir(), "liventix-pg15-"));
  if (asRoot) {
    const [uid, gid] = await Promise.all([run("id", ["-u", "postgres"]), run("id", ["-g", "postgres"])]);
    await chown(dir, Number(uid.stdout), Number(gid.stdout));
  }
  await chmod(dir, 0o700);
  const data = path.join(dir, "data");
  const port = await freePort();
  const superuser = options.superuser ?? "postgres";
  const extra = Object.entries(options.settings ?? {}).map(([k, v]) => `-c ${k}=${v}`);
  try {
    await as("initdb", ["-D", data, "-U", superuser, "--auth=trust", "--locale=C", "--encoding=UTF8"]);
    await as("pg_ctl", [
      "-D",
      data,
      "-l",
      path.join(dir, "log"),
      "-w",
      "-t",
      "60",
      "-o",
      [`-p ${port}`, "-c listen_addresses=127.0.0.1", `-k ${dir}`, "-c fsync=off", ...extra].join(" "),
      "start",
    ]);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    dir,
    url: (user = superuser, database = "postgres", password?: string) =>
      `postgresql://${user}${password ? `:${password}` : ""}@127.0.0.1:${port}/${database}`,
    async stop() {
      await as("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
