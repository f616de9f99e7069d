// What the database knows about hold expiry, read the same way by the target's cleanup watch, `npm run
// readiness` and `npm run db-stats`: the pg_cron job and its recorded runs, the repairs the cleanup made
// (public.hold_cleanup_repairs) and the tiers whose holds are past their expiry.
import type pg from "pg";
import type { CleanupFailure } from "./cleanup-report.ts";

/** A pg.Client or pg.Pool. */
export type Queryable = Pick<pg.ClientBase, "query">;

export const CLEANUP_JOB_NAME = "liventix-cleanup-expired-holds";
/** The job that expires holds, whatever it was named (the Liventix Advanced Load Testing Guide names it "cleanup-expired-holds"). */
const CLEANUP_JOB = "command ILIKE '%cleanup_expired_holds%'";

export interface CronJob {
  jobid: number;
  jobname: string | null;
  schedule: string;
  active: boolean;
}

export interface CronRun {
  runid: number;
  status: string;
  /** The error of a failed run: its first line, without pg_cron's "ERROR:" prefix. */
  message: string;
  /** PostgreSQL's DETAIL line of that error, if any (the failing row of a CHECK violation). */
  detail: string;
  start: Date | null;
  end: Date | null;
  /** Seconds from the run's start to now, by the database's clock. */
  ageSeconds: number | null;
}

/** A job that has not succeeded for this many of its intervals has stopped giving seats back. */
export const MISSED_INTERVALS = 3;

/**
 * Seconds between runs, for the schedules a cleanup job has ("* * * * *", "*\/5 * * * *", "17 * * * *",
 * pg_cron's "30 seconds"); anything else is judged as hourly.
 */
export function cronIntervalSeconds(schedule: string): number {
  const text = schedule.trim();
  const seconds = /^(\d+) seconds?$/.exec(text);
  if (seconds) return Number(seconds[1]);
  const [minute, ...rest] = text.split(/\s+/);
  if (rest.length !== 4 || rest.some((field) => field !== "*")) return 3600;
  if (minute === "*") return 60;
  const step = /^\*\/(\d+)$/.exec(minute ?? "");
  return step ? 60 * Number(step[1]) : 3600;
}

/**
 * What is wrong with the cleanup job, judged from its latest runs (newest first): `cause` stays the same
 * while the job keeps failing the same way, `text` adds the detail. null when its latest run succeeded
 * recently, undefined when there is nothing to judge yet (no finished run recorded).
 */
export function cleanupJobProblem(job: CronJob, runs: CronRun[]): CleanupFailure | null | undefined {
  const plain = (cause: string): CleanupFailure => ({ cause, text: cause });
  if (!job.active) return plain(`the pg_cron job ${job.jobid} is inactive: nothing expires holds`);
  const finished = runs.filter((r) => r.status === "succeeded" || r.status === "failed");
  const last = finished[0];
  if (!last) return undefined;
  if (last.status === "failed") {
    const cause = last.message || "failed without a message";
    return { cause, text: last.detail ? `${cause}; ${last.detail}` : cause };
  }
  const interval = cronIntervalSeconds(job.schedule);
  if (last.ageSeconds !== null && last.ageSeconds > MISSED_INTERVALS * interval) {
    return plain(
      `no run since ${last.start?.toISOString() ?? "?"} although it is scheduled "${job.schedule}": pg_cron only runs ` +
        "jobs of the database named by cron.database_name, and only while its scheduler runs",
    );
  }
  return null;
}

export interface Repair {
  id: number;
  repairedAt: Date;
  tierId: string;
  eventId: string;
  total: number;
  sold: number;
  reservedBefore: number;
  expiredQuantity: number;
  activeHoldQuantity: number;
  reservedAfter: number;
  /** The repaired bucket of a bucketed tier (the numbers are then the bucket's); absent or null: the tier row. */
  bucketNo?: number | null;
  /** The application_name of the session that ran the cleanup (pg_cron's is "pg_cron"). */
  repairedBy: string;
}

export interface StuckTier {
  tierId: string;
  holds: number;
  seats: number;
  oldestExpiry: Date;
}

/** True when pg_cron's tables are readable here (the extension lives in this database). */
async function cronInstalled(db: Queryable): Promise<boolean> {
  // A query naming cron.job does not even parse where pg_cron is absent, hence the catalog look first.
  const r = await db.query<{ present: boolean }>("SELECT to_regclass('cron.job') IS NOT NULL AS present");
  return r.rows[0]?.present ?? false;
}

/** The hold-cleanup job (an active one first); null without pg_cron or without such a job. */
export async function findCleanupJob(db: Queryable): Promise<CronJob | null> {
  if (!(await cronInstalled(db))) return null;
  const r = await db.query<CronJob>(
    `SELECT jobid::int AS jobid, jobname, schedule, active FROM cron.job WHERE ${CLEANUP_JOB} ORDER BY active DESC, jobid LIMIT 1`,
  );
  return r.rows[0] ?? null;
}

