// pg_stat_statements for the reservation functions: reset before a scenario so the numbers are that
// scenario's alone, read after it. The extension is optional: when it is missing the report says how to
// enable it instead of failing the run.
import type pg from "pg";

interface StatementStat {
  query: string;
  calls: number;
  meanMs: number;
  maxMs: number;
  stddevMs: number;
  totalMs: number;
}

export interface StatStatements {
  available: boolean;
  note: string | null;
  rows: StatementStat[];
}

/** The calls the lab issues: what a slow reserve or payment shows up under. */
const WATCHED = ["try_reserve", "checkout_holds", "complete_payment", "cleanup_expired_holds"];

async function extensionSchema(client: pg.Client): Promise<string | null> {
  const r = await client.query<{ schema: string }>(
    "SELECT extnamespace::regnamespace::text AS schema FROM pg_extension WHERE extname = 'pg_stat_statements'",
  );
  return r.rows[0]?.schema ?? null;
}

const MISSING_NOTE = "pg_stat_statements is not installed: add it to shared_preload_libraries and run CREATE EXTENSION pg_stat_statements";

export async function resetStatStatements(client: pg.Client): Promise<string | null> {
  const schema = await extensionSchema(client);
  if (!schema) return MISSING_NOTE;
  try {
    await client.query(`SELECT ${schema}.pg_stat_statements_reset()`);
    return null;
  } catch (err) {
    return `pg_stat_statements could not be reset (${(err as Error).message}); numbers include earlier activity`;
  }
}

export async function readStatStatements(client: pg.Client, resetNote: string | null = null): Promise<StatStatements> {
  const schema = await extensionSchema(client);
  if (!schema) return { available: false, note: MISSING_NOTE, rows: [] };
  try {
    const r = await client.query<{ query: string; calls: string; mean: number; max: number; stddev: number; total: number }>(
      `SELECT regexp_replace(query, '\\s+', ' ', 'g') AS query, calls, mean_exec_time AS mean, max_exec_time AS max,
              stddev_exec_time AS stddev, total_exec_time AS total
         FROM ${schema}.pg_stat_statements
        WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND query ~ $1
        ORDER BY total_exec_time DESC LIMIT 10`,
      [`(${WATCHED.join("|")})\\(`],
    );
    return {
      available: true,
      note: resetNote,
      rows: r.rows.map((row) => ({
        query: row.query.length > 120 ? `${row.query.slice(0, 117)}...` : row.query,
        calls: Number(row.calls),
        meanMs: round(row.mean),
        maxMs: round(row.max),
        stddevMs: round(row.stddev),
        totalMs: round(row.total),
      })),
    };
  } catch (err) {
    return { available: false, note: `pg_stat_statements could not be read: ${(err as Error).message}`, rows: [] };
  }
}

export function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
