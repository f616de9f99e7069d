// The simulated `k6 run`: one child process per run, so that the test process serving the target is never
// the one the VUs wait on. Every VU is a worker thread with its own instance of the script (vu.ts): VU 0
// gives the options and runs setup, teardown and handleSummary; VUs 1..n run the scenarios concurrently,
// when k6's executors (executors.ts) say, in real time. Lifecycle: init → setup → scenarios → teardown →
// thresholds → handleSummary, with k6's exit codes, and a machine-readable result for test/support/k6-runner.ts.
import { Buffer } from "node:buffer";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as wait } from "node:timers/promises";
import { build } from "esbuild";
import type { Options, Scenario } from "k6/options";
import { parseForK6 } from "../support/bundle-gate.ts";
import { durationMs, runExecutor, vusNeeded } from "./executors.ts";
import { emptyRecords, merge, parseThresholds, passes, summaryData, textSummary, type SummaryData, type Threshold } from "./summary.ts";
import type { Report, RunConfig, ScenarioPlan } from "./vu.ts";
import { VuThread } from "./vu-thread.ts";

export type ChildConfig = RunConfig & { resultPath: string };

export interface ChildResult {
  exitCode: number;
  data: SummaryData | null;
  iterationErrors: string[];
  warnings: string[];
  /** Paths handleSummary asked for and that were written, relative to cwd as given. */
  filesWritten: string[];
  summaryError: string | null;
}

/** k6's exit codes (errext/exitcodes). */
const EXIT = { ok: 0, thresholds: 99, invalidConfig: 104, scriptException: 107, scriptAborted: 108 } as const;

const config = JSON.parse(process.argv[2]!) as ChildConfig;
const log = (line: string) => process.stderr.write(`${line}\n`);
const records = emptyRecords();
const iterationErrors: string[] = [];

function finish(exitCode: number, data: SummaryData | null = null, filesWritten: string[] = [], summaryError: string | null = null): never {
  const result: ChildResult = { exitCode, data, iterationErrors, warnings: records.warnings, filesWritten, summaryError };
  writeFileSync(config.resultPath, JSON.stringify(result));
  return process.exit(exitCode);
}

/** Merges a VU's report into the run and logs what its script threw: the exit code that calls for, if any. */
function absorb(report: Report, where: string): number | null {
  merge(records, report.records);
  if (report.aborted !== undefined) log(`level=error msg=${JSON.stringify(`test aborted: ${report.aborted}`)} ${where}`);
  else if (report.error !== undefined) log(`level=error msg=${JSON.stringify(report.error)} ${where}`);
  else return null;
  return report.aborted !== undefined ? EXIT.scriptAborted : EXIT.scriptException;
}

/** options.scenarios, or the one k6 makes of the vus/iterations/duration/stages shortcuts (or of the run's flags). */
function scenariosOf(options: Options): Record<string, Scenario> {
  if (options.scenarios) return options.scenarios;
  const vus = options.vus ?? 1;
  if (options.stages) return { default: { executor: "ramping-vus", startVUs: vus, stages: options.stages } };
  if (options.duration !== undefined && options.iterations === undefined) {
    return { default: { executor: "constant-vus", vus, duration: options.duration } };
  }
  return { default: { executor: "shared-iterations", vus, iterations: options.iterations ?? 1, maxDuration: options.duration } };
}

// 1. Init: k6's parser first (a syntax error exits 107), then VU 0, whose options shape the run.
try {
  parseForK6(readFileSync(config.bundle, "utf8"));
} catch (err) {
  log(`level=error msg="SyntaxError: ${(err as Error).message}" hint="script exception"`);
  finish(EXIT.scriptException);
}
// Node gives a worker thread no TypeScript loader: a VU runs vu.ts bundled into one file.
const vuEntry = path.join(path.dirname(config.resultPath), "vu.mjs");
const vuSource = path.join(import.meta.dirname, "vu.ts");
await build({ entryPoints: [vuSource], bundle: true, platform: "node", format: "esm", outfile: vuEntry, logLevel: "warning" });

const vu0 = new VuThread(vuEntry, { vu: 0, config, scenarios: [] });
const init = await vu0.next;
const initCode = absorb(init, "stage=init");
if (initCode !== null) finish(initCode);
const { options, functions } = init.value as { options: Options; functions: string[] };
let thresholds: Threshold[] = [];
try {
  thresholds = parseThresholds(options.thresholds, records.metrics);
} catch (err) {
  log(`level=error msg=${JSON.stringify((err as Error).message)}`);
  finish(EXIT.invalidConfig);
}

const specs = Object.entries(scenariosOf(config.flags ?? options));
const plans: ScenarioPlan[] = specs.map(([name, sc]) => ({ name, exec: sc.exec ?? "default", env: sc.env ?? {}, tags: sc.tags ?? {} }));
for (const plan of plans) {
  if (!functions.includes(plan.exec)) {
    log(`level=error msg="executor ${plan.name}: function '${plan.exec}' not found in exports"`);
    finish(EXIT.invalidConfig);
  }
}