/** The job's latest recorded runs, newest first (a backward scan of the run id index, cheap on any history). */
export async function cleanupJobRuns(db: Queryable, jobid: number, limit: number): Promise<CronRun[]> {
  const r = await db.query<{
    runid: string;
    status: string | null;
    return_message: string | null;
    start_time: Date | null;
    end_time: Date | null;
    age: number | null;
  }>(
    `SELECT runid, status, return_message, start_time, end_time, extract(epoch FROM now() - start_time)::float8 AS age
       FROM cron.job_run_details WHERE jobid = $1 ORDER BY runid DESC LIMIT $2`,
    [jobid, limit],
  );
  return r.rows.map((row) => ({
    runid: Number(row.runid),
    status: row.status ?? "unknown",
    // libpq-mode runs record the whole error report: "ERROR:  msg\nDETAIL:  ...\nCONTEXT:  ...".
    message: (row.return_message ?? "")
      .split("\n")[0]!
      .replace(/^ERROR:\s+/, "")
      .trim(),
    detail: /^DETAIL:\s+(.*)$/m.exec(row.return_message ?? "")?.[1]?.trim() ?? "",
    start: row.start_time,
    end: row.end_time,
    ageSeconds: row.age,
  }));
}

export async function repairsTableExists(db: Queryable): Promise<boolean> {
  const r = await db.query<{ present: boolean }>("SELECT to_regclass('public.hold_cleanup_repairs') IS NOT NULL AS present");
  return r.rows[0]?.present ?? false;
}

/** Repairs with an id above `afterId`, oldest first; or, with `newest`, the latest ones, newest first. */
export async function readRepairs(db: Queryable, options: { afterId?: number; newest?: boolean; limit: number }): Promise<Repair[]> {
  const r = await db.query<Record<string, string | Date>>(
    // bucket_no through to_jsonb: a database without inventory buckets has no such column.
    `SELECT id, repaired_at, tier_id, event_id, total_quantity, sold_quantity, reserved_before, expired_quantity,
            active_hold_quantity, reserved_after, application_name, to_jsonb(hold_cleanup_repairs) ->> 'bucket_no' AS bucket_no
       FROM public.hold_cleanup_repairs WHERE id > $1 ORDER BY id ${options.newest ? "DESC" : "ASC"} LIMIT $2`,
    [options.afterId ?? 0, options.limit],
  );
  return r.rows.map((row) => ({
    id: Number(row.id),
    repairedAt: row.repaired_at as Date,
    tierId: String(row.tier_id),
    eventId: String(row.event_id),
    total: Number(row.total_quantity),
    sold: Number(row.sold_quantity),
    reservedBefore: Number(row.reserved_before),
    expiredQuantity: Number(row.expired_quantity),
    activeHoldQuantity: Number(row.active_hold_quantity),
    reservedAfter: Number(row.reserved_after),
    repairedBy: String(row.application_name),
    bucketNo: row.bucket_no === null || row.bucket_no === undefined ? null : Number(row.bucket_no),
  }));
}

export async function countRepairs(db: Queryable): Promise<{ count: number; lastId: number }> {
  const r = await db.query<{ n: string; last: string | null }>("SELECT count(*) AS n, max(id) AS last FROM public.hold_cleanup_repairs");
  return { count: Number(r.rows[0]?.n ?? 0), lastId: Number(r.rows[0]?.last ?? 0) };
}

/** Tiers holding the most seats in holds at least `graceSeconds` past their expiry (idx_ticket_holds_expiry). */
export async function stuckTiers(db: Queryable, graceSeconds: number, limit: number): Promise<StuckTier[]> {
  const r = await db.query<{ tier_id: string; holds: string; seats: string; oldest: Date }>(
    `SELECT tier_id, count(*) AS holds, sum(quantity) AS seats, min(expires_at) AS oldest FROM public.ticket_holds
      WHERE status = 'active' AND expires_at < now() - make_interval(secs => $1)
      GROUP BY tier_id ORDER BY sum(quantity) DESC, tier_id LIMIT $2`,
    [graceSeconds, limit],
  );
  return r.rows.map((row) => ({ tierId: row.tier_id, holds: Number(row.holds), seats: Number(row.seats), oldestExpiry: row.oldest }));
}

/** "tier <id> (event <id>): reserved 0 but 3 seats expiring, 0 seats still held -> reserved 0" */
export function describeRepair(r: Repair): string {
  return (
    `tier ${r.tierId}${r.bucketNo == null ? "" : ` bucket ${r.bucketNo}`} (event ${r.eventId}, total ${r.total}, sold ${r.sold}): reserved ${r.reservedBefore} but ` +
    `${r.expiredQuantity} seats expiring, ${r.activeHoldQuantity} seats still held -> reserved ${r.reservedAfter}` +
    ` (by ${r.repairedBy || "a session without application_name"})`
  );
}

export function describeStuckTier(t: StuckTier): string {
  return `tier ${t.tierId}: ${t.holds} holds (${t.seats} seats) past expiry since ${t.oldestExpiry.toISOString()}`;
}
