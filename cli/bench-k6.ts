// `npm run bench:k6`: what the suite costs the load generator. Against one embedded target and one
// sold-out tier, at the same capped rate (k6 --rps), it runs three k6 scripts side by side,
// BENCH_K6_ROUNDS times in rotating order: a bare script (one POST, one check), a floor script (the same
// POST and the four samples the guide's measures need on every reserve, written as plainly as k6
// allows) and a suite bundle. It prints each side's k6 CPU-seconds and peak RSS and the ratios: CPU per
// request, so that a round where the machine could not reach the capped rate still compares like with
// like, and the median round against the goals (CPU <= 1.2x, RSS <= 1.5x, bundle against bare), since
// other work on a shared machine skews single rounds. The floor separates what recording the guide's
// measures costs any script under this k6 from what the suite's own code adds. Every side runs k6 on one
// core (GOMAXPROCS=1): on every core, k6's CPU time also counts the Go scheduler spinning while it
// waits for work, which moved one side's rounds by up to 9 % and the ratio of single rounds of one code
// from 1.13x to 1.44x (docs/k6-generator.md); at this rate k6 needs a fifth of a core. It also times
// `k6 inspect` of every bundle (goal: <= 1 s). Needs a k6 on PATH (or K6_BINARY) and GNU time;
// exits 69 without them. Not a test: it prints numbers and writes results/bench-k6.json.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { clientEnv, startTarget, type Target } from "../backend/index.ts";
import { CliExit, runCli } from "./exit.ts";
import { EXIT } from "./exit-codes.ts";
import { findK6, k6Info, k6MissingMessage } from "./k6-binary.ts";
import { ROOT, ensureBuilt } from "./k6-dist.ts";
import { isBundleName } from "../lib/bundles.ts";
import { RETRIES_HEADER, TAXONOMY } from "../lib/errors.ts";

const GOALS = { cpu: 1.2, rss: 1.5, inspectSeconds: 1 };
const GNU_TIME = "/usr/bin/time";

interface Settings {
  vus: number;
  durationSeconds: number;
  rps: number;
  rounds: number;
  bundle: string;
}

function setting(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name]?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new CliExit(`bench:k6: ${name} must be a whole number from ${min} to ${max}, got "${raw}"`, EXIT.USAGE);
  return n;
}

function readSettings(): Settings {
  const bundle = process.env.BENCH_K6_BUNDLE?.trim() || "race";
  if (!isBundleName(bundle))
    throw new CliExit(`bench:k6: BENCH_K6_BUNDLE must name a bundle of lib/bundles.ts, got "${bundle}"`, EXIT.USAGE);
  return {
    vus: setting("BENCH_K6_VUS", 50, 1, 1000),
    durationSeconds: setting("BENCH_K6_DURATION_S", 20, 2, 600),
    rps: setting("BENCH_K6_RPS", 300, 1, 100_000),
    rounds: setting("BENCH_K6_ROUNDS", 3, 1, 10),
    bundle,
  };
}

/**
 * What the bare and floor sides share: the same POST the suite's reserve sends (keys, a fresh session and
 * Idempotency-Key, made the way lib/uuid.ts makes them).
 */
const REQUEST_PRELUDE = `var http = require("k6/http");
var k6 = require("k6");
var crypto = require("k6/crypto");
var url = __ENV.SUPABASE_URL + "/functions/v1/enhanced-checkout";
var key = __ENV.SUPABASE_ANON_KEY;
var x = []; for (var i = 0; i < 256; i++) x.push((i < 16 ? "0" : "") + i.toString(16));
function uuid() {
  var b = new Uint8Array(crypto.randomBytes(16));
  return x[b[0]] + x[b[1]] + x[b[2]] + x[b[3]] + "-" + x[b[4]] + x[b[5]] + "-" + x[(b[6] & 15) | 64] + x[b[7]] + "-" +
    x[(b[8] & 63) | 128] + x[b[9]] + "-" + x[b[10]] + x[b[11]] + x[b[12]] + x[b[13]] + x[b[14]] + x[b[15]];
}
`;

/** The bare side: that POST and one check; nothing else. */
const BARE_SCRIPT = `${REQUEST_PRELUDE}exports.default = function () {
  var body = JSON.stringify({ event_id: __ENV.EVENT_ID, tier_id: __ENV.TIER_ID, quantity: 1, session_id: uuid() });
  var res = http.post(url, body, { headers: { apikey: key, Authorization: "Bearer " + key, "Content-Type": "application/json", "Idempotency-Key": uuid() }, tags: { name: "reserve" } });
  k6.check(res, { "sold out": function (r) { return r.status === 409; } });
};
`;

