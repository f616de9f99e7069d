// The Liventix Advanced Load Testing Guide's production-readiness checklist, read from the database's own catalogs: the indexes the hot
// paths need, the CHECK constraints that make an oversell impossible to commit, the cleanup job and whether
// it really expires holds (its recorded runs, overdue holds, repairs), retry and idempotency support,
// pg_stat_statements, and what Supabase's API roles can reach. Each item comes with the SQL that fixes it.
import type pg from "pg";
import { apiRoleItems } from "./api-roles.ts";
import { CLEANUP_JOB_NAME, describeRepair, describeStuckTier, MISSED_INTERVALS } from "../backend/hold-expiry-sql.ts";
import { ago, describeOverdue, readHoldExpiry, type HoldExpiryState } from "./hold-expiry.ts";
import { settleItem } from "./settle-readiness.ts";

type ReadinessStatus = "pass" | "fail" | "warn";

export interface ReadinessItem {
  name: string;
  status: ReadinessStatus;
  observed: string;
  /** SQL (or the step) that fixes a failing item; empty when it passes. */
  fix: string;
  required: boolean;
}

export interface ReadinessOptions {
  /** Cleanup runs outside the database (the embedded target's timer, an app worker): a missing job only warns. */
  cleanupByApp: boolean;
}

interface IndexRow {
  table: string;
  index: string;
  unique: boolean;
  columns: string[];
  definition: string;
}

const CHECKS: Record<string, string> = {
  check_no_negative_availability:
    "CHECK (sold_quantity >= 0 AND reserved_quantity >= 0 AND sold_quantity + reserved_quantity <= total_quantity)",
  check_reserved_lte_total: "CHECK (reserved_quantity <= total_quantity)",
  check_sold_lte_total: "CHECK (sold_quantity <= total_quantity)",
};

const RETRY_FUNCTIONS = ["try_reserve", "checkout_holds", "complete_payment"];

async function indexes(client: pg.Client): Promise<IndexRow[]> {
  const r = await client.query<IndexRow>(
    `SELECT c.relname AS table, i.relname AS index, ix.indisunique AS unique,
            array_agg(a.attname::text ORDER BY k.ord) AS columns, pg_get_indexdef(ix.indexrelid) AS definition
       FROM pg_index ix
       JOIN pg_class i ON i.oid = ix.indexrelid
       JOIN pg_class c ON c.oid = ix.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      CROSS JOIN LATERAL unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
      WHERE n.nspname = 'public' AND c.relname IN ('ticket_holds', 'ticket_tiers', 'idempotency_keys')
      GROUP BY c.relname, i.relname, ix.indisunique, ix.indexrelid`,
  );
  return r.rows;
}

function indexItem(all: IndexRow[], name: string, table: string, match: (ix: IndexRow) => boolean, fix: string): ReadinessItem {
  const found = all.find((ix) => ix.table === table && match(ix));
  return found
    ? { name, status: "pass", observed: describeIndex(found), fix: "", required: true }
    : { name, status: "fail", observed: `no such index on ${table}`, fix, required: true };
}

/** "name (columns) WHERE ..." without the CREATE INDEX boilerplate. */
const describeIndex = (ix: IndexRow) => `${ix.index} ${ix.definition.replace(/^.* USING \w+ /, "")}`;

const leading = (column: string) => (ix: IndexRow) => ix.columns[0] === column;

export async function auditReadiness(client: pg.Client, options: ReadinessOptions): Promise<ReadinessItem[]> {
  const idx = await indexes(client);
  const items: ReadinessItem[] = [
    indexItem(
      idx,
      "unique active hold per session and tier",
      "ticket_holds",
      (ix) => ix.unique && ix.columns.length === 2 && ix.columns.includes("session_id") && ix.columns.includes("tier_id"),
      "CREATE UNIQUE INDEX uniq_active_hold_session_tier ON public.ticket_holds (session_id, tier_id) WHERE status = 'active' AND session_id IS NOT NULL;",
    ),
    indexItem(
      idx,
      "hold tier index",
      "ticket_holds",
      leading("tier_id"),
      "CREATE INDEX idx_ticket_holds_tier_active ON public.ticket_holds (tier_id) WHERE status = 'active';",
    ),
    indexItem(
      idx,
      "hold expiry index",
      "ticket_holds",
      leading("expires_at"),
      "CREATE INDEX idx_ticket_holds_expiry ON public.ticket_holds (expires_at) WHERE status = 'active';",
    ),
    indexItem(
      idx,
      "tiers by event index",
      "ticket_tiers",
      leading("event_id"),
      "CREATE INDEX idx_ticket_tiers_event ON public.ticket_tiers (event_id);",
    ),
  ];

  const constraints = await client.query<{ conname: string; def: string }>(
    `SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
      WHERE conrelid = to_regclass('public.ticket_tiers') AND contype = 'c'`,
  );
  for (const [name, check] of Object.entries(CHECKS)) {
    const found = constraints.rows.find((c) => c.conname === name);
    items.push(
      found
        ? { name: `CHECK ${name}`, status: "pass", observed: found.def, fix: "", required: true }
        : {
            name: `CHECK ${name}`,
            status: "fail",
            observed: "missing",
            fix: `ALTER TABLE public.ticket_tiers ADD CONSTRAINT ${name} ${check};`,
            required: true,
          },
    );
  }

  const expiry = await readHoldExpiry(client);
  items.push(cleanupJobItem(expiry, options));
  const runs = cleanupRunsItem(expiry);
  if (runs) items.push(runs);
  items.push(...holdExpiryItems(expiry));
  items.push(await settleItem(client, expiry.intervalSeconds));
  items.push(await retryItem(client));
  items.push(idempotencyItem(idx));
  items.push(await statStatementsItem(client));
  items.push(...(await apiRoleItems(client)));
  return items;
}

