// Proves the k6 doubles and runner themselves with hand-written CommonJS scripts: every double behaves
// as k6 documents it, the lifecycle runs over several concurrent VUs, thresholds and exit codes follow
// k6 (0, 99, 104, 107, 108), handleSummary files land like k6 writes them; with the overlap fixture
// that VUs and http.batch() really put requests in flight at the same time; and with the timing
// fixture that the executors keep real time: durations, ramps, arrival rates, dropped iterations, and
// latency and rate thresholds judged over it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { createHmac } from "node:crypto";
import { mkdtemp, rm, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { openDatabase, freePort, type Database } from "../backend/database.ts";
import { runK6, count, type K6RunOptions } from "./support/k6-runner.ts";

const PROBE = fileURLToPath(new URL("./k6-doubles/fixtures/probe.js", import.meta.url));
const OVERLAP = fileURLToPath(new URL("./k6-doubles/fixtures/overlap.js", import.meta.url));
const TIMING = fileURLToPath(new URL("./k6-doubles/fixtures/timing.js", import.meta.url));
/** A /meet request is released once that many are in flight, or after this long on its own. */
const MEET_DEADLINE_MS = 5_000;
const SECRET = "probe-secret";
/** How long /slow takes to answer. */
const SLOW_MS = 100;

let db: Database;
let server: Server;
let baseUrl = "";
let deadUrl = "";
let work = "";

/** /meet?key=K&n=N: holds requests until N of key K have arrived, then lets every one through. */
interface Meeting {
  arrived: number;
  inFlight: number;
  maxInFlight: number;
  release: (() => void)[];
}
const meetings = new Map<string, Meeting>();

function meet(url: URL, res: import("node:http").ServerResponse): void {
  const key = url.searchParams.get("key") ?? "";
  const n = Number(url.searchParams.get("n"));
  const m = meetings.get(key) ?? { arrived: 0, inFlight: 0, maxInFlight: 0, release: [] };
  meetings.set(key, m);
  m.arrived += 1;
  m.inFlight += 1;
  m.maxInFlight = Math.max(m.maxInFlight, m.inFlight);
  const answer = () => {
    clearTimeout(deadline);
    m.inFlight -= 1;
    res.writeHead(200, { "content-type": "text/plain" }).end("met");
  };
  const deadline = setTimeout(answer, MEET_DEADLINE_MS);
  m.release.push(answer);
  if (m.arrived >= n) for (const go of m.release.splice(0)) go();
}

before(async () => {
  db = await openDatabase({ port: 0, fast: true, migrate: false });
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const url = new URL(req.url ?? "/", "http://probe");
      if (url.pathname === "/meet") {
        meet(url, res);
        return;
      }
      if (req.url === "/text") {
        res.writeHead(200, { "content-type": "text/plain" }).end("plain text");
        return;
      }
      if (req.url === "/slow") {
        setTimeout(() => res.writeHead(200, { "content-type": "text/plain" }).end("slow"), SLOW_MS);
        return;
      }
      let body: unknown = raw;
      try {
        body = JSON.parse(raw);
      } catch {
        // the batch request sends a bare string on purpose
      }
      const expected = createHmac("sha256", SECRET).update(raw).digest("hex");
      res.writeHead(200, { "content-type": "application/json", "x-echo-method": req.method ?? "" });
      res.end(
        JSON.stringify({
          body,
          signatureOk: req.headers["x-probe-signature"] === expected,
          contentType: req.headers["content-type"] ?? null,
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  deadUrl = `http://127.0.0.1:${await freePort()}/`;
  work = await mkdtemp(path.join(tmpdir(), "k6-probe-"));
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await db.stop();
  await rm(work, { recursive: true, force: true });
});

function probe(mode: string, extra: K6RunOptions = {}) {
  return runK6(PROBE, {
    xk6Sql: true,
    cwd: work,
    env: { PROBE_MODE: mode, BASE_URL: baseUrl, DEAD_URL: deadUrl, DATABASE_URL: db.url, PROBE_SECRET: SECRET, RESULTS_DIR: "out" },
    ...extra,
  });
}

test("a healthy probe run passes every check and threshold and writes its summary", async () => {
  await rm(path.join(work, "out"), { recursive: true, force: true });
  await import("node:fs/promises").then((fs) => fs.mkdir(path.join(work, "out")));
  const r = await probe("ok");
  assert.equal(r.exitCode, 0, r.stderr);
  assert.deepEqual(r.iterationErrors, []);
  const failing = r.checks.filter((c) => c.fails > 0);
  assert.deepEqual(failing, [], JSON.stringify(failing));
  assert.ok(r.checks.some((c) => c.path === "::crypto::rawurl has no padding" && c.passes === 12));
  assert.ok(r.checks.some((c) => c.path === "::teardown::lib/pq requires SSL by default" && c.passes === 1));
  for (const [key, exprs] of Object.entries(r.thresholds)) {
    for (const [expr, ok] of Object.entries(exprs)) assert.ok(ok, `${key}: ${expr}`);
  }
  assert.equal(count(r, "iterations"), 12);
  assert.equal(count(r, "http_reqs"), 60, "five requests per iteration");
  assert.ok(count(r, "probe_vu{vu:1}") > 0 && count(r, "probe_vu{vu:3}") > 0, "every VU takes shared iterations");
  assert.equal(r.metrics["http_req_failed{name:refused}"]?.values.rate, 1);
  assert.equal(r.metrics.probe_latency?.values.count, 12);
  assert.ok((r.metrics.probe_latency?.values["p(99.9)"] ?? -1) > 0);
  assert.equal(r.metrics.teardown_marks?.values.count, 0, "a metric with thresholds is reported without samples");
  assert.ok(r.metrics["http_req_duration{expected_response:true}"]);
  assert.match(r.stdout, /^probe summary: \d+ metrics\n$/);
  const written = JSON.parse(await readFile(path.join(work, "out/summary.json"), "utf8"));
  assert.equal(written.root_group.path, "");
  assert.ok(written.state.testRunDurationMs > 0);
  assert.deepEqual(written.metrics.probe_ok.thresholds, { "rate>0.99": { ok: true } });
  assert.ok(r.files["out/summary.json"]);
});

test("metrics added in teardown count toward thresholds: exit 99", async () => {
  const r = await probe("teardown-marks");
  assert.equal(r.exitCode, 99);
  assert.equal(r.thresholds.teardown_marks?.["count<1"], false);
  assert.equal(count(r, "teardown_marks{check:planted}"), 0, "no threshold on that sub-metric, so not reported");
});

test("abortOnFail stops the iterations, teardown still runs: exit 99", async () => {
  const r = await probe("abort-on-fail");
  assert.equal(r.exitCode, 99);
  // Iteration 2 crosses it; iterations other VUs began meanwhile still finish, as in k6.
  const done = count(r, "iterations");
  assert.ok(done >= 3 && done < 12, `iterations: ${done}`);
  assert.ok(r.checks.some((c) => c.path.startsWith("::teardown::")));
});

test("exec.test.abort() exits 108 and still runs teardown and handleSummary", async () => {
  const r = await probe("abort");
  assert.equal(r.exitCode, 108);
  assert.ok(r.checks.some((c) => c.path.startsWith("::teardown::")));
  assert.match(r.stdout, /probe summary/);
});

test("exceptions: init and setup exit 107 (setup skips teardown), an iteration's is logged and the run goes on", async () => {
  const init = await probe("init-throw");
  assert.equal(init.exitCode, 107);
  assert.match(init.stderr, /probe init failure/);
  const setup = await probe("setup-throw");
  assert.equal(setup.exitCode, 107);
  assert.ok(!setup.checks.some((c) => c.path.startsWith("::teardown::")));
  const iteration = await probe("iteration-throw");
  assert.equal(iteration.exitCode, 0, iteration.stderr);
  assert.equal(iteration.iterationErrors.length, 3, "one per VU (each VU's __ITER 0)");
});

test("a plain k6 refuses k6/x/sql, and a missing summary folder is logged like k6 without changing the exit code", async () => {
  const plain = await probe("ok", { xk6Sql: false });
  assert.equal(plain.exitCode, 107);
  assert.match(plain.stderr, /unknown module: k6\/x\/sql/);
  const r = await probe("ok", {
    env: { PROBE_MODE: "ok", BASE_URL: baseUrl, DEAD_URL: deadUrl, DATABASE_URL: db.url, PROBE_SECRET: SECRET, RESULTS_DIR: "missing" },
  });
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.summaryError ?? "", /could not open 'missing\/summary.json': open missing\/summary.json: no such file or directory/);
  assert.match(r.stderr, /failed to handle the end-of-test summary/);
});

test("VUs run concurrently: requests of different VUs are in flight at the same time", async () => {
  const r = await runK6(OVERLAP, { env: { VUS: "4", ITERATIONS: "8", BASE_URL: baseUrl, KEY: "vus", MEET: "4" } });
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(meetings.get("vus")?.maxInFlight, 4, "all four VUs met at the endpoint");
  assert.ok((r.metrics.http_req_duration?.values.max ?? Infinity) < MEET_DEADLINE_MS, "no request waited alone for the deadline");
  assert.equal(count(r, "iterations"), 8);
});

test("http.batch() sends its requests in parallel, at most batchPerHost (default 6) to one host", async () => {
  const byDefault = await runK6(OVERLAP, { env: { BASE_URL: baseUrl, KEY: "batch6", MEET: "6", MODE: "batch" } });
  assert.equal(byDefault.exitCode, 0, byDefault.stderr);
  assert.equal(meetings.get("batch6")?.maxInFlight, 6);
  const two = await runK6(OVERLAP, { env: { BASE_URL: baseUrl, KEY: "batch2", MEET: "2", MODE: "batch", BATCH_PER_HOST: "2" } });
  assert.equal(two.exitCode, 0, two.stderr);
  assert.equal(meetings.get("batch2")?.maxInFlight, 2);
  assert.equal(count(two, "http_reqs"), 10);
});

/** A timing fixture run: the scenario (executor options as JSON), what one iteration does, its thresholds. */
async function timed(scenario: Record<string, unknown>, iteration: "sleep" | "slow", thresholds: Record<string, string[]> = {}) {
  const started = Date.now();
  const r = await runK6(TIMING, {
    env: {
      BASE_URL: baseUrl,
      SCENARIO: JSON.stringify(scenario),
      ITERATION: iteration,
      SLEEP: "0.05",
      THRESHOLDS: JSON.stringify(thresholds),
    },
  });
  return { r, seconds: (Date.now() - started) / 1000, perVu: (vu: number) => count(r, `timing_vu{vu:${vu}}`) };
}

test("constant-arrival-rate starts rate x duration iterations in real time, and meets a rate threshold as k6 does", async () => {
  const { r, seconds } = await timed(
    // 4 VUs of 50 ms iterations serve 80/s: room to spare for 20/s even on a busy machine.
    { executor: "constant-arrival-rate", rate: 20, timeUnit: "1s", duration: "2s", preAllocatedVUs: 4, maxVUs: 4 },
    "sleep",
    { iterations: ["rate>12"], dropped_iterations: ["count==0"] },
  );
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(count(r, "iterations"), 40);
  assert.ok(seconds >= 2, `the run took ${seconds} s`);
});

test("an arrival finding every VU busy is dropped (dropped_iterations), as in k6", async () => {
  // Two VUs, each iteration 100 ms: at most ~20 of the 40 arrivals find a free VU.
  const { r } = await timed(
    { executor: "constant-arrival-rate", rate: 20, timeUnit: "1s", duration: "2s", preAllocatedVUs: 1, maxVUs: 1 },
    "slow",
    { dropped_iterations: ["count==0"] },
  );
  assert.equal(r.exitCode, 99, r.stderr);
  assert.ok(count(r, "dropped_iterations") >= 15, `dropped ${count(r, "dropped_iterations")}`);
  assert.equal(count(r, "iterations") + count(r, "dropped_iterations"), 40);
});

test("ramping-arrival-rate follows its stages: 0 to 20/s over 2 s is 20 iterations", async () => {
  const { r, seconds } = await timed(
    {
      executor: "ramping-arrival-rate",
      startRate: 0,
      timeUnit: "1s",
      preAllocatedVUs: 4,
      maxVUs: 4,
      stages: [{ duration: "2s", target: 20 }],
    },
    "sleep",
  );
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(count(r, "iterations"), 20);
  assert.ok(seconds >= 1.9, `the run took ${seconds} s`);
});

test("constant-vus keeps its VUs iterating for the duration, and latency thresholds judge real time", async () => {
  // At most 2 VUs x 1 s / 100 ms (+ the two still in flight); at least a few, even on a busy machine.
  const { r, seconds } = await timed({ executor: "constant-vus", vus: 2, duration: "1s" }, "slow", {
    http_req_duration: ["p(50)>80", "p(50)<1000"],
    iterations: ["count>=4", "count<=22"],
  });
  assert.equal(r.exitCode, 0, `${r.stderr}\n${JSON.stringify(r.thresholds)}`);
  assert.ok(seconds >= 1, `the run took ${seconds} s`);
  const tooFast = await timed({ executor: "constant-vus", vus: 1, duration: "1s" }, "slow", { http_req_duration: ["p(50)<50"] });
  assert.equal(tooFast.r.exitCode, 99, "a 100 ms answer crosses p(50)<50");
});

test("ramping-vus starts its VUs as the ramp reaches them: the last VU of a ramp runs least", async () => {
  // Sub-metrics reach the summary only with a threshold, as in k6.
  const { r, perVu } = await timed(
    {
      executor: "ramping-vus",
      startVUs: 0,
      stages: [
        { duration: "2s", target: 4 },
        { duration: "1s", target: 4 },
      ],
    },
    "sleep",
    {
      "timing_vu{vu:1}": ["count>=0"],
      "timing_vu{vu:4}": ["count>=0"],
    },
  );
  assert.equal(r.exitCode, 0, r.stderr);
  assert.ok(perVu(1) > perVu(4), `VU 1 ran ${perVu(1)} iterations, VU 4 ran ${perVu(4)}`);
  assert.ok(perVu(4) > 0, "VU 4 started before the end");
});
