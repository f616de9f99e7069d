// The shape of one race-lab run: which pgbench script, at which isolation, on how many seats and
// sessions. The defaults are the pgbench defaults of the Liventix Advanced Load Testing Guide.
import { availableParallelism } from "node:os";
import type { Isolation } from "../backend/config.ts";

export const SCRIPTS = ["reserve", "serializable", "mix"] as const;
export type ScriptName = (typeof SCRIPTS)[number];

/** The shape of one lab run; the fault catalog describes its workloads in the same terms. */
export interface Workload {
  script: ScriptName;
  isolation: Isolation;
  tickets: number;
  tiers: number;
  clients: number;
  threads: number;
  durationSeconds: number;
  maxTries: number;
  /** Event-wide cap across tiers (events.capacity); null: each tier only answers to itself. */
  capacity: number | null;
  holdSeconds: number;
  /** Size of the shared session pool; 0 gives every transaction its own session. */
  sessions: number;
  /** Inventory buckets asked for per tier (load_test_setup sizes them down to 10 seats each); 1: the guide's single row. */
  buckets: number;
}

export const DEFAULT_WORKLOAD: Workload = {
  script: "reserve",
  isolation: "read_committed",
  tickets: 10,
  tiers: 1,
  clients: 50,
  threads: 10,
  durationSeconds: 30,
  maxTries: 5,
  capacity: null,
  holdSeconds: 600,
  sessions: 0,
  buckets: 1,
};

/** pgbench threads beyond the cores only add context switches; clients must cover every thread. */
export function effectiveThreads(requested: number, clients: number, cores = availableParallelism()): number {
  return Math.max(1, Math.min(requested, cores, clients));
}
