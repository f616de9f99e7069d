// Starts the embedded default target: a migrated PostgreSQL (embedded, or DATABASE_URL), the
// Supabase-shaped HTTP API on 127.0.0.1, and the hold-cleanup timer; `stop()` undoes all of it.
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { createAdaptorServer } from "@hono/node-server";
import type { Hono } from "hono";
import { createApp } from "./app.ts";
import { signKey } from "./auth.ts";
import { startCleanup } from "./cleanup.ts";
import { DEFAULTS, type Isolation, type TargetConfig } from "./config.ts";
import { redactText } from "../lib/redact.ts";
import { openDatabase } from "./database.ts";
import { DatabaseUnreachableError } from "./errors.ts";
import { isConnectionFailure } from "./http-errors.ts";
import { createDb, type Db } from "./db.ts";

/**
 * Where the target lives and how it is tuned; anything left out takes its default (DEFAULTS in
 * config.ts). Nothing here is read from the environment: commands pass what they read (configFromEnv).
 */
export interface TargetOptions extends Partial<Omit<TargetConfig, "dataDir">> {
  /** Embedded data folder; omitted: a temporary one removed on stop. */
  dataDir?: string;
  /** Embedded server without fsync (tests, benchmarks). */
  fast?: boolean;
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

/** The variables a Supabase client reads (the k6 suite, `npm run verify`) to reach this target. */
export function clientEnv(target: Target): Record<string, string> {
  return {
    SUPABASE_URL: target.url,
    SUPABASE_ANON_KEY: target.anonKey,
    SUPABASE_SERVICE_ROLE_KEY: target.serviceRoleKey,
    WEBHOOK_SECRET: target.webhookSecret,
  };
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
  // An option passed as undefined means "not given": it must not blank out a default.
  const settings = { ...DEFAULTS, ...(Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as TargetOptions) };
  const log = opts.onLog ?? (() => undefined);
  const { port, isolation, databaseUrl } = settings;
  const database = await openDatabase({
    databaseUrl,
    dataDir: opts.dataDir,
    // A target on a free port gets its database on a free port too, unless told otherwise.
    port: opts.dbPort ?? (port === 0 ? 0 : DEFAULTS.dbPort),
    fast: opts.fast,
  }).catch((err: unknown) => {
    if (databaseUrl && isConnectionFailure(err)) {
      throw new DatabaseUnreachableError(
        `cannot reach the database in DATABASE_URL (${redactText(databaseUrl)}): ${(err as Error).message}; ` +
          "check that it is running, or unset DATABASE_URL to use the embedded PostgreSQL",
      );
    }
    throw err;
  });
  const db = createDb({ ...settings, databaseUrl: database.url });
  const undo: (() => Promise<void>)[] = [() => database.stop(), () => db.end()];
  const stop = async () => {
    for (const step of undo.splice(0).reverse()) await step().catch(() => undefined);
  };
  try {
    await ensureExtensions(db, log);
    const cleanup = await startCleanup({
      databaseUrl: database.url,
      intervalMs: settings.cleanupIntervalMs,
      settleIntervalMs: settings.settleIntervalMs,
      idempotencyTtlSeconds: settings.idempotencyTtlSeconds,
      connectTimeoutMs: settings.poolTimeoutMs,
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
      jwtSecret: settings.jwtSecret,
      webhookSecret: settings.webhookSecret,
      publicUrl,
      onUnexpected: (err) => log(`unexpected error answered as 500: ${(err as Error).message}`),
      // Clients that hang up mid-body are routine under load: one line each, and only when asked for.
      onClientAbort: (path) => {
        if (settings.logLevel === "debug") log(`debug: client aborted ${path} before sending its whole body`);
      },
    });
    return {
      url: publicUrl,
      databaseUrl: database.url,
      databaseExternal: database.external,
      anonKey: await signKey(settings.jwtSecret, "anon"),
      serviceRoleKey: await signKey(settings.jwtSecret, "service_role"),
      webhookSecret: settings.webhookSecret,
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
