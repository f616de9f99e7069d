// One race-lab scenario end to end: an isolated contention event, pgbench against it with lock waits
// sampled, then pgbench's numbers, the sale's own tally and the database invariants turned into verdicts.
import pg from "pg";
import type { InvariantRow } from "../lib/invariants.ts";
import { startLockSampler, type LockWaits } from "./lock-sampler.ts";
import type { LatencySummary } from "./pgbench-log.ts";
import { conflictRate, type PgbenchReport } from "./pgbench-report.ts";
import { runPgbench } from "./pgbench-run.ts";
import { effectiveThreads, type Workload } from "./workload.ts";
import { tallySale, type SaleTally } from "./sale-checks.ts";
import { readStatStatements, resetStatStatements, type StatStatements } from "./stat-statements.ts";
import { readTableStats, tableStatsDelta, type TableStat } from "./table-stats.ts";
import { invariantVerdicts, labVerdicts, type Verdict } from "./verdicts.ts";

interface LabEvent {
  event_id: string;
  tier_ids: string[];
  total_tickets: number;
  event_capacity: number | null;
  hold_seconds: number;
  /** Buckets each tier got (1: the Liventix Advanced Load Testing Guide's single row); absent from databases that predate them. */
  buckets_per_tier?: number;
}

interface Observability {
  statements: StatStatements;
  lockWaits: LockWaits;
  tables: TableStat[];
}

export interface RaceLabResult {
  workload: Workload;
  fault: string | null;
  event: LabEvent;
  pgbench: PgbenchReport;
  /** Latency percentiles, when the run logged every transaction (latencyLog). */
  latency: LatencySummary | null;
  pgbenchExitCode: number;
  conflictRate: number;
  sale: SaleTally;
  capacity: Record<string, unknown>;
  observability: Observability;
  verdicts: Verdict[];
  passed: boolean;
}

export interface RaceLabInput {
  databaseUrl: string;
  workload: Workload;
  fault?: string | null;
  onProgress?: (line: string) => void;
  latencyLog?: boolean;
}

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

export async function runRaceLab(input: RaceLabInput): Promise<RaceLabResult> {
  const { workload } = input;
  const client = new pg.Client({ connectionString: input.databaseUrl, application_name: "liventix-race-lab" });
  await client.connect();
  try {
    // Buckets only when asked for, so a database whose load_test_setup predates them still runs the rest.
    const setup = await client.query<{ e: LabEvent }>(
      workload.buckets > 1
        ? "SELECT load_test_setup($1, $2, $3, 5000, $4, 'race lab', $5) AS e"
        : "SELECT load_test_setup($1, $2, $3, 5000, $4, 'race lab') AS e",
      [workload.tiers, workload.tickets, workload.holdSeconds, workload.capacity, ...(workload.buckets > 1 ? [workload.buckets] : [])],
    );
    const event = setup.rows[0]!.e;
    const resetNote = await resetStatStatements(client);
    const tablesBefore = await readTableStats(client);

    const sampler = await startLockSampler(input.databaseUrl);
    const run = await runPgbench({
      databaseUrl: input.databaseUrl,
      script: workload.script,
      isolation: workload.isolation,
      clients: workload.clients,
      threads: effectiveThreads(workload.threads, workload.clients),
      durationSeconds: workload.durationSeconds,
      maxTries: workload.maxTries,
      variables: {
        event: quote(event.event_id),
        tiers: quote(`{${event.tier_ids.join(",")}}`),
        ntiers: String(event.tier_ids.length),
        sessions: String(workload.sessions),
      },
      onProgress: input.onProgress,
      latencyLog: input.latencyLog,
    }).catch(async (err: unknown) => {
      await sampler.stop();
      throw err;
    });
    const lockWaits = await sampler.stop();

    const statements = await readStatStatements(client, resetNote);
    const tables = tableStatsDelta(tablesBefore, await readTableStats(client));
    const sale = await tallySale(client, event.event_id);
    const invariants = await client.query<InvariantRow>("SELECT * FROM load_test_invariants($1)", [event.event_id]);
    const capacity = await client.query<{ c: Record<string, unknown> }>("SELECT load_test_capacity($1) AS c", [event.event_id]);
    const verdicts = [...labVerdicts(run.report, sale), ...invariantVerdicts(invariants.rows)];
    return {
      workload,
      fault: input.fault ?? null,
      event,
      pgbench: run.report,
      latency: run.latency,
      pgbenchExitCode: run.exitCode,
      conflictRate: conflictRate(run.report),
      sale,
      capacity: capacity.rows[0]!.c,
      observability: { statements, lockWaits, tables },
      verdicts,
      passed: verdicts.every((v) => v.passed),
    };
  } finally {
    await client.end();
  }
}