/**
 * The floor side: that POST with the suite's expected statuses, and on every answer the four samples the
 * guide's measures need (reserve_latency, reserve_errors{code}, reserve_conflicts with the server's
 * retries from X-Serialization-Retries, reserve_failures), the sold-out answer recognised from its text,
 * in one function: about as plain as a script recording those measures gets. Its threshold makes a run
 * that misreads the answers exit 99.
 */
const FLOOR_SCRIPT = `${REQUEST_PRELUDE}var metrics = require("k6/metrics");
var latency = new metrics.Trend("reserve_latency", true);
var errors = new metrics.Counter("reserve_errors");
var conflicts = new metrics.Rate("reserve_conflicts");
var serverRetries = new metrics.Counter("reserve_serialization_retries");
var failures = new metrics.Rate("reserve_failures");
var expected = http.expectedStatuses({ min: 200, max: 299 }, 409);
var soldOutTags = { code: "${TAXONOMY.INSUFFICIENT_INVENTORY}" };
var otherTags = { code: "other" };
exports.options = { thresholds: { reserve_failures: ["rate==0"] } };
exports.default = function () {
  var body = JSON.stringify({ event_id: __ENV.EVENT_ID, tier_id: __ENV.TIER_ID, quantity: 1, session_id: uuid() });
  var res = http.post(url, body, { headers: { apikey: key, Authorization: "Bearer " + key, "Content-Type": "application/json", "Idempotency-Key": uuid() }, tags: { name: "reserve" }, responseCallback: expected });
  var text = res.body;
  var soldOut = res.status === 409 && typeof text === "string" && text.indexOf('"error":"${TAXONOMY.INSUFFICIENT_INVENTORY}"') >= 0;
  var retried = Number(res.headers["${RETRIES_HEADER}"]) || 0;
  latency.add(res.timings.duration);
  errors.add(1, soldOut ? soldOutTags : otherTags);
  if (retried > 0) {
    serverRetries.add(retried);
    for (var n = retried; n > 0; n--) conflicts.add(true);
  }
  conflicts.add(false);
  failures.add(!soldOut);
};
`;

const SIDES = ["bare", "floor", "bundle"] as const;
type Side = (typeof SIDES)[number];
type Round = Record<Side, Measure>;

interface Measure {
  cpuSeconds: number;
  peakRssMb: number;
  wallSeconds: number;
  exitCode: number;
  requests: number | null;
}

