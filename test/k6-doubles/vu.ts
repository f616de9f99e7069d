// One k6 VU in a worker thread of its own, so that VUs run at the same time as in k6. The script is loaded as
// k6 v0.49 loads it: wrapped in `(function(module, exports){ ... })`, without the globals k6 lacks, with a global
// require() that knows only the k6 modules and is gone once init is over. Then the thread does what child.ts
// says, one command at a time, answering each with a report of what it recorded meanwhile.
import { readFileSync } from "node:fs";
import type { BaseScenario, Options } from "k6/options";
import { runInThisContext } from "node:vm";
import { workerData } from "node:worker_threads";
import { crypto, encoding } from "./crypto.ts";
import { FORBIDDEN_GLOBALS, wrapLikeK6 } from "../support/bundle-gate.ts";
import { http } from "./http.ts";
import { execution, k6, metrics } from "./k6.ts";
import { call, emit, sampleTags, state, take, TestAbort } from "./runtime.ts";
import { driver, sql } from "./sql.ts";
import type { Records } from "./summary.ts";

export interface RunConfig {
  bundle: string;
  env: Record<string, string>;
  /** Offer k6/x/sql, like a k6 built with xk6-sql. */
  xk6Sql: boolean;
  flags?: { vus?: number; duration?: string; iterations?: number };
}

export type ScenarioPlan = { name: string } & Required<Pick<BaseScenario, "exec" | "env" | "tags">>;

export interface VuData {
  vu: number;
  config: RunConfig;
  scenarios: ScenarioPlan[];
  /** VU 0's options, for the other VUs. */
  options?: Options;
  /** Set by the main thread when it answers (runtime.ts call()). */
  flag: Int32Array;
}

export type Command =
  | { do: "setup" }
  | { do: "iterate"; scenario: number; iteration: number; data?: string | null }
  | { do: "teardown"; data: string | null }
  | { do: "summary"; data: unknown };

/** `value`: init's options and exported functions, setup()'s data as JSON, handleSummary()'s files. */
export interface Report {
  records: Records;
  value?: unknown;
  error?: string;
  aborted?: string;
  /** The thread failed outside the script: a fault of the doubles. */
  crashed?: boolean;
}

const { vu, config, scenarios, options } = workerData as VuData;
const proc = process;
const g = globalThis as Record<string, unknown>;
/** As k6 logs an exception ("TypeError: ..."; a plain Error shows its message only), with the stack under K6H_DEBUG. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return proc.env.K6H_DEBUG ? String(err.stack) : `${err.name === "Error" ? "" : `${err.name}: `}${err.message}`;
}

const K6_MODULES = { k6, "k6/crypto": crypto, "k6/encoding": encoding, "k6/execution": execution, "k6/http": http, "k6/metrics": metrics };
const SQL_MODULES = { "k6/x/sql": sql, "k6/x/sql/driver/postgres": driver };
const MODULES: Record<string, object> = config.xk6Sql ? { ...K6_MODULES, ...SQL_MODULES } : K6_MODULES;

// k6's console writes log lines to stderr; stdout carries only the summary.
for (const level of ["log", "info", "warn", "error", "debug"] as const) {
  console[level] = (...args: unknown[]) => {
    const msg = args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" ");
    proc.stderr.write(`level=${level === "log" ? "info" : level} msg=${JSON.stringify(msg)} source=console\n`);
  };
}
const ALSO_MISSING = ["clearTimeout", "clearInterval", "setImmediate", "clearImmediate", "queueMicrotask", "global", "navigator"];
for (const name of [...FORBIDDEN_GLOBALS, ...ALSO_MISSING]) Reflect.deleteProperty(globalThis, name);

/** Runs one stage of the script and reports; an exception becomes the report's error. */
async function report(stage: typeof state.stage, run: () => unknown): Promise<Report> {
  state.stage = stage;
  state.groups = stage === "setup" || stage === "teardown" ? [stage] : [];
  try {
    return { value: await run(), records: take() };
  } catch (err) {
    return { records: take(), ...(err instanceof TestAbort ? { aborted: err.message } : { error: describe(err) }) };
  }
}

let exports: Record<string, unknown> = {};
const fn = (name: string) => exports[name] as ((arg?: unknown) => unknown) | undefined;
const fromJson = (text: string | null) => (text === null ? undefined : JSON.parse(text));
const perScenario = scenarios.map(() => 0);
let setupData: unknown;
Object.assign(g, { __VU: vu, __ITER: 0, __ENV: { ...config.env } });
state.vu = vu;

let next = await report("init", () => {
  g.require = (specifier: string) => {
    if (!MODULES[specifier]) throw new Error(`unknown module: ${specifier}`);
    return MODULES[specifier];
  };
  const module = { exports };
  const script = runInThisContext(wrapLikeK6(readFileSync(config.bundle, "utf8")), { filename: config.bundle });
  try {
    (script as (m: typeof module, e: typeof exports) => void)(module, exports);
  } finally {
    delete g.require;
  }
  exports = module.exports;
  // k6 reads options from VU 0's instance and applies them to every VU.
  state.options = options ?? (exports.options as Options | undefined) ?? {};
  state.tags = { ...state.options.tags };
  return { options: state.options, functions: Object.keys(exports).filter((k) => typeof exports[k] === "function") };
});

// The thread ends with its process, once the run has written its result.
for (let cmd = call<Command>(next); ; cmd = call<Command>(next)) {
  // setup()'s data travels as JSON text, as in k6.
  if (cmd.do === "setup") next = await report("setup", async () => JSON.stringify(await fn("setup")?.()) ?? null);
  else if (cmd.do === "teardown") next = await report("teardown", async () => void (await fn("teardown")?.(fromJson(cmd.data))));
  else if (cmd.do === "summary") next = await report("summary", () => fn("handleSummary")?.(cmd.data));
  else {
    const sc = scenarios[cmd.scenario]!;
    if (cmd.data !== undefined) setupData = fromJson(cmd.data);
    state.scenario = sc.name;
    state.iterationInTest = cmd.iteration;
    state.iterationInScenario = perScenario[cmd.scenario]!++;
    state.tags = { ...state.options.tags, ...sc.tags };
    Object.assign(g, { __ITER: state.iterationInScenario, __ENV: { ...config.env, ...sc.env } });
    next = await report("vu", async () => {
      const started = performance.now();
      try {
        await fn(sc.exec)!(setupData);
      } finally {
        const tags = sampleTags();
        emit("iteration_duration", performance.now() - started, tags);
        emit("iterations", 1, tags);
      }
    });
  }
}
