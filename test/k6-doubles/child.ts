// The simulated `k6 run`: one child process per run (so the test process that serves the target is
// never the one blocked in Atomics.wait). Its main thread is VU 0 (options, setup, teardown,
// handleSummary) and runs the executors (executors.ts) in real time; every VU is a worker thread with
// its own instance of the script (vu-pool.ts), so VUs run concurrently as in k6. Lifecycle: init →
// setup → scenarios → teardown → thresholds → handleSummary, with k6's exit codes, and a
// machine-readable result for test/support/k6-runner.ts.
import { readFileSync, writeFileSync } from "node:fs";
import { Buffer } from "node:buffer";
import path from "node:path";
import { setTimeout as wait } from "node:timers/promises";
import { build } from "esbuild";
import { bootK6, describe, stderr, type Exports, type RuntimeConfig } from "./environment.ts";
import { durationMs, runExecutor, vusNeeded } from "./executors.ts";
import { builtin, emit, runtime, TestAbort } from "./runtime.ts";
import { InvalidThreshold, parseThresholds, passes, type Threshold } from "./thresholds.ts";
import { buildSummaryData, textSummary, type SummaryData } from "./summary.ts";
import { parseForK6 } from "./gate.ts";
import { VuPool } from "./vu-pool.ts";
import type { ScenarioPlan } from "./vu-protocol.ts";

export interface ChildConfig extends RuntimeConfig {
  resultPath: string;
}

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

const proc: NodeJS.Process = process;
const config = JSON.parse(proc.argv[2]!) as ChildConfig;
let iterationErrors: string[] = [];
const g = globalThis as Record<string, unknown>;

function finish(result: Omit<ChildResult, "iterationErrors" | "warnings">): never {
  writeFileSync(config.resultPath, JSON.stringify({ ...result, iterationErrors, warnings: runtime.warnings }));
  proc.exit(result.exitCode);
}

// VU threads get the doubles as one JavaScript file: Node 20 gives a worker no TypeScript loader.
// Compiled before bootK6 removes the globals k6 lacks (esbuild itself needs `process`).
const vuEntry = path.join(path.dirname(config.resultPath), "vu.mjs");
await build({
  entryPoints: [path.join(import.meta.dirname, "vu.ts")], bundle: true, platform: "node", format: "esm", target: "node20",
  outfile: vuEntry, logLevel: "warning",
});

// 1. Init: the parser floor first (k6 exits 107 on a syntax error), then VU 0, then one worker per VU.
try {
  parseForK6(readFileSync(config.bundle, "utf8"));
} catch (err) {
  stderr(`level=error msg="SyntaxError: ${(err as Error).message}" hint="script exception"`);
  finish({ exitCode: EXIT.scriptException, data: null, filesWritten: [], summaryError: null });
}

const initFailed = (err: unknown): never => {
  const code = err instanceof TestAbort ? EXIT.scriptAborted : err instanceof InvalidThreshold ? EXIT.invalidConfig : EXIT.scriptException;
  stderr(`level=error msg=${JSON.stringify(describe(err))} stage=init`);
  return finish({ exitCode: code, data: null, filesWritten: [], summaryError: null });
};

type Options = Record<string, unknown>;

/** options.scenarios, or the scenario k6 makes of the vus/iterations/duration/stages shortcuts. */
function scenariosOf(options: Options): Record<string, Options> {
  if (options.scenarios) return options.scenarios as Record<string, Options>;
  const vus = options.vus ?? 1;
  if (options.stages) return { default: { executor: "ramping-vus", startVUs: vus, stages: options.stages } };
  if (options.duration !== undefined && options.iterations === undefined) return { default: { executor: "constant-vus", vus, duration: options.duration } };
  return { default: { executor: "shared-iterations", vus, iterations: options.iterations ?? 1, maxDuration: options.duration } };
}

let main: Exports;
let thresholds: Threshold[];
try {
  main = bootK6(config)(0);
  runtime.options = (main.options as Options | undefined) ?? {};
  thresholds = parseThresholds(runtime.options.thresholds, runtime.metrics);
} catch (err) {
  initFailed(err);
}

const specs = Object.entries(scenariosOf(config.flags ? { ...config.flags } : runtime.options));
const scenarios: ScenarioPlan[] = specs.map(([name, sc]) => ({
  name, exec: (sc.exec as string | undefined) ?? "default", executor: String(sc.executor ?? "shared-iterations"),
  env: (sc.env as Record<string, string> | undefined) ?? {}, tags: (sc.tags as Record<string, string> | undefined) ?? {},
}));
for (const sc of scenarios) {
  if (typeof main![sc.exec] !== "function") {
    stderr(`level=error msg="executor ${sc.name}: function '${sc.exec}' not found in exports"`);
    finish({ exitCode: EXIT.invalidConfig, data: null, filesWritten: [], summaryError: null });
  }
}

// k6 gives every scenario VUs of its own, numbered across the run.
const vuCounts = specs.map(([, sc]) => vusNeeded(sc));
const totalVus = vuCounts.reduce((a, b) => a + b, 0);
runtime.vus = totalVus;
const aborting = thresholds!.filter((t) => t.abortOnFail);
const abortOnFail = () => aborting.some((t) => !passes(t, runtime.metrics.get(t.metric)!, elapsed()));
const pool = new VuPool(vuEntry, config, scenarios, totalVus, aborting.length > 0 ? abortOnFail : null);
const init = await pool.ready();
if (!init.ok) {
  await pool.stop();
  initFailed(init.aborted ? new TestAbort(init.message) : new Error(init.message));
}

