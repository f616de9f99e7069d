// The fault suite: real buyers load the embedded target while its database suffers, one after another,
// the faults of lab/chaos-faults.ts. After each: every answer was 200, 4xx or 503 (with Retry-After)
// and came within ANSWER_BOUND_MS, sales resumed once the database was back, every hold, order and
// payment the API acknowledged is in the database, and every invariant passes.
//
// It only ever runs against a PostgreSQL server it starts itself, and a durable one (fsync and
// synchronous_commit on): with synchronous_commit off a crash loses commits that were already
// acknowledged, so the postmaster-kill and backend-kill faults would prove nothing.
import pg from "pg";
import { INVARIANT_NAMES } from "../lib/invariants.ts";
import { openDatabase, type EmbeddedServer } from "../backend/database.ts";
import { startTarget, type Target } from "../backend/index.ts";
import { FAULTS, type Fault } from "./chaos-faults.ts";
import { startLoad, type Answer, type Ledger } from "./chaos-load.ts";

/** The promise: with PostgreSQL frozen or gone, every request is answered within 5 s. */
export const ANSWER_BOUND_MS = 5000;
const POOL_SIZE = 4;
/** How soon sales must resume once the database is back. */
export const RECOVERY_BOUND_MS = 10_000;

export interface ChaosOptions {
  /** Concurrent buyers (default 6). */
  buyers?: number;
  /** The freeze lasts at least this long (default 6000 ms: past the target's pool wait plus round-trip bound). */
  minFreezeMs?: number;
  onProgress?: (line: string) => void;
}

interface PhaseReport {
  fault: string;
  did: string;
  answers: number;
  byStatus: Record<string, number>;
  slowestMs: number;
  /** From the database being back to the end of the first sale asked after it; null when none came. */
  recoveryMs: number | null;
  /** Cumulative over the run: what the API had acknowledged by the end of this phase. */
  acknowledged: { holds: number; orders: number; payments: number };
  invariantsPassed: number;
  /** Everything that went wrong in this phase; empty when it passed. */
  problems: string[];
}

export interface ChaosReport {
  server: string;
  phases: PhaseReport[];
  passed: boolean;
  seconds: number;
}

function statusClass(status: number): string {
  if (status === 0) return "no answer";
  return status >= 400 && status < 500 ? "4xx" : String(status);
}

async function missing(client: pg.Client, sql: string, ids: Set<string>, what: string): Promise<string[]> {
  const { rows } = await client.query<{ id: string }>(sql, [[...ids]]);
  return rows.map((r) => `${what} ${r.id} was acknowledged with a 200 but is not in the database`);
}

/** The database's side: what the API acknowledged is there, and every invariant holds. */
async function checkDatabase(
  databaseUrl: string,
  eventId: string,
  ledger: Ledger,
): Promise<{ invariantsPassed: number; problems: string[] }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const problems = [
      ...(await missing(
        client,
        "SELECT x AS id FROM unnest($1::uuid[]) x WHERE NOT EXISTS (SELECT 1 FROM public.ticket_holds WHERE id = x)",
        ledger.holds,
        "hold",
      )),
      ...(await missing(
        client,
        "SELECT x AS id FROM unnest($1::uuid[]) x WHERE NOT EXISTS (SELECT 1 FROM public.orders WHERE id = x)",
        ledger.orders,
        "order",
      )),
      ...(await missing(
        client,
        "SELECT x AS id FROM unnest($1::uuid[]) x WHERE NOT EXISTS (SELECT 1 FROM public.orders WHERE id = x AND status = 'paid')",
        ledger.paid,
        "payment of order",
      )),
    ];
    const { rows } = await client.query<{ check_name: string; passed: boolean; observed: string }>(
      "SELECT check_name, passed, observed FROM public.load_test_invariants($1)",
      [eventId],
    );
    if (rows.length !== INVARIANT_NAMES.length) problems.push(`expected ${INVARIANT_NAMES.length} invariants, got ${rows.length}`);
    for (const r of rows.filter((row) => !row.passed)) problems.push(`invariant ${r.check_name} failed: ${r.observed}`);
    return { invariantsPassed: rows.filter((r) => r.passed).length, problems };
  } finally {
    await client.end();
  }
}

/** The answers' side: statuses, bounds, recovery, and proof that the fault hit requests at all. */
function judgeAnswers(answers: Answer[], backAt: number | null): Omit<PhaseReport, "fault" | "did" | "acknowledged" | "invariantsPassed"> {
  const byStatus: Record<string, number> = {};
  const violations = new Map<string, number>();
  for (const a of answers) {
    byStatus[statusClass(a.status)] = (byStatus[statusClass(a.status)] ?? 0) + 1;
    if (a.violation) violations.set(a.violation, (violations.get(a.violation) ?? 0) + 1);
  }
  const problems = [...violations].map(([why, n]) => `${n} answer(s): ${why}`);
  const slowest = answers.reduce((max, a) => Math.max(max, a.ms), 0);
  if (slowest > ANSWER_BOUND_MS) problems.push(`the slowest answer took ${slowest} ms (bound ${ANSWER_BOUND_MS} ms)`);
  if (!byStatus["503"]) problems.push("no request answered 503: the fault never hit a request in flight");
  const firstSale = backAt === null ? undefined : answers.find((a) => a.route === "checkout" && a.status === 200 && a.startedAt >= backAt);
  const recoveryMs = firstSale && backAt !== null ? firstSale.startedAt + firstSale.ms - backAt : null;
  if (recoveryMs === null) problems.push("no sale succeeded after the database was back");
  else if (recoveryMs > RECOVERY_BOUND_MS)
    problems.push(`sales resumed ${recoveryMs} ms after the database was back (bound ${RECOVERY_BOUND_MS} ms)`);
  return { answers: answers.length, byStatus, slowestMs: slowest, recoveryMs, problems };
}

