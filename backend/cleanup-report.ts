// Turns what each cleanup tick observed into warnings a person reads: a failure once per episode (and
// a line when it is over), a repaired tier once per tier, never one line per tick. The cleanup runs
// every few seconds; a warning repeated at that rate would bury the rest of the log, and a warning never
// given is how seats leaked unnoticed before.
import { describeRepair, describeStuckTier, type Repair, type StuckTier } from "./hold-expiry-sql.ts";

export interface CleanupFailure {
  /** The same for every run that fails for the same reason (no timestamps, no row values). */
  cause: string;
  /** What the reader needs, e.g. PostgreSQL's detail naming the failing row. */
  text: string;
}

export interface CleanupObservation {
  /** Why the cleanup failed; null when it succeeded; undefined when the tick could not tell (a pg_cron run still going). */
  failure: CleanupFailure | null | undefined;
  /** Repairs recorded since the previous tick. */
  repairs: Repair[];
  /** Tiers whose holds are stuck past their expiry, read when a failure is new. */
  stuck?: StuckTier[];
}

export interface CleanupReporter {
  /** True when this failure starts a new episode, i.e. would be logged (then read the stuck tiers for it). */
  isNewFailure(failure: CleanupFailure): boolean;
  record(observation: CleanupObservation): void;
}

const LISTED = 5;
/** Tiers already reported; a target that runs for weeks forgets them eventually rather than grow forever. */
const MAX_REMEMBERED_TIERS = 10_000;

function listed<T>(items: T[], describe: (item: T) => string): string {
  const shown = items.slice(0, LISTED).map(describe).join("; ");
  return items.length > LISTED ? `${shown}; and ${items.length - LISTED} more` : shown;
}

export function createCleanupReporter(
  log: (line: string) => void,
  /** "hold cleanup" or the pg_cron job's name: who failed, in the reader's terms. */
  runner: string,
): CleanupReporter {
  let failing: string | null = null;
  const reportedTiers = new Set<string>();
  return {
    isNewFailure: (failure) => failure.cause !== failing,
    record({ failure, repairs, stuck = [] }) {
      if (failure && failure.cause !== failing) {
        const where = stuck.length ? ` Holds past expiry: ${listed(stuck, describeStuckTier)}.` : "";
        log(
          `warning: ${runner} failed: ${failure.text.replace(/\.$/, "")}. Expired holds keep their seats until it succeeds again.${where}`,
        );
        failing = failure.cause;
      } else if (failure === null && failing !== null) {
        log(`${runner} succeeds again (it had failed: ${failing})`);
        failing = null;
      }
      const fresh = repairs.filter((r) => !reportedTiers.has(r.tierId));
      const tiers = [...new Map(fresh.map((r) => [r.tierId, r])).values()];
      if (tiers.length === 0) return;
      if (reportedTiers.size + tiers.length > MAX_REMEMBERED_TIERS) reportedTiers.clear();
      for (const r of tiers) reportedTiers.add(r.tierId);
      log(
        `warning: ${runner} repaired ${tiers.length} tier(s) whose reserved_quantity had drifted below their holds ` +
          `(every other tier's holds expired normally; recorded in public.hold_cleanup_repairs, and each event's ` +
          `no_counter_repairs invariant fails until the cause is found): ${listed(tiers, describeRepair)}`,
      );
    },
  };
}
