// Turns the current Node thread into one k6 JavaScript runtime: k6 module names mapped to the doubles,
// k6's console (log lines on stderr), the globals k6 v0.49 lacks removed, __ENV set. k6 gives every VU
// its own runtime, so both the child's main thread (VU 0: options, setup, teardown, handleSummary) and
// each VU worker thread boot through here.
import { register } from "node:module";
import { resolve as resolvePath } from "node:path";
import { pathToFileURL } from "node:url";
import { registerBuiltins, runtime } from "./runtime.ts";

export interface RuntimeConfig {
  bundle: string;
  env: Record<string, string>;
  vus: number;
  xk6Sql: boolean;
  sleepScale: number;
}

export type Exports = Record<string, unknown>;

const proc: NodeJS.Process = process;
const debug = Boolean(proc.env.K6H_DEBUG);

export const stderr = (line: string): void => {
  proc.stderr.write(line + "\n");
};

export function describe(err: unknown): string {
  if (debug) return String((err as Error).stack);
  return err instanceof Error ? `${err.name === "Error" ? "" : err.name + ": "}${err.message}` : String(err);
}

const MISSING_IN_K6 = [
  "process", "Buffer", "URL", "URLSearchParams", "TextEncoder", "TextDecoder", "structuredClone", "Intl", "btoa", "atob",
  "setTimeout", "setInterval", "clearTimeout", "clearInterval", "setImmediate", "clearImmediate", "fetch", "crypto",
  "global", "navigator", "queueMicrotask",
];

/** What hooks.mjs needs: where the k6 modules are, which file is the bundle, precompiled doubles. */
export interface HookData {
  modules: Record<string, string>;
  bundleUrl: string;
  compiled: Record<string, string>;
}

const doubles = (name: string) => pathToFileURL(resolvePath(import.meta.dirname, name)).href;

export function hookData(config: RuntimeConfig, compiled: Record<string, string> = {}): HookData {
  const modules: Record<string, string> = {
    k6: doubles("k6.ts"),
    "k6/http": doubles("http.ts"),
    "k6/metrics": doubles("metrics.ts"),
    "k6/execution": doubles("execution.ts"),
    "k6/crypto": doubles("crypto.ts"),
    "k6/encoding": doubles("encoding.ts"),
    ...(config.xk6Sql ? { "k6/x/sql": doubles("sql.ts"), "k6/x/sql/driver/postgres": doubles("sql-driver-postgres.ts") } : {}),
  };
  return { modules, bundleUrl: pathToFileURL(config.bundle).href, compiled };
}

/** For the child's main thread; a VU thread's entry (vu-worker.mjs) registers them itself. */
export function registerHooks(data: HookData): void {
  register(doubles("hooks.mjs"), { data });
}

/** Prepares this thread (hooks registered) and returns the loader of one VU's module instance of the bundle. */
export async function bootK6(config: RuntimeConfig, hooks: HookData): Promise<(vu: number) => Promise<Exports>> {
  // k6's console writes log lines to stderr; stdout carries only the summary.
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    console[level] = (...args: unknown[]) =>
      stderr(`level=${level === "log" ? "info" : level} msg=${JSON.stringify(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "))} source=console`);
  }
  // Load every double before the globals go, so their own imports still resolve.
  await Promise.all(Object.values(hooks.modules).map((url) => import(url)));
  for (const name of MISSING_IN_K6) Reflect.deleteProperty(globalThis, name);

  runtime.sleepScale = config.sleepScale;
  runtime.vus = config.vus;
  registerBuiltins();
  const g = globalThis as Record<string, unknown>;
  g.__ENV = { ...config.env };
  return async (vu: number) => {
    runtime.stage = "init";
    runtime.vuId = vu;
    g.__VU = vu;
    g.__ITER = 0;
    return (await import(`${hooks.bundleUrl}?vu=${vu}`)) as Exports;
  };
}
