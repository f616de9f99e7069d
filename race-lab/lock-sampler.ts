// Lock waits are invisible after the fact, so they are sampled from pg_stat_activity while pgbench runs:
// how many backends of this database wait on a lock at once, on what, and for how long at most.
import pg from "pg";
import { setTimeout as delay } from "node:timers/promises";
import { round } from "./stat-statements.ts";

export interface LockWaits {
  samples: number;
  intervalMs: number;
  /** Most backends seen waiting on a lock in one sample. */
  maxWaiting: number;
  meanWaiting: number;
  /** Longest single wait observed (time since the waiting query started). */
  longestWaitMs: number;
  /** wait_event (tuple, transactionid, relation, ...) -> backend-samples seen waiting on it. */
  byEvent: Record<string, number>;
  /** Why sampling stopped early, if it did. */
  note: string | null;
}

export interface LockSampler {
  stop(): Promise<LockWaits>;
}

export async function startLockSampler(databaseUrl: string, intervalMs = 100): Promise<LockSampler> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: "liventix-race-lab-sampler" });
  await client.connect();
  const waits: LockWaits = { samples: 0, intervalMs, maxWaiting: 0, meanWaiting: 0, longestWaitMs: 0, byEvent: {}, note: null };
  let total = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const r = await client
        .query<{ wait_event: string; n: string; longest_ms: number }>(
          `SELECT wait_event, count(*) AS n,
                max(extract(epoch FROM clock_timestamp() - query_start) * 1000)::float8 AS longest_ms
           FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'
          GROUP BY wait_event`,
        )
        .catch((err: Error) => {
          waits.note = `lock sampling stopped: ${err.message}`;
          running = false;
          return { rows: [] };
        });
      if (!running) break;
      const waiting = r.rows.reduce((s, row) => s + Number(row.n), 0);
      waits.samples += 1;
      total += waiting;
      waits.maxWaiting = Math.max(waits.maxWaiting, waiting);
      for (const row of r.rows) {
        waits.byEvent[row.wait_event] = (waits.byEvent[row.wait_event] ?? 0) + Number(row.n);
        waits.longestWaitMs = Math.max(waits.longestWaitMs, round(row.longest_ms, 1));
      }
      if (running) await delay(intervalMs);
    }
  })();
  return {
    async stop() {
      running = false;
      try {
        await loop;
      } finally {
        await client.end();
      }
      waits.meanWaiting = waits.samples ? round(total / waits.samples, 2) : 0;
      return waits;
    },
  };
}
