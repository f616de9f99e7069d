// `npm run race -- --compare`: the Liventix Advanced Load Testing Guide's single-row design and the bucketed one, one after the other in
// one command, with the same script, isolation, clients, seats and duration, each on its own fresh event.
// Each run is judged as usual; the comparison passes when both stay safe (no oversell, every invariant,
// no aborted client) and the bucketed design also meets the performance verdicts. The single row missing
// those under SERIALIZABLE is the finding the comparison exists to show, not a failure of the command.
import pg from "pg";
import { runRaceLab, type RaceLabResult } from "./race-lab.ts";
import type { Workload } from "./workload.ts";
import type { LabCheckName } from "./verdicts.ts";

/** Verdicts about speed and conflicts rather than correctness: the single-row design may miss them. */
export const PERFORMANCE_CHECKS: readonly LabCheckName[] = ["no_unretried_conflicts", "latency_under_2000ms", "conflict_rate_under_5pct"];
/** What READ COMMITTED reservations on buckets should reach, relative to the single row. */
export const TPS_RATIO_GOAL = 2;

export interface CompareResult {
  workload: Workload;
  /** The server's commit settings (fsync, synchronous_commit): they decide how hot one row is. */
  commits: string;
  singleRow: RaceLabResult;
  buckets: RaceLabResult;
  /** Bucketed tps / single-row tps, from pgbench's own reports. */
  tpsRatio: number | null;
  passed: boolean;
}

export interface CompareInput {
  databaseUrl: string;
  workload: Workload;
  onProgress?: (line: string) => void;
}

/** False when the tier was too small to spread (load_test_setup keeps 10 seats per bucket): a single row again. */
export function spread(result: RaceLabResult): boolean {
  return (result.event.buckets_per_tier ?? 1) > 1;
}

/** True when a run has no failing verdict except, when `allowSlow`, performance ones. */
export function runPassed(result: RaceLabResult, allowSlow: boolean): boolean {
  return result.verdicts.every((v) => v.passed || (allowSlow && (PERFORMANCE_CHECKS as readonly string[]).includes(v.name)));
}

async function commitSettings(databaseUrl: string): Promise<string> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const r = await client.query<{ s: string }>(
      "SELECT format('fsync %s, synchronous_commit %s', current_setting('fsync'), current_setting('synchronous_commit')) AS s",
    );
    return r.rows[0]!.s;
  } finally {
    await client.end();
  }
}

export async function runRaceCompare(input: CompareInput): Promise<CompareResult> {
  const { workload } = input;
  const commits = await commitSettings(input.databaseUrl);
  const run = (buckets: number) =>
    runRaceLab({ databaseUrl: input.databaseUrl, workload: { ...workload, buckets }, onProgress: input.onProgress, latencyLog: true });
  const singleRow = await run(1);
  const buckets = await run(workload.buckets);
  const tpsRatio = singleRow.pgbench.tps && buckets.pgbench.tps !== null ? buckets.pgbench.tps / singleRow.pgbench.tps : null;
  return { workload, commits, singleRow, buckets, tpsRatio, passed: runPassed(singleRow, true) && runPassed(buckets, !spread(buckets)) };
}
