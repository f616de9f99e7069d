// Turns a race-lab result into what the terminal shows: the workload, pgbench's numbers, the verdict
// table and the observability tables. The JSON file carries the same result object unchanged.
import { PERFORMANCE_CHECKS, TPS_RATIO_GOAL, runPassed, spread, type CompareResult } from "./race-compare.ts";
import type { RaceLabResult } from "./race-lab.ts";
import { mark, renderTable } from "./table.ts";
import { pct } from "./verdicts.ts";
import type { StatStatements } from "./stat-statements.ts";
import type { TableStat } from "./table-stats.ts";
import type { LockWaits } from "./lock-sampler.ts";

export function formatRaceReport(r: RaceLabResult): string {
  const w = r.workload;
  const p = r.pgbench;
  const out: string[] = [];
  out.push(
    `Race lab${r.fault ? ` with planted fault "${r.fault}"` : ""}: script ${w.script}, ${w.isolation.replace("_", " ").toUpperCase()}, ` +
      `${w.clients} clients, ${p.threads ?? w.threads} threads, ${w.durationSeconds} s, max tries ${w.maxTries}`,
    `Event ${r.event.event_id}: ${w.tiers} tier(s) x ${w.tickets} tickets` +
      `${(r.event.buckets_per_tier ?? 1) > 1 ? ` in ${r.event.buckets_per_tier} buckets` : ""}` +
      `${w.capacity !== null ? `, event cap ${w.capacity}` : ""}, holds last ${w.holdSeconds} s` +
      `${w.sessions ? `, ${w.sessions} shared sessions` : ""}`,
    "",
    renderTable(
      ["pgbench", "value"],
      [
        ["transactions processed", p.processed],
        ["tps", p.tps ?? "-"],
        ["latency average / stddev", `${p.latencyAverageMs ?? "-"} / ${p.latencyStddevMs ?? "-"} ms`],
        ["failed (serialization / deadlock)", `${p.failed} (${p.serializationFailures} / ${p.deadlockFailures})`],
        ["retried transactions / total retries", `${p.retriedTransactions} / ${p.totalRetries}`],
        ["40001/40P01 rate", pct(r.conflictRate)],
        ["aborted clients", p.abortedClients],
        ["seats taken / available", `${r.sale.seatsTaken} / ${r.sale.ticketsAvailable}`],
        [
          "holds created / orders / paid / tickets",
          `${r.sale.holdsCreated} / ${r.sale.ordersCreated} / ${r.sale.ordersPaid} / ${r.sale.ticketsIssued}`,
        ],
      ],
    ),
    "",
    renderTable(
      ["statement latency ms", "failures", "retries", "command"],
      p.statements.map((s) => [s.latencyMs, s.failures, s.retries, s.command.length > 70 ? `${s.command.slice(0, 67)}...` : s.command]),
    ),
    "",
    formatStatements(r.observability.statements),
    "",
    formatLockWaits(r.observability.lockWaits),
    "",
    formatTableStats(r.observability.tables, "table activity during the run"),
    "",
    renderTable(
      ["", "check", "observed", "detail"],
      r.verdicts.map((v) => [mark(v.passed), v.name, v.observed, v.detail.length > 140 ? `${v.detail.slice(0, 137)}...` : v.detail]),
    ),
    "",
    r.passed
      ? "✅ PASS: no oversell, no unretried conflict, latency within bounds, every invariant holds"
      : `🔴 FAIL: ${r.verdicts
          .filter((v) => !v.passed)
          .map((v) => v.name)
          .join(", ")}`,
  );
  return out.join("\n");
}

export function formatStatements(s: StatStatements): string {
  if (!s.available || s.rows.length === 0) return `pg_stat_statements: ${s.note ?? "no calls of the reservation functions recorded"}`;
  const table = renderTable(
    ["pg_stat_statements", "calls", "mean ms", "max ms", "stddev ms"],
    s.rows.map((x) => [x.query.length > 70 ? `${x.query.slice(0, 67)}...` : x.query, x.calls, x.meanMs, x.maxMs, x.stddevMs]),
  );
  return s.note ? `${table}\n(${s.note})` : table;
}