async function runPhase(
  fault: Fault,
  target: Target,
  server: EmbeddedServer,
  event: { eventId: string; tierId: string },
  ledger: Ledger,
  options: Required<Omit<ChaosOptions, "onProgress">>,
): Promise<PhaseReport> {
  const load = startLoad(target, event.eventId, event.tierId, options.buyers, ledger);
  let did = "(not done)";
  let backAt: number | null = null;
  const problems: string[] = [];
  try {
    await load.until("the first sales", (answers) => answers.filter((a) => a.status === 200).length >= 10, 30_000);
    const injected = await fault.inject({
      databaseUrl: target.databaseUrl,
      server,
      tierId: event.tierId,
      load,
      minFreezeMs: options.minFreezeMs,
    });
    ({ did, backAt } = injected);
    const resumed = (answers: Answer[]) =>
      answers.some((a) => a.route === "checkout" && a.status === 200 && a.startedAt >= injected.backAt);
    await load.until("a sale after the database was back", resumed, RECOVERY_BOUND_MS + 20_000);
  } catch (err) {
    problems.push((err as Error).message);
  } finally {
    await load.stop();
  }
  const judged = judgeAnswers(load.answers, backAt);
  const db = await checkDatabase(target.databaseUrl, event.eventId, ledger);
  return {
    fault: fault.name,
    did,
    ...judged,
    acknowledged: { holds: ledger.holds.size, orders: ledger.orders.size, payments: ledger.paid.size },
    invariantsPassed: db.invariantsPassed,
    problems: [...problems, ...judged.problems, ...db.problems],
  };
}

export async function runChaos(opts: ChaosOptions = {}): Promise<ChaosReport> {
  const options = { buyers: opts.buyers ?? 6, minFreezeMs: opts.minFreezeMs ?? 6000 };
  const progress = opts.onProgress ?? (() => undefined);
  const started = Date.now();
  const db = await openDatabase({ port: 0, fast: false });
  try {
    // Fewer connections than buyers, so that requests also queue for one: every bound of the target's
    // defaults (pool wait, connect, round trip) is met, and a frozen server stacks them.
    const target = await startTarget({ databaseUrl: db.url, port: 0, poolSize: POOL_SIZE });
    try {
      const server =
        `durable embedded PostgreSQL 18 on ${new URL(db.url).host}, target on ${target.url} ` +
        `(${POOL_SIZE} connections, default timeouts), ${options.buyers} buyers`;
      progress(`chaos: ${server}`);
      const setup = await fetch(`${target.url}/rest/v1/rpc/load_test_setup`, {
        method: "POST",
        headers: { "content-type": "application/json", apikey: target.serviceRoleKey },
        body: JSON.stringify({ p_tier_count: 1, p_tickets_per_tier: 1_000_000, p_name: "chaos" }),
      });
      if (!setup.ok) throw new Error(`load_test_setup answered ${setup.status}: ${await setup.text()}`);
      const ev = (await setup.json()) as { event_id: string; tier_ids: string[] };
      const event = { eventId: ev.event_id, tierId: ev.tier_ids[0]! };
      const ledger: Ledger = { holds: new Set(), orders: new Set(), paid: new Set() };
      const phases: PhaseReport[] = [];
      for (const fault of FAULTS) {
        progress(`chaos: ${fault.name} ...`);
        const phase = await runPhase(fault, target, db.server!, event, ledger, options);
        phases.push(phase);
        progress(formatPhase(phase));
      }
      return { server, phases, passed: phases.every((p) => p.problems.length === 0), seconds: Math.round((Date.now() - started) / 1000) };
    } finally {
      await target.stop();
    }
  } finally {
    await db.stop();
  }
}

function formatPhase(p: PhaseReport): string {
  const statuses = Object.entries(p.byStatus)
    .map(([s, n]) => `${s} × ${n}`)
    .join(", ");
  return [
    `${p.problems.length === 0 ? "✅" : "❌"} ${p.fault}: ${p.did}`,
    `   answers: ${statuses}; slowest ${p.slowestMs} ms (bound ${ANSWER_BOUND_MS}); ` +
      `sales resumed ${p.recoveryMs === null ? "never" : `${p.recoveryMs} ms`} after the database was back`,
    `   checked: the ${p.acknowledged.holds} holds, ${p.acknowledged.orders} orders and ${p.acknowledged.payments} payments acknowledged ` +
      `so far, looked up in the database; ${p.invariantsPassed} of ${INVARIANT_NAMES.length} invariants pass`,
    ...p.problems.map((problem) => `   ❌ ${problem}`),
  ].join("\n");
}

export function formatChaosReport(report: ChaosReport): string {
  const requests = report.phases.reduce((n, p) => n + p.answers, 0);
  return report.passed
    ? `✅ CHAOS PASSED: ${report.phases.length} faults, ${requests} requests, nothing acknowledged was lost (${report.seconds} s)`
    : `❌ CHAOS FAILED: ${report.phases
        .filter((p) => p.problems.length)
        .map((p) => p.fault)
        .join("; ")} (${report.seconds} s)`;
}