const MIGRATION_FIX =
  "apply supabase/migrations/20261201000100_hold_expiry.sql: `supabase db push`, or run the file in the SQL editor (it is idempotent)";

function cleanupJobItem(state: HoldExpiryState, options: ReadinessOptions): ReadinessItem {
  const name = "cleanup job scheduled (pg_cron)";
  const fix = `CREATE EXTENSION IF NOT EXISTS pg_cron; SELECT cron.schedule('${CLEANUP_JOB_NAME}', '* * * * *', 'SELECT public.cleanup_expired_holds()');`;
  const job = state.cron?.job;
  if (job?.active) return { name, status: "pass", observed: `cron.job every "${job.schedule}"`, fix: "", required: true };
  if (state.cron)
    return {
      name,
      status: "fail",
      observed: job ? "job exists but is inactive" : "pg_cron installed, no cleanup job",
      fix,
      required: true,
    };
  return options.cleanupByApp
    ? {
        name,
        status: "warn",
        observed: "no pg_cron: cleanup must run outside the database (the embedded target's timer, which logs its failures)",
        fix,
        required: false,
      }
    : { name, status: "fail", observed: "pg_cron is not installed: nothing expires holds", fix, required: true };
}

/** Only where the job exists: has it succeeded within a few of its intervals (cron.job_run_details)? */
export function cleanupRunsItem(state: HoldExpiryState): ReadinessItem | null {
  const cron = state.cron;
  const job = cron?.job;
  if (!cron || !job?.active) return null;
  const name = "cleanup job succeeding (cron.job_run_details)";
  const inspect = `SELECT start_time, status, return_message FROM cron.job_run_details WHERE jobid = ${job.jobid} ORDER BY runid DESC LIMIT 5;`;
  if (!cron.logRun) {
    return {
      name,
      status: "warn",
      observed: "cron.log_run is off: pg_cron records no runs, so nobody sees a failing job",
      fix: "ALTER SYSTEM SET cron.log_run = on; -- then restart",
      required: false,
    };
  }
  const limit = MISSED_INTERVALS * state.intervalSeconds;
  const finished = cron.runs.filter((r) => r.status === "succeeded" || r.status === "failed");
  const latest = finished[0];
  if (!latest) {
    return {
      name,
      status: "fail",
      observed: "no finished run recorded",
      fix: `wait ${ago(state.intervalSeconds)} after scheduling; if still none, pg_cron is not running jobs here: it runs them only in cron.database_name (${cron.databaseName ?? "unknown"}), which must be this database`,
      required: true,
    };
  }
  // Runs that stopped altogether say nothing about success or failure: the scheduler is the problem.
  if ((latest.ageSeconds ?? 0) > limit) {
    return {
      name,
      status: "fail",
      observed: `no run for ${ago(latest.ageSeconds)} although it runs every ${ago(state.intervalSeconds)}`,
      fix: `pg_cron's scheduler is not running jobs here: it runs them only in cron.database_name (${cron.databaseName ?? "unknown"}); check the server log`,
      required: true,
    };
  }
  const success = finished.find((r) => r.status === "succeeded");
  const failedNote = latest.status === "failed" ? `latest run (${latest.start?.toISOString() ?? "?"}) failed: ${latest.message}; ` : "";
  const fixFailure = `${inspect} -- fix the error it names; a violated check_no_negative_availability is the cleanup from before the fix: ${MIGRATION_FIX}`;
  if (!success || (success.ageSeconds ?? Infinity) > limit) {
    const last = success ? `last success ${ago(success.ageSeconds)} ago` : `no success in the last ${cron.runs.length} runs`;
    return { name, status: "fail", observed: `${failedNote}${last} (limit ${ago(limit)})`, fix: fixFailure, required: true };
  }
  if (latest.status === "failed") {
    return { name, status: "warn", observed: `${failedNote}last success ${ago(success.ageSeconds)} ago`, fix: fixFailure, required: false };
  }
  return { name, status: "pass", observed: `last run succeeded ${ago(latest.ageSeconds)} ago`, fix: "", required: true };
}