export function formatLockWaits(l: LockWaits): string {
  const by =
    Object.entries(l.byEvent)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ") || "none";
  return renderTable(
    ["lock waits (pg_stat_activity)", "value"],
    [
      ["samples", `${l.samples} every ${l.intervalMs} ms`],
      ["max / mean backends waiting", `${l.maxWaiting} / ${l.meanWaiting}`],
      ["longest wait seen", `${l.longestWaitMs} ms`],
      ["waits by event", by],
      ...(l.note ? [["note", l.note]] : []),
    ],
  );
}

export function formatTableStats(tables: TableStat[], title: string): string {
  return renderTable(
    [title, "ins", "upd", "hot upd", "del", "live", "dead", "seq scan", "idx scan"],
    tables.map((t) => [t.table, t.inserts, t.updates, t.hotUpdates, t.deletes, t.liveRows, t.deadRows, t.seqScans, t.indexScans]),
  );
}

const ms = (x: number | null | undefined) => (x === null || x === undefined ? "-" : x.toFixed(2));

function failing(r: RaceLabResult): string {
  const names = r.verdicts.filter((v) => !v.passed).map((v) => v.name);
  return names.length ? names.join(", ") : "none";
}

/** One table, one column per design; every run's full result is in the JSON file. */
export function formatCompareReport(c: CompareResult): string {
  const w = c.workload;
  const designs = [c.singleRow, c.buckets];
  const row = (label: string, cell: (r: RaceLabResult) => string | number) => [label, ...designs.map(cell)];
  const invariants = (r: RaceLabResult) => {
    const rows = r.verdicts.filter((v) => v.source === "invariant");
    return `${rows.filter((v) => v.passed).length} of ${rows.length} ${mark(rows.every((v) => v.passed))}`;
  };
  const ratio = c.tpsRatio === null ? "-" : `${c.tpsRatio.toFixed(2)}x`;
  const goal =
    w.isolation === "read_committed" && spread(c.buckets)
      ? ` (goal under READ COMMITTED: >= ${TPS_RATIO_GOAL}x, ${c.tpsRatio !== null && c.tpsRatio >= TPS_RATIO_GOAL ? "met" : "NOT met"})`
      : "";
  // What the single-row design missed (in both columns when the tier was too small to spread).
  const missed = [
    ...new Set(
      (spread(c.buckets) ? [c.singleRow] : designs).flatMap((r) =>
        r.verdicts.filter((v) => !v.passed && (PERFORMANCE_CHECKS as readonly string[]).includes(v.name)).map((v) => v.name),
      ),
    ),
  ];
  return [
    `Race lab, side by side: script ${w.script}, ${w.isolation.replace("_", " ").toUpperCase()}, ${w.clients} clients, ` +
      `${c.singleRow.pgbench.threads ?? w.threads} threads, ${w.durationSeconds} s each, max tries ${w.maxTries}, ` +
      `${w.tiers} tier(s) x ${w.tickets} tickets, holds last ${w.holdSeconds} s; commits: ${c.commits}`,
    "",
    renderTable(
      ["", "guide: single row", `buckets (${c.buckets.event.buckets_per_tier ?? 1} per tier)`],
      [
        row("tps", (r) => (r.pgbench.tps === null ? "-" : r.pgbench.tps.toFixed(1))),
        row("latency p50 / p99 ms", (r) => `${ms(r.latency?.p50Ms)} / ${ms(r.latency?.p99Ms)}`),
        row("40001/40P01 rate before retries", (r) => pct(r.conflictRate)),
        row("failed after retries", (r) => `${r.pgbench.failed} of ${r.pgbench.processed + r.pgbench.failed}`),
        row("seats sold / available", (r) => `${r.sale.seatsTaken} / ${r.sale.ticketsAvailable}`),
        row("invariants", invariants),
        row("failing verdicts", failing),
      ],
    ),
    "",
    `buckets / single row tps: ${ratio}${goal}`,
    ...(spread(c.buckets)
      ? []
      : [`${w.tickets} seats are too few to spread (10 per bucket at least): both columns ran the single-row design`]),
    ...(missed.length ? [`the single row misses ${missed.join(", ")}: expected of one hot row, reported, not failed`] : []),
    c.passed
      ? `✅ PASS: both designs safe${spread(c.buckets) ? ", and the bucketed one meets every verdict" : ""}`
      : `🔴 FAIL: ${[
          ...(runPassed(c.singleRow, true) ? [] : [`single row: ${failing(c.singleRow)}`]),
          ...(runPassed(c.buckets, !spread(c.buckets)) ? [] : [`buckets: ${failing(c.buckets)}`]),
        ].join("; ")}`,
  ].join("\n");
}
