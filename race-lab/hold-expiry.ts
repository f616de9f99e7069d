// Is hold expiry working on this database? The cleanup job and its recorded runs (pg_cron), the holds
// left active past their expiry, and the repairs the cleanup had to make. `npm run readiness` judges it,
// `npm run db-stats` shows it.
import type pg from "pg";
import {
  cleanupJobRuns,
  countRepairs,
  cronIntervalSeconds,
  findCleanupJob,
  MISSED_INTERVALS,
  readRepairs,
  repairsTableExists,
  stuckTiers,
  type CronJob,
  type CronRun,
  type Repair,
  type StuckTier,
} from "../backend/hold-expiry-sql.ts";
import { renderTable } from "./table.ts";

/** Runs read to find the latest success: 200 minutes of a per-minute job. */
const RUN_HISTORY = 200;
/** Without pg_cron the runner is unknown (the target's timer runs every 10 s): judged as once a minute. */
const APP_INTERVAL_SECONDS = 60;

interface CronState {
  job: CronJob | null;
  /** Newest first. */
  runs: CronRun[];
  /** cron.log_run: without it pg_cron records no runs. */
  logRun: boolean;
  databaseName: string | null;
}

export interface HoldExpiryState {
  /** cleanup_expired_holds() is the drift-proof one of 20261201000100_hold_expiry.sql and its repair log exists. */
  migrated: boolean;
  /** null where pg_cron is not installed in this database. */
  cron: CronState | null;
  /** Seconds between cleanup runs: the job's schedule, or once a minute for a cleanup outside the database. */
  intervalSeconds: number;
  /** Active holds further than this past their expiry are overdue. */
  graceSeconds: number;
  overdue: { holds: number; seats: number; oldestSeconds: number | null; tiers: StuckTier[] } | null;
  repairs: { count: number; latest: Repair[] } | null;
}

async function readCron(client: pg.Client): Promise<CronState | null> {
  const installed = await client.query("SELECT 1 FROM pg_extension WHERE extname = 'pg_cron'");
  if (!installed.rowCount) return null;
  const job = await findCleanupJob(client);
  const settings = await client.query<{ log_run: string | null; database_name: string | null }>(
    "SELECT current_setting('cron.log_run', true) AS log_run, current_setting('cron.database_name', true) AS database_name",
  );
  return {
    job,
    runs: job ? await cleanupJobRuns(client, job.jobid, RUN_HISTORY) : [],
    logRun: settings.rows[0]?.log_run !== "off",
    databaseName: settings.rows[0]?.database_name ?? null,
  };
}

async function readOverdue(client: pg.Client, graceSeconds: number): Promise<HoldExpiryState["overdue"]> {
  const table = await client.query<{ present: boolean }>("SELECT to_regclass('public.ticket_holds') IS NOT NULL AS present");
  if (!table.rows[0]?.present) return null;
  const r = await client.query<{ holds: string; seats: string; oldest: number | null }>(
    `SELECT count(*) AS holds, coalesce(sum(quantity), 0) AS seats, extract(epoch FROM now() - min(expires_at))::float8 AS oldest
       FROM public.ticket_holds WHERE status = 'active' AND expires_at < now() - make_interval(secs => $1)`,
    [graceSeconds],
  );
  const row = r.rows[0]!;
  const holds = Number(row.holds);
  return { holds, seats: Number(row.seats), oldestSeconds: row.oldest, tiers: holds ? await stuckTiers(client, graceSeconds, 5) : [] };
}

export async function readHoldExpiry(client: pg.Client): Promise<HoldExpiryState> {
  const cron = await readCron(client);
  const intervalSeconds = cron?.job ? cronIntervalSeconds(cron.job.schedule) : APP_INTERVAL_SECONDS;
  const graceSeconds = MISSED_INTERVALS * intervalSeconds;
  const hasTable = await repairsTableExists(client);
  const fn = await client.query<{ current: boolean }>(
    "SELECT prosrc LIKE '%hold_cleanup_repairs%' AS current FROM pg_proc WHERE oid = to_regprocedure('public.cleanup_expired_holds()')",
  );
  return {
    migrated: hasTable && (fn.rows[0]?.current ?? false),
    cron,
    intervalSeconds,
    graceSeconds,
    overdue: await readOverdue(client, graceSeconds),
    repairs: hasTable ? { count: (await countRepairs(client)).count, latest: await readRepairs(client, { newest: true, limit: 5 }) } : null,
  };
}

/** "95 s", "200 s", "3 min", "12 min", "3.0 h": seconds below 10 minutes unless whole minutes (a limit). */
export function ago(seconds: number | null): string {
  if (seconds === null) return "-";
  if (seconds < 600 && Math.round(seconds) % 60 !== 0) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function describeRunner(state: HoldExpiryState): string {
  const job = state.cron?.job;
  if (job) return `pg_cron job ${job.jobid} "${job.jobname ?? ""}" every "${job.schedule}"${job.active ? "" : " (INACTIVE)"}`;
  if (state.cron) return "pg_cron is installed but schedules no cleanup_expired_holds() job";
  return "no pg_cron here: the embedded target's timer (TARGET_CLEANUP_INTERVAL_MS) or your own worker must run cleanup_expired_holds()";
}

export function describeOverdue(state: HoldExpiryState): string {
  const o = state.overdue;
  if (!o) return "no ticket_holds table";
  if (o.holds === 0) return `no active hold is more than ${ago(state.graceSeconds)} past its expiry`;
  return `${o.holds} active holds (${o.seats} seats) more than ${ago(state.graceSeconds)} past expiry, oldest ${ago(o.oldestSeconds)} past`;
}

/** The HOLD EXPIRY section of `npm run db-stats`. */
export function formatHoldExpiry(state: HoldExpiryState, runsShown = 5): string {
  const lines = [
    "hold expiry",
    `  cleanup: ${describeRunner(state)}`,
    `  overdue: ${describeOverdue(state)}`,
    ...(state.overdue?.tiers.map((t) => `    tier ${t.tierId}: ${t.holds} holds, ${t.seats} seats`) ?? []),
    `  repairs: ${
      state.repairs
        ? `${state.repairs.count} recorded in public.hold_cleanup_repairs${state.repairs.latest[0] ? `, latest at ${state.repairs.latest[0].repairedAt.toISOString()}` : ""}`
        : "no repair log: apply supabase/migrations/20261201000100_hold_expiry.sql"
    }`,
  ];
  const runs = state.cron?.runs.slice(0, runsShown) ?? [];
  if (state.cron?.job) {
    lines.push(
      runs.length
        ? renderTable(
            ["last runs (started)", "took", "status", "message"],
            runs.map((r) => [
              r.start?.toISOString() ?? "-",
              r.start && r.end ? `${r.end.getTime() - r.start.getTime()} ms` : "-",
              r.status,
              r.message.length > 100 ? `${r.message.slice(0, 97)}...` : r.message,
            ]),
          )
        : `  no run recorded${state.cron.logRun ? "" : " (cron.log_run is off)"}`,
    );
  }
  return lines.join("\n");
}
