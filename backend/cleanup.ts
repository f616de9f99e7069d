// Expired holds must give their seats back even when nobody calls cleanup: on Supabase pg_cron does it,
// here a timer does, unless the database already has the pg_cron job (then two cleaners would only race).
// Either way every tick ends in the cleanup report: a failed run, or a tier the cleanup had to repair, is
// logged as a warning (once per cause), so that a stopped cleanup never leaks seats in silence.
import pg from "pg";
import { createCleanupReporter, type CleanupFailure, type CleanupObservation } from "./cleanup-report.ts";
import {
  cleanupJobProblem,
  cleanupJobRuns,
  countRepairs,
  findCleanupJob,
  readRepairs,
  stuckTiers,
  type CronJob,
  type Queryable,
} from "./hold-expiry-sql.ts";

export interface CleanupTimer {
  /** "pg_cron" when the database schedules the job itself, "timer" when this process does. */
  mode: "pg_cron" | "timer";
  stop(): Promise<void>;
}

export interface CleanupOptions {
  /** The cleanup runs on its own connection: at READ COMMITTED as pg_cron would, with PostgreSQL's own error text. */
  databaseUrl: string;
  intervalMs: number;
  /** Bucketed tiers' counters are settled on the first tick at least this long after the previous settle (timer mode). */
  settleIntervalMs: number;
  /** Idempotency-Key outcomes older than this are deleted on each tick (timer mode). */
  idempotencyTtlSeconds: number;
  /** Bound of the wait for a connection, as for requests. */
  connectTimeoutMs: number;
  log: (line: string) => void;
}

const REPAIRS_PER_TICK = 100;
const STUCK_TIERS_LISTED = 6;
// Bucketed tiers' counters, settled from their buckets every settleIntervalMs (pg_cron's job
// 'liventix-settle-tier-counters' does it every minute where the database schedules the cleanup itself).
const SETTLE_TIER_COUNTERS = "SELECT public.settle_tier_counters()";
// Stored Idempotency-Key outcomes are only needed while clients may still retry; past the TTL a key is free
// again and a request reusing it runs afresh.
const EXPIRE_IDEMPOTENCY_KEYS = "SELECT public.cleanup_idempotency_keys(make_interval(secs => $1::int))";
// No client waits on the timer, and the requests' 2 s would never clear a backlog: expiring 200,000 holds
// took 6 s on a 2-core machine (durable). A frozen database holds this connection this long at most.
const BACKGROUND_STATEMENT_TIMEOUT_MS = 60_000;
const BACKGROUND_QUERY_TIMEOUT_MS = 65_000;

function pgFailure(err: unknown): CleanupFailure {
  const e = err as { message?: string; code?: string; detail?: string };
  const cause = `${e.message ?? String(err)}${e.code ? ` (SQLSTATE ${e.code})` : ""}`;
  return { cause, text: e.detail ? `${cause}; ${e.detail}` : cause };
}

/** Timer mode: run the cleanup; pg_cron mode: judge the job's latest runs. */
async function runOrReadCleanup(
  client: Queryable,
  mode: CleanupTimer["mode"],
  idempotencyTtlSeconds: number,
  settle: boolean,
): Promise<CleanupFailure | null | undefined> {
  if (mode === "timer") {
    try {
      await client.query("SELECT public.cleanup_expired_holds()");
      // Its own transaction: a settle waits for reservations in flight, and must not hold the expired holds meanwhile.
      if (settle) await client.query(SETTLE_TIER_COUNTERS);
      await client.query(EXPIRE_IDEMPOTENCY_KEYS, [idempotencyTtlSeconds]);
      return null;
    } catch (err) {
      return pgFailure(err);
    }
  }
  const job = await findCleanupJob(client);
  if (!job) {
    const gone = "the job is gone, so nothing expires holds: apply the migrations again to schedule it";
    return { cause: gone, text: gone };
  }
  return cleanupJobProblem(job, await cleanupJobRuns(client, job.jobid, 1));
}

export async function startCleanup(options: CleanupOptions): Promise<CleanupTimer> {
  const pool = new pg.Pool({
    connectionString: options.databaseUrl,
    max: 1,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: options.connectTimeoutMs,
    statement_timeout: BACKGROUND_STATEMENT_TIMEOUT_MS,
    query_timeout: BACKGROUND_QUERY_TIMEOUT_MS,
    keepAlive: true,
    application_name: "liventix-target-cleanup",
  });
  // A connection that dies emits "error" on its client (idle: on the pool); unhandled, it ends the process.
  pool.on("error", () => undefined);
  pool.on("connect", (client) => client.on("error", () => undefined));
  let job: CronJob | null;
  let seenRepair: number;
  try {
    job = await findCleanupJob(pool);
    // Repairs made before this process started are history (npm run readiness lists them); watch for new ones.
    seenRepair = (await countRepairs(pool)).lastId;
  } catch (err) {
    await pool.end();
    throw err;
  }
  // Only an active job expires anything; an inactive one leaves the work to this process.
  const mode = job?.active ? "pg_cron" : "timer";
  const report = createCleanupReporter(
    options.log,
    job?.active ? `the pg_cron job "${job.jobname ?? job.jobid}"` : "hold cleanup (cleanup_expired_holds)",
  );

  let lastSettle = Date.now();
  const observe = async (): Promise<CleanupObservation> => {
    try {
      const settle = Date.now() - lastSettle >= options.settleIntervalMs;
      if (settle) lastSettle = Date.now();
      const failure = await runOrReadCleanup(pool, mode, options.idempotencyTtlSeconds, settle);
      const repairs = await readRepairs(pool, { afterId: seenRepair, limit: REPAIRS_PER_TICK });
      seenRepair = repairs.at(-1)?.id ?? seenRepair;
      const stuck = failure && report.isNewFailure(failure) ? await stuckTiers(pool, 0, STUCK_TIERS_LISTED) : [];
      return { failure, repairs, stuck };
    } catch (err) {
      // The database itself is unreachable (restarting, overloaded): that is the failure to report.
      return { failure: pgFailure(err), repairs: [] };
    }
  };

  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const tick = () => {
    running = observe()
      .then((observation) => report.record(observation))
      .then(() => {
        if (!stopped) timer = setTimeout(tick, options.intervalMs);
      });
  };
  timer = setTimeout(tick, options.intervalMs);
  return {
    mode,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
      await pool.end();
    },
  };
}
