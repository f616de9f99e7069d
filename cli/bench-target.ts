// `npm run bench:target`: how fast the embedded target reserves on one tier, over HTTP (what a k6 run
// will see) and inside PostgreSQL (pgbench: the reserve function against a bare UPDATE of one tier row,
// the hot-row ceiling), for the Liventix Advanced Load Testing Guide's single-row design and for a tier spread over inventory buckets.
// Not a test: it prints numbers and writes results/bench-target.json.
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import http from "node:http";
import { cpus, loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { z } from "zod";
import { quantile } from "../race-lab/pgbench-log.ts";
import { parsePgbenchReport, type PgbenchReport } from "../race-lab/pgbench-report.ts";
import { configFromEnv, tuning } from "../backend/config.ts";
import { startTarget, type Target } from "../backend/index.ts";
import { EXIT, exitCodeOf } from "./exit-codes.ts";

const run = promisify(execFile);
const SCRIPTS = path.join(path.dirname(fileURLToPath(import.meta.url)), "../race-lab/pgbench");
const RATIO_GOAL = 0.7;
/** Buckets of the bucketed tier: what `npm run race -- --compare` uses. */
const BUCKETS = 1024;

const Env = z.object({
  BENCH_DURATION_S: z.coerce.number().int().min(1).max(600).default(10),
  BENCH_CLIENTS: z.coerce.number().int().min(1).max(500).default(50),
  PGBENCH: z.string().min(1).default("/usr/bin/pgbench"),
});

function readEnv(): z.infer<typeof Env> {
  const input = Object.fromEntries(Object.keys(Env.shape).flatMap((k) => (process.env[k]?.trim() ? [[k, process.env[k]!.trim()]] : [])));
  const parsed = Env.safeParse(input);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((i) => `  ${String(i.path[0])}: ${i.message}`);
  console.error(`bench:target: invalid settings\n${lines.join("\n")}\n  (BENCH_DURATION_S 1..600, BENCH_CLIENTS 1..500)`);
  process.exit(EXIT.USAGE);
}

interface HttpResult {
  requests: number;
  reserved: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  statuses: Record<string, number>;
}

/** One POST on a kept-alive socket; node:http costs the shared CPU far less than fetch does. */
function post(agent: http.Agent, url: URL, key: string, body: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: "/functions/v1/enhanced-checkout",
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), apikey: key },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", () => resolve(0));
    req.end(body);
  });
}

