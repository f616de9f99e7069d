// The target's only way to PostgreSQL: a bounded pool, one transaction per request at the configured
// isolation, and server-side retries of 40001/40P01 with jittered exponential backoff, so that a
// SERIALIZABLE target answers conflicts itself and only a conflict that outlives the retries is a 503.
//
// A request is ONE round trip: the connection runs in pg's pipeline mode, so BEGIN (with the isolation
// level and the transaction's bounds), the statement (values as bind parameters) and COMMIT are all
// written at once, without waiting for each answer. Sent as three round trips, the hot tier row's lock
// (taken inside the statement) stays held until Node gets round to sending COMMIT; with 50 clients on
// 2 busy cores that wait is event-loop lag, and the tier serialises on it. Measured on one tier, 50
// callers over 20 connections: three round trips 482 and 936 tx/s, one message 1,861 and 2,328. This
// pipeline against that one message (BEGIN; SET LOCAL; the statement inlined; COMMIT), side by side in
// one process on one database, A-B-B-A three times, while other work kept the 2 cores' load at 11-21:
// HTTP checkouts/s on one row 317 vs 342, over 1,024 buckets 407 vs 483; enhanced_checkout alone
// without fsync 1,217 vs 1,234 tx/s.
// Everything is per transaction (BEGIN ISOLATION LEVEL, SET LOCAL), never per session, so a
// transaction-mode pooler (Supabase's port 6543) keeps the level and the bounds too.
//
// Every wait is bounded, because a database that hangs (frozen, partitioned) never answers at all:
// the pool wait and the connect by poolTimeoutMs, every round trip by queryTimeoutMs on the client
// (the connection is then destroyed, never reused: its server side may still be running), and each
// transaction by statement_timeout / lock_timeout on the server, set below the client's bound so a
// merely slow database cancels the statement itself and the connection survives.
import pg from "pg";
import type { TargetConfig } from "./config.ts";
import { fromDatabaseError, isConnectionFailure, isRetryableConflict, serializationFailure } from "./http-errors.ts";

/** The target's settings the database layer reads (backend/config.ts documents each). */
export type DbOptions = { databaseUrl: string } & Pick<
  TargetConfig,
  "isolation" | "poolSize" | "poolTimeoutMs" | "maxRetries" | "queryTimeoutMs" | "statementTimeoutMs" | "lockTimeoutMs"
>;

/** A statement's rows and the 40001/40P01 retries it took to get them. */
interface Retried<T> {
  rows: T[];
  retries: number;
}

export interface Db {
  /** Runs one statement in its own transaction (with retries); rows, or a thrown HttpError. */
  transaction<T extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<T[]>;
  /** `transaction`, also saying how many retries it took (what a client is told in X-Serialization-Retries). */
  retried<T extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<Retried<T>>;
  /** A bare round trip, for /health; throws HttpError 503 when the database is unreachable. */
  ping(): Promise<void>;
  /** Retries spent and exhausted since start: what the SERIALIZABLE report needs. */
  stats(): { retries: number; exhausted: number };
  end(): Promise<void>;
}

/**
 * BEGIN with the level and the bounds, one fixed text per pool. The level's name is derived from
 * `Isolation` ("read_committed" → READ COMMITTED), so every level the config lists maps; the bounds are
 * numbers, so nothing but digits enters the text.
 */
function beginText(options: DbOptions): string {
  const level = options.isolation.replaceAll("_", " ").toUpperCase();
  return (
    `BEGIN ISOLATION LEVEL ${level}; ` +
    `SET LOCAL statement_timeout = ${options.statementTimeoutMs}; SET LOCAL lock_timeout = ${options.lockTimeoutMs}`
  );
}

// Backoff: full jitter over an exponential window, 5 ms doubling up to 320 ms.
function backoffMs(attempt: number): number {
  return Math.random() * Math.min(320, 5 * 2 ** attempt);
}

export function createDb(options: DbOptions): Db {
  const begin = beginText(options);
  const pool = new pg.Pool({
    connectionString: options.databaseUrl,
    max: options.poolSize,
    connectionTimeoutMillis: options.poolTimeoutMs,
    idleTimeoutMillis: 30_000,
    query_timeout: options.queryTimeoutMs,
    keepAlive: true,
    application_name: "liventix-target",
    pipeline: true,
  });
  // A connection that dies emits "error" on its client: while idle the pool handles it (and emits here),
  // while checked out nobody would, and an unhandled "error" event ends the process. The request that
  // holds it learns of the failure from its rejected query instead.
  pool.on("error", () => undefined);
  pool.on("connect", (client) => client.on("error", () => undefined));
  let retries = 0;
  let exhausted = 0;

  async function attempt<T extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<T[]> {
    const client = await pool.connect();
    let broken = false;
    try {
      // All three are on the wire before the first answer. After a failed statement the transaction is
      // aborted and PostgreSQL answers the COMMIT with a rollback: the connection comes back clean.
      const steps = [client.query(begin), client.query<T>(sql, params), client.query("COMMIT")] as const;
      const [begun, ran, committed] = await Promise.allSettled(steps);
      // The first failure is the cause; a serialization failure at COMMIT is one too.
      for (const step of [begun, ran, committed]) if (step.status === "rejected") throw step.reason;
      return (ran as PromiseFulfilledResult<pg.QueryResult<T>>).value.rows;
    } catch (err) {
      broken = isConnectionFailure(err);
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async function withRetries<T extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<Retried<T>> {
    const started = Date.now();
    for (let n = 0; ; n++) {
      try {
        return { rows: await attempt<T>(sql, params), retries: n };
      } catch (err) {
        if (!isRetryableConflict(err)) throw fromDatabaseError(err);
        // Retries stop at the count and at the round-trip bound, so that conflicts cannot stretch a request either.
        if (n >= options.maxRetries || Date.now() - started >= options.queryTimeoutMs) {
          exhausted++;
          throw serializationFailure((err as { code: string }).code, n);
        }
        retries++;
        await new Promise((resolve) => setTimeout(resolve, backoffMs(n)));
      }
    }
  }

  return {
    async transaction<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
      return (await withRetries<T>(sql, params)).rows;
    },
    retried: <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => withRetries<T>(sql, params),
    async ping(): Promise<void> {
      try {
        await pool.query("SELECT 1");
      } catch (err) {
        throw fromDatabaseError(err);
      }
    },
    stats: () => ({ retries, exhausted }),
    end: () => pool.end(),
  };
}