// k6 gives every scenario VUs of its own, numbered across the run, and inits them all before setup().
let lastVu = 0;
const vusOf = specs.map(([, sc]) => Array.from({ length: vusNeeded(sc) }, () => ++lastVu));
const threads = vusOf.flat().map((vu) => new VuThread(vuEntry, { vu, config, scenarios: plans, options }));
for (const report of await Promise.all(threads.map((t) => t.next))) {
  const code = absorb(report, "stage=init");
  if (code !== null) finish(code);
}

// 2. setup(), whose result reaches the VUs and teardown as JSON.
const started = Date.now();
const elapsed = () => Date.now() - started;
const setup = await vu0.ask({ do: "setup" });
const setupCode = absorb(setup, "stage=setup");
let exitCode: number = setupCode ?? EXIT.ok;
const setupJson = (setup.value as string | null | undefined) ?? null;

// 3. The scenarios, concurrently, each from its startTime, on its own VUs, until one stops the run.
if (setupCode === null) {
  for (const t of threads) t.setupJson = setupJson;
  let stopped = false;
  const stop = (code: number) => {
    if (!stopped) exitCode = code;
    stopped = true;
  };
  const aborting = thresholds.filter((t) => t.abortOnFail);
  const iterate = async (vu: number, scenario: number, iteration: number) => {
    const thread = threads[vu - 1]!;
    const report = await thread.ask({ do: "iterate", scenario, iteration, data: thread.setupJson });
    thread.setupJson = undefined;
    const { name } = plans[scenario]!;
    const code = absorb(report, `scenario=${name} source=stacktrace`);
    // k6 logs an iteration's exception and goes on; a crashed thread is a fault of the doubles.
    if (code === EXIT.scriptException && !report.crashed) iterationErrors.push(`${name} vu=${vu}: ${report.error}`);
    else if (code !== null) stop(code);
    if (!stopped && aborting.some((t) => !passes(t, records, elapsed()))) {
      log(`level=error msg="thresholds on metrics have been crossed; aborting the test (abortOnFail)"`);
      stop(EXIT.thresholds);
    }
  };
  try {
    await Promise.all(
      specs.map(async ([name, sc], index) => {
        const vus = vusOf[index]!;
        await wait(durationMs(sc.startTime, 0));
        const dropped = () => void records.metrics.dropped_iterations!.samples.push({ value: 1, tags: { scenario: name } });
        await runExecutor({ vus, run: (vu, iteration) => iterate(vu, index, iteration), stopped: () => stopped, dropped }, sc);
      }),
    );
  } catch (err) {
    log(`level=error msg=${JSON.stringify((err as Error).message)}`);
    exitCode = EXIT.invalidConfig;
  }
  // 4. teardown(data) runs after aborts too (k6: "Aborting the test will not prevent the teardown()").
  const teardownCode = absorb(await vu0.ask({ do: "teardown", data: setupJson }), "stage=teardown");
  if (teardownCode !== null && (exitCode === EXIT.ok || exitCode === EXIT.thresholds)) exitCode = teardownCode;
}

// 5. Thresholds over everything, teardown samples included.
const runDurationMs = elapsed();
const crossed = thresholds.filter((t) => !passes(t, records, runDurationMs));
if (crossed.length > 0) {
  log(`level=error msg="thresholds on metrics '${[...new Set(crossed.map((t) => t.metric))].join("', '")}' have been crossed"`);
  if (exitCode === EXIT.ok) exitCode = EXIT.thresholds;
}

// 6. handleSummary: its errors are logged, they never change the exit code (k6 cmd/run.go).
const data = summaryData(records, thresholds, options, runDurationMs, JSON.parse(setupJson ?? "null") ?? undefined);
let out: Record<string, unknown> = { stdout: textSummary(data) };
let summaryError: string | null = null;
if (functions.includes("handleSummary")) {
  const report = await vu0.ask({ do: "summary", data });
  summaryError = report.error ?? null;
  out = (report.value as Record<string, unknown> | undefined) ?? {};
}
const filesWritten: string[] = [];
const problems: string[] = [];
for (const [file, value] of Object.entries(out)) {
  const content = value instanceof ArrayBuffer ? Buffer.from(value) : String(value);
  if (file === "stdout" || file === "stderr") {
    process[file].write(content);
    continue;
  }
  try {
    writeFileSync(file, content);
    filesWritten.push(file);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or directory" : (err as Error).message;
    problems.push(`could not open '${file}': open ${file}: ${reason}`);
  }
}
if (problems.length > 0) summaryError = `Could not save some summary information:\n\t- ${problems.join("\n\t- ")}`;
if (summaryError) log(`level=error msg="failed to handle the end-of-test summary" error=${JSON.stringify(summaryError)}`);
finish(exitCode, data, filesWritten, summaryError);