function holdExpiryItems(state: HoldExpiryState): ReadinessItem[] {
  const items: ReadinessItem[] = [];
  const migration = "hold expiry migration (a drifted tier cannot stop cleanup)";
  items.push(
    state.migrated
      ? { name: migration, status: "pass", observed: "cleanup_expired_holds() repairs and records drifted tiers", fix: "", required: true }
      : {
          name: migration,
          status: "fail",
          observed: "cleanup_expired_holds() predates it: one tier with drifted counters stops expiry everywhere",
          fix: MIGRATION_FIX,
          required: true,
        },
  );
  const overdue = `no overdue holds (> ${ago(state.graceSeconds)} past expiry)`;
  const o = state.overdue;
  items.push(
    !o || o.holds > 0
      ? {
          name: overdue,
          status: "fail",
          observed: `${describeOverdue(state)}${o?.tiers.length ? `; ${o.tiers.map(describeStuckTier).join("; ")}` : ""}`,
          fix: o
            ? "SELECT public.cleanup_expired_holds(); /* gives the seats back now; then find why the cleanup fails or does not run: the cleanup job items, the target's warnings */"
            : "apply supabase/migrations (supabase db push)",
          required: true,
        }
      : { name: overdue, status: "pass", observed: describeOverdue(state), fix: "", required: true },
  );
  const repairs = state.repairs;
  if (repairs) {
    const name = "no hold counter repairs (public.hold_cleanup_repairs)";
    items.push(
      repairs.count === 0
        ? { name, status: "pass", observed: "the cleanup never had to repair a tier", fix: "", required: true }
        : {
            name,
            status: "fail",
            observed: `${repairs.count} repairs, latest ${repairs.latest[0]!.repairedAt.toISOString()}: ${describeRepair(repairs.latest[0]!)}`,
            fix:
              "/* a tier's reserved_quantity had drifted below its holds (a lost update, a hand edit, a restored backup): find the cause " +
              "first (npm run race -- --fault lost_update shows the pattern), then acknowledge the repairs: */ DELETE FROM public.hold_cleanup_repairs;",
            required: true,
          },
    );
  }
  return items;
}

async function retryItem(client: pg.Client): Promise<ReadinessItem> {
  const name = "retry-friendly functions (outcomes as jsonb values)";
  const r = await client.query<{ proname: string }>(
    `SELECT DISTINCT proname FROM pg_proc
      WHERE pronamespace = 'public'::regnamespace AND proname = ANY ($1) AND prorettype = 'jsonb'::regtype`,
    [RETRY_FUNCTIONS],
  );
  const missing = RETRY_FUNCTIONS.filter((f) => !r.rows.some((row) => row.proname === f));
  return missing.length === 0
    ? { name, status: "pass", observed: RETRY_FUNCTIONS.join(", "), fix: "", required: true }
    : {
        name,
        status: "fail",
        observed: `missing or not returning jsonb: ${missing.join(", ")}`,
        fix: "apply supabase/migrations/*_reservation_functions.sql (supabase db push)",
        required: true,
      };
}

function idempotencyItem(idx: IndexRow[]): ReadinessItem {
  const name = "idempotency keys (unique scope + key)";
  const found = idx.find(
    (ix) =>
      ix.table === "idempotency_keys" && ix.unique && ix.columns.length === 2 && ix.columns.includes("scope") && ix.columns.includes("key"),
  );
  return found
    ? { name, status: "pass", observed: describeIndex(found), fix: "", required: true }
    : {
        name,
        status: "fail",
        observed: "no idempotency_keys table or no unique (scope, key)",
        fix: "ALTER TABLE public.idempotency_keys ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (scope, key); -- or apply the schema migration",
        required: true,
      };
}

async function statStatementsItem(client: pg.Client): Promise<ReadinessItem> {
  const name = "pg_stat_statements";
  const r = await client.query<{ available: boolean; installed: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements') AS available,
            EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS installed`,
  );
  const { available, installed } = r.rows[0]!;
  if (installed) return { name, status: "pass", observed: "installed", fix: "", required: true };
  return {
    name,
    status: "fail",
    observed: available ? "available, not installed" : "not available on this server",
    fix: available
      ? "CREATE EXTENSION pg_stat_statements; -- needs shared_preload_libraries = 'pg_stat_statements'"
      : "install the contrib package, set shared_preload_libraries = 'pg_stat_statements', restart, CREATE EXTENSION pg_stat_statements;",
    required: true,
  };
}

export function readinessPassed(items: ReadinessItem[]): boolean {
  return items.every((i) => i.status !== "fail");
}