const runStarted = Date.now();
runtime.startedAt = runStarted;
const elapsed = () => Date.now() - runStarted;
let exitCode: number = EXIT.ok;
let setupOk = false;

async function stagePart(stage: "setup" | "teardown", arg: unknown): Promise<unknown> {
  runtime.stage = stage;
  runtime.vuId = 0;
  runtime.scenario = null;
  runtime.groupStack = [stage];
  g.__VU = 0;
  g.__ITER = 0;
  try {
    const fn = main![stage] as ((data: unknown) => unknown) | undefined;
    return fn ? await fn(arg) : undefined;
  } finally {
    runtime.groupStack = [];
  }
}

// 2. setup(), whose result reaches VUs and teardown as JSON (functions and classes do not survive).
let setupData: unknown;
try {
  const raw = await stagePart("setup", undefined);
  setupData = raw === undefined ? undefined : JSON.parse(JSON.stringify(raw));
  setupOk = true;
} catch (err) {
  exitCode = err instanceof TestAbort ? EXIT.scriptAborted : EXIT.scriptException;
  stderr(`level=error msg=${JSON.stringify(describe(err))} stage=setup`);
}

// 3. The scenarios, concurrently, each from its startTime, on its own VUs.
if (setupOk) {
  emit(builtin("vus_max"), totalVus, {});
  pool.start(setupData);
  let firstVu = 1;
  try {
    await Promise.all(
      specs.map(async ([name, sc], index) => {
        const vus = Array.from({ length: vuCounts[index]! }, (_, i) => firstVu + i);
        firstVu += vus.length;
        await wait(durationMs(sc.startTime, 0));
        await runExecutor(
          {
            vus,
            run: (vu, iterationInTest) => pool.run(vu, index, iterationInTest),
            stopped: () => pool.stopped(),
            dropped: () => emit(builtin("dropped_iterations"), 1, { scenario: name }),
          },
          sc,
        );
      }),
    );
  } catch (err) {
    stderr(`level=error msg=${JSON.stringify(describe(err))}`);
    exitCode = EXIT.invalidConfig;
  }
  await pool.stop();
  const outcome = pool.outcome;
  iterationErrors = outcome.iterationErrors;
  if (outcome.thresholdAborted) {
    exitCode = EXIT.thresholds;
    stderr(`level=error msg="thresholds on metrics have been crossed; aborting the test (abortOnFail)"`);
  } else if (outcome.testAborted !== null) exitCode = EXIT.scriptAborted;
  for (const crash of outcome.crashes) stderr(`level=error msg=${JSON.stringify("VU thread failed: " + crash)}`);
  if (outcome.crashes.length > 0 && exitCode === EXIT.ok) exitCode = EXIT.scriptException;
  // 4. teardown(data) runs after aborts too (k6: "Aborting the test will not prevent the teardown()").
  try {
    await stagePart("teardown", setupData);
  } catch (err) {
    if (exitCode === EXIT.ok || exitCode === EXIT.thresholds) exitCode = err instanceof TestAbort ? EXIT.scriptAborted : EXIT.scriptException;
    stderr(`level=error msg=${JSON.stringify(describe(err))} stage=teardown`);
  }
} else await pool.stop();

// 5. Thresholds over everything, teardown samples included.
const runDurationMs = elapsed();
const crossed = thresholds!.filter((t) => !passes(t, runtime.metrics.get(t.metric)!, runDurationMs));
if (crossed.length > 0) {
  stderr(`level=error msg="thresholds on metrics '${[...new Set(crossed.map((t) => t.key))].join("', '")}' have been crossed"`);
  if (exitCode === EXIT.ok) exitCode = EXIT.thresholds;
}

// 6. handleSummary: its errors are logged, they never change the exit code (k6 cmd/run.go).
runtime.stage = "summary";
runtime.groupStack = [];
const data = buildSummaryData(thresholds!, runDurationMs);
const filesWritten: string[] = [];
let summaryError: string | null = null;
const handle = main!.handleSummary as ((d: unknown) => unknown) | undefined;
try {
  const out = handle ? ((await handle(JSON.parse(JSON.stringify(data)))) as Record<string, unknown> | undefined) : { stdout: textSummary(data) };
  const problems: string[] = [];
  for (const [file, value] of Object.entries(out ?? {})) {
    const content = value instanceof ArrayBuffer ? Buffer.from(new Uint8Array(value)) : String(value);
    if (file === "stdout") proc.stdout.write(content);
    else if (file === "stderr") proc.stderr.write(content);
    else {
      try {
        writeFileSync(file, content);
        filesWritten.push(file);
      } catch (err) {
        const reason = (err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or directory" : (err as Error).message;
        problems.push(`could not open '${file}': open ${file}: ${reason}`);
      }
    }
  }
  if (problems.length > 0) summaryError = `Could not save some summary information:\n\t- ${problems.join("\n\t- ")}`;
} catch (err) {
  summaryError = describe(err);
}
if (summaryError) stderr(`level=error msg="failed to handle the end-of-test summary" error=${JSON.stringify(summaryError)}`);
finish({ exitCode, data, filesWritten, summaryError });
