// pgbench's per-transaction log (-l), read back into latency percentiles: its report only gives an
// average and a standard deviation. Each line is "client_id transaction_no time script_no time_epoch
// time_us [schedule_lag] [retries]", where time is the latency in microseconds, or a word ("failed",
// "serialization", "deadlock", "skipped") for a transaction that did not complete.

export interface LatencySummary {
  /** Transactions that completed (failed ones have no latency). */
  completed: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

/** Latencies in milliseconds of the completed transactions in one log file's text. */
export function parseLatencies(text: string): number[] {
  const latencies: number[] = [];
  for (const line of text.split("\n")) {
    const time = line.split(" ")[2];
    if (time !== undefined && /^\d+$/.test(time)) latencies.push(Number(time) / 1000);
  }
  return latencies;
}

/** The q-quantile (0..1) of `sorted`, nearest rank. */
export function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function summarizeLatencies(latencies: number[]): LatencySummary {
  const sorted = [...latencies].sort((a, b) => a - b);
  const round = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 1000);
  return { completed: sorted.length, p50Ms: round(quantile(sorted, 0.5)), p99Ms: round(quantile(sorted, 0.99)) };
}
