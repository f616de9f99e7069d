// Starts the embedded default target: a migrated PostgreSQL (embedded, or DATABASE_URL), the
// Supabase-shaped HTTP API on 127.0.0.1, and the hold-cleanup timer; `stop()` undoes all of it.
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { createAdaptorServer } from "@hono/node-server";
import type { Hono } from "hono";
import { createApp } from "./app.ts";
import { signKey } from "./auth.ts";
import { startCleanup } from "./cleanup.ts";
import { configFromEnv, type Isolation } from "./config.ts";
import { redactText } from "../lib/redact.ts";
import { openDatabase } from "./database.ts";
import { isConnectionFailure } from "./http-errors.ts";
import { createDb, type Db } from "./db.ts";

export interface TargetOptions {
  /** HTTP port; 0 picks a free one. Default TARGET_PORT or 54321. */
  port?: number;
  /** Embedded PostgreSQL port; 0 picks a free one. Default TARGET_DB_PORT or 54322, or 0 when the `port` option is 0. */
  dbPort?: number;
  databaseUrl?: string;
  isolation?: Isolation;
  poolSize?: number;
  poolTimeoutMs?: number;
  maxRetries?: number;
  cleanupIntervalMs?: number;
  /** Embedded server without fsync (tests, benchmarks). */
  fast?: boolean;
  /** Embedded data folder; omitted: a temporary one removed on stop. */
  dataDir?: string;
  /** Environment to read defaults from (tests pass their own). */
  env?: NodeJS.ProcessEnv;
  onLog?: (line: string) => void;
}

export interface Target {
  url: string;
  /** Has the password: never print it except where the user asked for it. */
  databaseUrl: string;
  /** True when DATABASE_URL named the database and no embedded server was started. */
  databaseExternal: boolean;
  anonKey: string;
  serviceRoleKey: string;
  webhookSecret: string;
  isolation: Isolation;
  cleanup: "pg_cron" | "timer";
  /** Server-side 40001/40P01 retries and exhausted retries so far. */
  retryStats(): { retries: number; exhausted: number };
  stop(): Promise<void>;
}

async function ensureExtensions(db: Db, log: (line: string) => void): Promise<void> {
  await db.transaction("CREATE EXTENSION IF NOT EXISTS pgcrypto");
  try {
    await db.transaction("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
  } catch {
    log("pg_stat_statements is not available on this server: `npm run db-stats` will have no statement statistics");
  }
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      reject(
        err.code === "EADDRINUSE"
          ? new Error(`port ${port} on 127.0.0.1 is already in use: stop what runs there or set TARGET_PORT to a free port`)
          : err,
      );
    });
    server.listen(port, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
}

export async function startTarget(opts: TargetOptions = {}): Promise<Target> {
  const env = configFromEnv(opts.env ?? process.env);
  const log = opts.onLog ?? (() => undefined);
  const port = opts.port ?? env.port;
  const isolation = opts.isolation ?? env.isolation;
  const databaseUrl = opts.databaseUrl ?? env.databaseUrl;
  const database = await openDatabase({
    databaseUrl,
    dataDir: opts.dataDir,
    port: opts.dbPort ?? (opts.port === 0 ? 0 : env.dbPort),
    fast: opts.fast,
  }).catch((err: unknown) => {
    if (databaseUrl && isConnectionFailure(err)) {
      throw new Error(
        `cannot reach the database in DATABASE_URL (${redactText(databaseUrl)}): ${(err as Error).message}; ` +
          "check that it is running, or unset DATABASE_URL to use the embedded PostgreSQL",
      );
    }
    throw err;
  });
  const db = createDb({
    databaseUrl: database.url,
    isolation,
    poolSize: opts.poolSize ?? env.poolSize,
    poolTimeoutMs: opts.poolTimeoutMs ?? env.poolTimeoutMs,
    maxRetries: opts.maxRetries ?? env.maxRetries,
  });
  const undo: (() => Promise<void>)[] = [() => database.stop(), () => db.end()];
  const stop = async () => {
    for (const step of undo.splice(0).reverse()) await step().catch(() => undefined);
  };
  try {
    await ensureExtensions(db, log);
    const cleanup = await startCleanup({
      databaseUrl: database.url,
      intervalMs: opts.cleanupIntervalMs ?? env.cleanupIntervalMs,
      log,
    });
    undo.push(() => cleanup.stop());

    // session_url must name the port actually bound, so the app is built once the server listens;
    // no request can be handled before that (the first one needs another turn of the event loop).
    let app: Hono | undefined;
    const server = createAdaptorServer({ fetch: (req, bindings) => app!.fetch(req, bindings) }) as Server;
    const publicUrl = `http://127.0.0.1:${await listen(server, port)}`;
    undo.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    app = createApp({
      db,
      isolation,
      jwtSecret: env.jwtSecret,
      webhookSecret: env.webhookSecret,
      publicUrl,
      onUnexpected: (err) => log(`unexpected error answered as 500: ${(err as Error).message}`),
    });
    return {
      url: publicUrl,
      databaseUrl: database.url,
      databaseExternal: database.external,
      anonKey: signKey(env.jwtSecret, "anon"),
      serviceRoleKey: signKey(env.jwtSecret, "service_role"),
      webhookSecret: env.webhookSecret,
      isolation,
      cleanup: cleanup.mode,
      retryStats: () => db.stats(),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
