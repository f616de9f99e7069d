// Expired holds must give their seats back even when nobody calls cleanup: on Supabase pg_cron does it,
// here a timer does, unless the database already has the pg_cron job (then two cleaners would only race).
import type { Bounds, Db } from "./db.ts";

export interface CleanupTimer {
  /** "pg_cron" when the database schedules the job itself, "timer" when this process does. */
  mode: "pg_cron" | "timer";
  stop(): Promise<void>;
}

async function cronJobScheduled(db: Db): Promise<boolean> {
  // Two statements: a query naming cron.job does not even parse where pg_cron is absent.
  const [cron] = await db.transaction<{ present: boolean }>("SELECT to_regclass('cron.job') IS NOT NULL AS present");
  if (!cron?.present) return false;
  const [job] = await db.transaction<{ scheduled: boolean }>(
    "SELECT EXISTS (SELECT 1 FROM cron.job WHERE command ILIKE '%cleanup_expired_holds%') AS scheduled",
  );
  return job?.scheduled ?? false;
}

// Stored Idempotency-Key outcomes are only needed while clients may still retry; past the TTL a key is free
// again and a request reusing it runs afresh.
const EXPIRE_IDEMPOTENCY_KEYS = "SELECT public.cleanup_idempotency_keys(make_interval(secs => $1::int))";
// No client waits on the timer, and the requests' 2 s would never clear a backlog: expiring 200,000 holds
// took 6 s on the development machine (durable). A frozen database holds one connection this long at most.
const BACKGROUND: Bounds = { statementTimeoutMs: 60_000, queryTimeoutMs: 65_000 };

export async function startCleanup(db: Db, intervalMs: number, idempotencyTtlSeconds: number): Promise<CleanupTimer> {
  if (await cronJobScheduled(db)) return { mode: "pg_cron", stop: async () => undefined };
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const tick = () => {
    // A failed run (database restarting) is simply tried again next time.
    running = db
      .transaction("SELECT public.cleanup_expired_holds()", [], BACKGROUND)
      .then(() => undefined, () => undefined)
      .then(() => db.transaction(EXPIRE_IDEMPOTENCY_KEYS, [idempotencyTtlSeconds], BACKGROUND).then(() => undefined, () => undefined))
      .then(() => {
        if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  };
  timer = setTimeout(tick, intervalMs);
  return {
    mode: "timer",
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