async function httpPhase(target: Target, eventId: string, tierId: string, clients: number, seconds: number): Promise<HttpResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const url = new URL(target.url);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let n = 0;
  const client = async (id: number) => {
    while (performance.now() < deadline) {
      const body = JSON.stringify({ event_id: eventId, tier_id: tierId, quantity: 1, session_id: `h${id}-${n++}` });
      const t0 = performance.now();
      const status = await post(agent, url, target.anonKey, body);
      latencies.push(performance.now() - t0);
      const key = status === 0 ? "network" : String(status);
      statuses[key] = (statuses[key] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
  agent.destroy();
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const reserved = statuses["200"] ?? 0;
  return {
    requests: latencies.length,
    reserved,
    perSecond: reserved / elapsed,
    p50Ms: quantile(latencies, 0.5) ?? NaN,
    p99Ms: quantile(latencies, 0.99) ?? NaN,
    statuses,
  };
}

async function pgbench(
  bin: string,
  databaseUrl: string,
  script: string,
  tierId: string,
  clients: number,
  seconds: number,
): Promise<PgbenchReport> {
  const url = new URL(databaseUrl);
  // Connection details go through the environment, so the password never shows in `ps`.
  const env = {
    ...process.env,
    PGHOST: url.hostname,
    PGPORT: url.port || "5432",
    PGUSER: decodeURIComponent(url.username),
    PGPASSWORD: decodeURIComponent(url.password),
    PGDATABASE: url.pathname.slice(1) || "postgres",
  };
  const args = [
    "-n",
    "-c",
    String(clients),
    "-j",
    "2",
    "-T",
    String(seconds),
    "-P",
    "1",
    "-D",
    `tier='${tierId}'`,
    "-f",
    path.join(SCRIPTS, script),
  ];
  try {
    const { stdout, stderr } = await run(bin, args, { env, maxBuffer: 16 * 1024 * 1024 });
    return parsePgbenchReport(stdout, stderr);
  } catch (err) {
    const e = err as { code?: string; stdout?: string; stderr?: string };
    if (e.code === "ENOENT")
      throw new Error(`${bin} not found: install the PostgreSQL client (apt-get install -y postgresql-client) or set PGBENCH`);
    const report = parsePgbenchReport(e.stdout ?? "", e.stderr ?? "");
    if (report.tps !== null) return report;
    throw new Error(`pgbench ${script} failed: ${(e.stderr ?? "").split("\n").filter(Boolean).slice(-3).join(" | ")}`);
  }
}

interface Side {
  tps: number | null;
  latencyAverageMs: number | null;
  failed: number;
  tpsPerRun: (number | null)[];
}

function combine(reports: PgbenchReport[]): Side {
  const mean = (xs: (number | null)[]) => (xs.every((x) => x !== null) ? (xs as number[]).reduce((a, b) => a + b, 0) / xs.length : null);
  return {
    tps: mean(reports.map((r) => r.tps)),
    latencyAverageMs: mean(reports.map((r) => r.latencyAverageMs)),
    failed: reports.reduce((a, r) => a + r.failed, 0),
    tpsPerRun: reports.map((r) => r.tps),
  };
}

function fmt(n: number | null, digits = 0): string {
  return n === null || Number.isNaN(n) ? "n/a" : n.toFixed(digits);
}

async function main(): Promise<void> {
  const env = readEnv();
  console.error(`bench:target: starting the target (${env.BENCH_CLIENTS} clients, ${env.BENCH_DURATION_S} s per phase)`);
  const loadAtStart = loadavg()[0]!.toFixed(1);
  // TARGET_ISOLATION and the other TARGET_* settings apply; ports and data folder are private to the bench.
  const target = await startTarget({ ...tuning(configFromEnv(process.env)), port: 0, fast: process.env.BENCH_FAST === "1" });
  try {
    const setup = async (buckets: number) => {
      const res = await fetch(`${target.url}/rest/v1/rpc/load_test_setup`, {
        method: "POST",
        headers: { "content-type": "application/json", apikey: target.serviceRoleKey },
        body: JSON.stringify({ p_tier_count: 2, p_tickets_per_tier: 10_000_000, p_name: "bench:target", p_buckets_per_tier: buckets }),
      });
      if (!res.ok) throw new Error(`load_test_setup answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as { event_id: string; tier_ids: [string, string] };
    };
    const ev = await setup(1);
    const bucketed = await setup(BUCKETS);

    console.error("bench:target: HTTP enhanced-checkout, single row, then buckets ...");
    const http = await httpPhase(target, ev.event_id, ev.tier_ids[0], env.BENCH_CLIENTS, env.BENCH_DURATION_S);
    const retries = target.retryStats();
    const httpBuckets = await httpPhase(target, bucketed.event_id, bucketed.tier_ids[0], env.BENCH_CLIENTS, env.BENCH_DURATION_S);
    const after = target.retryStats();
    const retriesBuckets = { retries: after.retries - retries.retries, exhausted: after.exhausted - retries.exhausted };
    // The three sides run A-B-C-C-B-A in half-length runs, so that load from elsewhere on the machine
    // drifting during the bench weighs on every side alike.
    const half = Math.max(1, Math.round(env.BENCH_DURATION_S / 2));
    const sides = {
      ceiling: { label: "bare UPDATE (hot-row ceiling)", script: "hot-row.sql", tier: ev.tier_ids[1] },
      reserve: { label: "try_reserve, single row", script: "bench-reserve.sql", tier: ev.tier_ids[1] },
      buckets: { label: `try_reserve, ${BUCKETS} buckets`, script: "bench-reserve.sql", tier: bucketed.tier_ids[1] },
    } as const;
    const runs: Record<keyof typeof sides, PgbenchReport[]> = { ceiling: [], reserve: [], buckets: [] };
    for (const side of ["ceiling", "reserve", "buckets", "buckets", "reserve", "ceiling"] as const) {
      console.error(`bench:target: pgbench ${sides[side].label}, ${half} s ...`);
      runs[side].push(await pgbench(env.PGBENCH, target.databaseUrl, sides[side].script, sides[side].tier, env.BENCH_CLIENTS, half));
    }
    const ceiling = combine(runs.ceiling);
    const reserve = combine(runs.reserve);
    const buckets = combine(runs.buckets);
    const toCeiling = (side: Side) => (side.tps !== null && ceiling.tps ? side.tps / ceiling.tps : null);
    const ratio = toCeiling(reserve);
    const bucketsRatio = toCeiling(buckets);

    // Other work on the machine skews every number here; the load average says how much.
    const machine = `${cpus().length} cores, 1-minute load average ${loadAtStart} at start, ${loadavg()[0]!.toFixed(1)} at end`;
    const httpLines = (label: string, h: HttpResult, r: { retries: number; exhausted: number }) => [
      `      ${label}: reservations/s ${fmt(h.perSecond, 1)}   p50 ${fmt(h.p50Ms, 2)} ms   p99 ${fmt(h.p99Ms, 2)} ms   ` +
        `requests ${h.requests}   statuses ${JSON.stringify(h.statuses)}`,
      `        server-side 40001/40P01 retries ${r.retries}, requests that exhausted them (503) ${r.exhausted}`,
    ];
    const sqlLine = (label: string, side: Side) =>
      `      ${label.padEnd(32)} tps ${fmt(side.tps, 1)} (runs ${side.tpsPerRun.map((x) => fmt(x)).join(", ")})   ` +
      `latency avg ${fmt(side.latencyAverageMs, 3)} ms   failed ${side.failed}`;
    const lines = [
      `machine: ${machine}`,
      `HTTP  POST enhanced-checkout, ${env.BENCH_CLIENTS} clients, ${env.BENCH_DURATION_S} s each, isolation ${target.isolation}`,
      ...httpLines("single row", http, retries),
      ...httpLines(`${BUCKETS} buckets`, httpBuckets, retriesBuckets),
      `SQL   pgbench, ${env.BENCH_CLIENTS} clients, 2 x ${half} s each (A-B-C-C-B-A), one tier each`,
      sqlLine(sides.ceiling.label, ceiling),
      sqlLine(sides.reserve.label, reserve),
      sqlLine(sides.buckets.label, buckets),
      `      ratio to the ceiling: single row ${fmt(ratio, 2)} (goal >= ${RATIO_GOAL}: ${ratio !== null && ratio >= RATIO_GOAL ? "met" : "NOT met"}), ` +
        `${BUCKETS} buckets ${fmt(bucketsRatio, 2)} (buckets / single row ${fmt(reserve.tps && buckets.tps !== null ? buckets.tps / reserve.tps : null, 2)})`,
    ];
    console.log(lines.join("\n"));
    await mkdir("results", { recursive: true });
    const summary = {
      clients: env.BENCH_CLIENTS,
      durationSeconds: env.BENCH_DURATION_S,
      isolation: target.isolation,
      machine,
      http: { ...http, serverRetries: retries },
      httpBuckets: { ...httpBuckets, serverRetries: retriesBuckets, buckets: BUCKETS },
      pgbench: { ceiling, reserve, ratio, goal: RATIO_GOAL, buckets: { ...buckets, count: BUCKETS, ratio: bucketsRatio } },
    };
    await writeFile("results/bench-target.json", `${JSON.stringify(summary, null, 2)}\n`);
    console.error("bench:target: wrote results/bench-target.json");
  } finally {
    await target.stop();
  }
}

main().catch((err: unknown) => {
  console.error(`bench:target: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(exitCodeOf(err));
});
