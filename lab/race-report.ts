// Turns a race-lab result into what the terminal shows: the workload, pgbench's numbers, the verdict
// table and the observability tables. The JSON file carries the same result object unchanged.
import type { RaceLabResult } from "./race-lab.ts";
import { mark, renderTable } from "./table.ts";
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
        ["40001/40P01 rate", `${(r.conflictRate * 100).toFixed(2)} %`],
        ["aborted clients", p.abortedClients],
        ["seats taken / available", `${r.sale.seatsTaken} / ${r.sale.ticketsAvailable}`],
        ["holds created / orders / paid / tickets", `${r.sale.holdsCreated} / ${r.sale.ordersCreated} / ${r.sale.ordersPaid} / ${r.sale.ticketsIssued}`],
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
      : `🔴 FAIL: ${r.verdicts.filter((v) => !v.passed).map((v) => v.name).join(", ")}`,
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
  const by = Object.entries(l.byEvent).map(([k, n]) => `${k} ${n}`).join(", ") || "none";
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