/** Runs one command under GNU time; k6's own output is kept only to read the request count. */
function timed(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Measure> {
  return new Promise((resolve, reject) => {
    const child = spawn(GNU_TIME, ["-f", "@@time %U %S %M %e", command, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (out += c.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => {
      const m = /@@time (\S+) (\S+) (\d+) (\S+)/.exec(out);
      if (!m) return reject(new Error(`no timing from ${GNU_TIME}: ${out.slice(-500)}`));
      const requests = /http_reqs\D+(\d+)/.exec(out);
      resolve({
        cpuSeconds: Number(m[1]) + Number(m[2]),
        peakRssMb: Number(m[3]) / 1024,
        wallSeconds: Number(m[4]),
        exitCode: code ?? -1,
        requests: requests ? Number(requests[1]) : null,
      });
    });
  });
}

async function soldOutTier(target: Target): Promise<{ eventId: string; tierId: string }> {
  const headers = { "content-type": "application/json", apikey: target.serviceRoleKey, authorization: `Bearer ${target.serviceRoleKey}` };
  const setup = await fetch(`${target.url}/rest/v1/rpc/load_test_setup`, {
    method: "POST",
    headers,
    body: JSON.stringify({ p_tier_count: 1, p_tickets_per_tier: 0, p_name: "bench:k6 sold out" }),
  });
  if (!setup.ok) throw new Error(`load_test_setup answered ${setup.status}: ${await setup.text()}`);
  const ev = (await setup.json()) as { event_id: string; tier_ids: string[] };
  return { eventId: ev.event_id, tierId: ev.tier_ids[0]! };
}

async function bundleRequests(file: string): Promise<number | null> {
  try {
    const summary = JSON.parse(await readFile(file, "utf8")) as { metrics?: Record<string, { values?: { count?: number } }> };
    return summary.metrics?.http_reqs?.values?.count ?? null;
  } catch {
    return null;
  }
}

const ratio = (a: number, b: number) => (b > 0 ? a / b : NaN);
const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
const mark = (ok: boolean) => (ok ? "✅" : "❌");

async function startup(k6: string, sql: boolean): Promise<{ bundle: string; seconds: number; peakRssMb: number; exitCode: number }[]> {
  const rows = [];
  for (const flavour of sql ? ["", "sql"] : [""]) {
    const dir = path.join(ROOT, "dist", flavour);
    for (const file of (await readdir(dir)).filter((f) => f.endsWith(".js")).sort()) {
      const m = await timed(k6, ["inspect", path.join(dir, file)], process.env);
      rows.push({ bundle: path.join(flavour, file), seconds: m.wallSeconds, peakRssMb: m.peakRssMb, exitCode: m.exitCode });
    }
  }
  return rows;
}

async function main(): Promise<number> {
  const settings = readSettings();
  const k6 = findK6(process.env);
  if (k6 === null) throw new CliExit(`bench:k6 measures a real k6 and found none.\n${k6MissingMessage()}`, EXIT.MISSING_TOOL);
  if (!existsSync(GNU_TIME))
    throw new CliExit(
      `bench:k6 reads CPU time and peak RSS from GNU time, and ${GNU_TIME} is missing (Debian: apt-get install -y time)`,
      EXIT.MISSING_TOOL,
    );
  const info = k6Info(k6);
  const bundleFile = path.join(ROOT, "dist", `${settings.bundle}.js`);
  const buildError = ensureBuilt(bundleFile);
  if (buildError) throw new CliExit(buildError, EXIT.ERROR);

  const loadAtStart = loadavg()[0]!.toFixed(1);
  const work = await mkdtemp(path.join(tmpdir(), "bench-k6-"));
  const target = await startTarget({ port: 0, fast: true });
  try {
    const scripts: Record<Side, string> = { bare: path.join(work, "bare.js"), floor: path.join(work, "floor.js"), bundle: bundleFile };
    await writeFile(scripts.bare, BARE_SCRIPT);
    await writeFile(scripts.floor, FLOOR_SCRIPT);
    const { eventId, tierId } = await soldOutTier(target);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      K6_NO_USAGE_REPORT: "true",
      GOMAXPROCS: "1",
      ...clientEnv(target),
      EVENT_ID: eventId,
      TIER_ID: tierId,
      RESULTS_DIR: work,
      // One reserve per iteration, nothing else: the same requests as the bare script.
      THINK_TIME: "0",
      BOT_RATIO: "0",
      DOUBLE_CLICK_RATIO: "0",
      SECOND_TAB_RATIO: "0",
      SALE_OPENS_IN: "0",
    };
    const load = [
      "run",
      "--quiet",
      "--vus",
      String(settings.vus),
      "--duration",
      `${settings.durationSeconds}s`,
      "--rps",
      String(settings.rps),
    ];
    console.error(
      `bench:k6: k6 ${info.version}, ${settings.vus} VUs, ${settings.durationSeconds} s, --rps ${settings.rps}, ${settings.rounds} round(s) of bare, floor and dist/${settings.bundle}.js`,
    );
    const rounds: Round[] = [];
    for (let i = 0; i < settings.rounds; i++) {
      // Rotate which side goes first, so drifting load elsewhere on the machine weighs on all alike.
      const order = SIDES.map((_, k) => SIDES[(i + k) % SIDES.length]!);
      const round: Partial<Round> = {};
      for (const side of order) {
        console.error(`bench:k6: round ${i + 1}, ${side} ...`);
        const m = await timed(k6, [...load, scripts[side]], env);
        // The bundle prints its own summary; its summary.json has the count.
        if (side === "bundle") m.requests = await bundleRequests(path.join(work, "summary.json"));
        round[side] = m;
      }
      rounds.push(round as Round);
    }
    console.error("bench:k6: k6 inspect of every bundle ...");
    const inspect = await startup(k6, info.sql);

    const perRequest = (m: Measure) => (m.requests ? m.cpuSeconds / m.requests : NaN);
    const cpuRatio = (top: Side, bottom: Side) => rounds.map((r) => ratio(perRequest(r[top]), perRequest(r[bottom])));
    const cpuRatios = cpuRatio("bundle", "bare");
    const floorRatios = cpuRatio("floor", "bare");
    const overFloorRatios = cpuRatio("bundle", "floor");
    const rssRatios = rounds.map((r) => ratio(r.bundle.peakRssMb, r.bare.peakRssMb));
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
    const rounded = (xs: number[]) => xs.map((x) => fmt(x)).join(", ");
    const slowest = inspect.reduce((a, b) => (b.seconds > a.seconds ? b : a));
    const label: Record<Side, string> = { bare: "bare script", floor: "floor script", bundle: `dist/${settings.bundle}.js` };
    const width = Math.max(...Object.values(label).map((l) => l.length)) + 2;
    const measureLine = (m: Measure, side: Side) =>
      `${label[side].padEnd(width)}CPU ${fmt(m.cpuSeconds)} s   peak RSS ${fmt(m.peakRssMb, 0)} MB   requests ${m.requests ?? "?"}   exit ${m.exitCode}`;
    const failedRuns = rounds.flatMap((r, i) =>
      SIDES.filter((side) => r[side].exitCode !== 0).map((side) => `round ${i + 1} ${label[side]}`),
    );
    const lines = [
      `machine: ${cpus().length} cores, 1-minute load average ${loadAtStart} at start, ${loadavg()[0]!.toFixed(1)} at end; k6 ${info.version}`,
      `load: ${settings.vus} VUs, ${settings.durationSeconds} s, --rps ${settings.rps}, one sold-out tier (every reserve answers 409); k6 on one core (GOMAXPROCS=1) on every side`,
      ...rounds.flatMap((r, i) => [
        ...SIDES.map((side, k) => `${k === 0 ? `round ${i + 1}`.padEnd(9) : " ".repeat(9)}${measureLine(r[side], side)}`),
        `${" ".repeat(9)}${"ratios".padEnd(width)}CPU per request: bundle / bare ${fmt(cpuRatios[i]!)}x, floor / bare ${fmt(floorRatios[i]!)}x, bundle / floor ${fmt(overFloorRatios[i]!)}x   peak RSS ${fmt(rssRatios[i]!)}x`,
      ]),
      ...(failedRuns.length > 0
        ? [`⚠ k6 exited non-zero in ${failedRuns.join(", ")}: those runs did not do the same work, so their ratios compare unlike runs`]
        : []),
      `${mark(median(cpuRatios) <= GOALS.cpu)} k6 CPU per request, bundle / bare: median round ${fmt(median(cpuRatios))}x, rounds ${rounded(cpuRatios)} (goal <= ${GOALS.cpu}x)`,
      `   floor / bare: median round ${fmt(median(floorRatios))}x, rounds ${rounded(floorRatios)} (what recording the guide's four measures per reserve costs any script)`,
      `   bundle / floor: median round ${fmt(median(overFloorRatios))}x, rounds ${rounded(overFloorRatios)} (what the suite's own code adds)`,
      `${mark(median(rssRatios) <= GOALS.rss)} k6 peak RSS at ${settings.vus} VUs, bundle / bare: median round ${fmt(median(rssRatios))}x, rounds ${rounded(rssRatios)} (goal <= ${GOALS.rss}x)`,
      `${mark(slowest.seconds <= GOALS.inspectSeconds && inspect.every((r) => r.exitCode === 0))} k6 inspect: slowest ${slowest.bundle} ${fmt(slowest.seconds)} s (goal <= ${GOALS.inspectSeconds} s)` +
        (info.sql ? "" : "; dist/sql/ skipped: this k6 has no xk6-sql"),
      ...inspect.map(
        (r) =>
          `   ${r.bundle.padEnd(24)} ${fmt(r.seconds)} s   ${fmt(r.peakRssMb, 0)} MB${r.exitCode === 0 ? "" : `   exit ${r.exitCode}`}`,
      ),
    ];
    console.log(lines.join("\n"));
    await mkdir(path.join(ROOT, "results"), { recursive: true });
    await writeFile(
      path.join(ROOT, "results", "bench-k6.json"),
      `${JSON.stringify({ k6: info.version, settings, rounds, cpuRatios, floorRatios, overFloorRatios, rssRatios, inspect, goals: GOALS }, null, 2)}\n`,
    );
    console.error("bench:k6: wrote results/bench-k6.json");
    return EXIT.OK;
  } finally {
    await target.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await runCli(main, { cliExit: "", other: "bench:k6: " });
