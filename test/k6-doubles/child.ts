// The simulated `k6 run`: one child process per run (so the test process that serves the target is
// never the one blocked in Atomics.wait). Runs init → setup → iterations over several VUs (each its
// own module instance) → teardown → thresholds → handleSummary, with k6's exit codes, and writes a
// machine-readable result for test/support/k6-runner.ts.
import { readFileSync, writeFileSync } from "node:fs";
import { register } from "node:module";
import { resolve as resolvePath } from "node:path";
import { pathToFileURL } from "node:url";
import { Buffer } from "node:buffer";
import { builtin, emit, registerBuiltins, runtime, TestAbort, type ScenarioState } from "./runtime.ts";
import { InvalidThreshold, parseThresholds, passes, type Threshold } from "./thresholds.ts";
import { buildSummaryData, textSummary, type SummaryData } from "./summary.ts";
import { parseForK6 } from "./gate.ts";
import "./sync.ts";

export interface ChildConfig {
  bundle: string;
  env: Record<string, string>;
  vus: number;
  iterations: number;
  xk6Sql: boolean;
  sleepScale: number;
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
const stderr = (line: string) => proc.stderr.write(line + "\n");
const iterationErrors: string[] = [];

function describe(err: unknown): string {
  if (proc.env.K6H_DEBUG) return String((err as Error).stack);
  return err instanceof Error ? `${err.name === "Error" ? "" : err.name + ": "}${err.message}` : String(err);
}

// k6's console writes log lines to stderr; stdout carries only the summary.
for (const level of ["log", "info", "warn", "error", "debug"] as const) {
  console[level] = (...args: unknown[]) =>
    stderr(`level=${level === "log" ? "info" : level} msg=${JSON.stringify(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "))} source=console`);
}

const doubles = (name: string) => pathToFileURL(resolvePath(import.meta.dirname, name)).href;
const modules: Record<string, string> = {
  k6: doubles("k6.ts"),
  "k6/http": doubles("http.ts"),
  "k6/metrics": doubles("metrics.ts"),
  "k6/execution": doubles("execution.ts"),
  "k6/crypto": doubles("crypto.ts"),
  "k6/encoding": doubles("encoding.ts"),
  ...(config.xk6Sql ? { "k6/x/sql": doubles("sql.ts"), "k6/x/sql/driver/postgres": doubles("sql-driver-postgres.ts") } : {}),
};
const bundleUrl = pathToFileURL(config.bundle).href;
register(pathToFileURL(resolvePath(import.meta.dirname, "hooks.mjs")).href, { data: { modules, bundleUrl } });
// Load every double before the globals go, so their own imports still resolve.
await Promise.all(Object.values(modules).map((url) => import(url)));

// What k6 v0.49's runtime lacks, so a bundle relying on it fails here as it would there.
for (const name of [
  "process", "Buffer", "URL", "URLSearchParams", "TextEncoder", "TextDecoder", "structuredClone", "Intl", "btoa", "atob",
  "setTimeout", "setInterval", "clearTimeout", "clearInterval", "setImmediate", "clearImmediate", "fetch", "crypto",
  "global", "navigator", "queueMicrotask",
]) {
  Reflect.deleteProperty(globalThis, name);
}
const g = globalThis as Record<string, unknown>;

type Exports = Record<string, unknown>;

async function load(vu: number): Promise<Exports> {
  runtime.stage = "init";
  runtime.vuId = vu;
  g.__VU = vu;
  g.__ITER = 0;
  return (await import(`${bundleUrl}?vu=${vu}`)) as Exports;
}

function finish(result: Omit<ChildResult, "iterationErrors" | "warnings">): never {
  writeFileSync(config.resultPath, JSON.stringify({ ...result, iterationErrors, warnings: runtime.warnings }));
  proc.exit(result.exitCode);
}

// 1. Init: the parser floor first (k6 exits 107 on a syntax error), then VU 0 (options, setup,
//    teardown, handleSummary) and one instance per VU.
g.__ENV = { ...config.env };
registerBuiltins();
try {
  parseForK6(readFileSync(config.bundle, "utf8"));
} catch (err) {
  stderr(`level=error msg="SyntaxError: ${(err as Error).message}" hint="script exception"`);
  finish({ exitCode: EXIT.scriptException, data: null, filesWritten: [], summaryError: null });
}

let main: Exports;
const instances = new Map<number, Exports>();
let thresholds: Threshold[];
try {
  main = await load(0);
  runtime.options = (main.options as Record<string, unknown> | undefined) ?? {};
  thresholds = parseThresholds(runtime.options.thresholds, runtime.metrics);
  for (let vu = 1; vu <= config.vus; vu += 1) instances.set(vu, await load(vu));
} catch (err) {
  const code = err instanceof TestAbort ? EXIT.scriptAborted : err instanceof InvalidThreshold ? EXIT.invalidConfig : EXIT.scriptException;
  stderr(`level=error msg=${JSON.stringify(describe(err))} stage=init`);
  finish({ exitCode: code, data: null, filesWritten: [], summaryError: null });
}

interface ScenarioConfig {
  exec?: string;
  executor?: string;
  env?: Record<string, string>;
  tags?: Record<string, string>;
}
const scenarios: [string, ScenarioConfig][] = runtime.options.scenarios
  ? Object.entries(runtime.options.scenarios as Record<string, ScenarioConfig>)
  : [["default", { executor: "shared-iterations" }]];
for (const [name, sc] of scenarios) {
  const fn = sc.exec ?? "default";
  if (typeof main![fn] !== "function") {
    stderr(`level=error msg="executor ${name}: function '${fn}' not found in exports"`);
    finish({ exitCode: EXIT.invalidConfig, data: null, filesWritten: [], summaryError: null });
  }
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

const abortingThresholdFailed = () =>
  thresholds!.some((t) => t.abortOnFail && !passes(t, runtime.metrics.get(t.metric)!, elapsed()));

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

// 3. VU code: iterations shared round-robin over the VUs, per scenario.
if (setupOk) {
  emit(builtin("vus"), config.vus, {});
  emit(builtin("vus_max"), config.vus, {});
  const perVu = new Map<number, number>();
  outer: for (const [name, sc] of scenarios) {
    const scenario: ScenarioState = { name, executor: sc.executor ?? "shared-iterations", iterationInTest: 0, tags: sc.tags ?? {} };
    const vuIterations = new Map<number, number>();
    for (let i = 0; i < config.iterations; i += 1) {
      const vu = (i % config.vus) + 1;
      const exports = instances.get(vu)!;
      runtime.stage = "vu";
      runtime.vuId = vu;
      runtime.scenario = { ...scenario, iterationInTest: i };
      runtime.vuIterationInScenario = vuIterations.get(vu) ?? 0;
      runtime.vuIterationInInstance = perVu.get(vu) ?? 0;
      runtime.groupStack = [];
      g.__VU = vu;
      g.__ITER = runtime.vuIterationInScenario;
      g.__ENV = { ...config.env, ...(sc.env ?? {}) };
      const started = performance.now();
      try {
        await (exports[sc.exec ?? "default"] as (data: unknown) => unknown)(setupData);
      } catch (err) {
        if (err instanceof TestAbort) {
          exitCode = EXIT.scriptAborted;
          stderr(`level=error msg=${JSON.stringify("test aborted: " + err.message)} scenario=${name}`);
          break outer;
        }
        iterationErrors.push(`${name} vu=${vu} iter=${runtime.vuIterationInScenario}: ${describe(err)}`);
        stderr(`level=error msg=${JSON.stringify(describe(err))} scenario=${name} source=stacktrace`);
      }
      const tags = { scenario: name, group: "", ...scenario.tags };
      emit(builtin("iteration_duration"), performance.now() - started, tags);
      emit(builtin("iterations"), 1, tags);
      vuIterations.set(vu, runtime.vuIterationInScenario + 1);
      perVu.set(vu, runtime.vuIterationInInstance + 1);
      if (abortingThresholdFailed()) {
        exitCode = EXIT.thresholds;
        stderr(`level=error msg="thresholds on metrics have been crossed; aborting the test (abortOnFail)"`);
        break outer;
      }
    }
  }
  g.__ENV = { ...config.env };
  // 4. teardown(data) runs after aborts too (k6: "Aborting the test will not prevent the teardown()").
  try {
    await stagePart("teardown", setupData);
  } catch (err) {
    if (exitCode === EXIT.ok || exitCode === EXIT.thresholds) exitCode = err instanceof TestAbort ? EXIT.scriptAborted : EXIT.scriptException;
    stderr(`level=error msg=${JSON.stringify(describe(err))} stage=teardown`);
  }
}

// 5. Thresholds over everything, teardown samples included.
const durationMs = elapsed();
const crossed = thresholds!.filter((t) => !passes(t, runtime.metrics.get(t.metric)!, durationMs));
if (crossed.length > 0) {
  stderr(`level=error msg="thresholds on metrics '${[...new Set(crossed.map((t) => t.key))].join("', '")}' have been crossed"`);
  if (exitCode === EXIT.ok) exitCode = EXIT.thresholds;
}

// 6. handleSummary: its errors are logged, they never change the exit code (k6 cmd/run.go).
runtime.stage = "summary";
runtime.groupStack = [];
const data = buildSummaryData(thresholds!, durationMs);
const filesWritten: string[] = [];
let summaryError: string | null = null;
const handle = main!.handleSummary as ((d: unknown) => unknown) | undefined;
try {
  const out = handle ? ((await handle(JSON.parse(JSON.stringify(data)))) as Record<string, unknown> | undefined) : { stdout: textSummary(data) };
  const problems: string[] = [];
  for (const [path, value] of Object.entries(out ?? {})) {
    const content = value instanceof ArrayBuffer ? Buffer.from(new Uint8Array(value)) : String(value);
    if (path === "stdout") proc.stdout.write(content);
    else if (path === "stderr") proc.stderr.write(content);
    else {
      try {
        writeFileSync(path, content);
        filesWritten.push(path);
      } catch (err) {
        const reason = (err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or directory" : (err as Error).message;
        problems.push(`could not open '${path}': open ${path}: ${reason}`);
      }
    }
  }
  if (problems.length > 0) summaryError = `Could not save some summary information:\n\t- ${problems.join("\n\t- ")}`;
} catch (err) {
  summaryError = describe(err);
}
if (summaryError) stderr(`level=error msg="failed to handle the end-of-test summary" error=${JSON.stringify(summaryError)}`);
finish({ exitCode, data, filesWritten, summaryError });
