// Turns the current Node thread into one k6 JavaScript runtime: k6's console (log lines on stderr), the
// globals k6 v0.49 lacks removed, __ENV set, and the script loaded as k6 v0.49 loads it: wrapped in
// `(function(module, exports){ ... })` and run with a global require() that knows only k6 modules and
// is unset once init is over. k6 gives every VU its own runtime, so both the child's main thread (VU 0:
// options, setup, teardown, handleSummary) and each VU worker thread boot through here.
import { readFileSync } from "node:fs";
import { runInThisContext } from "node:vm";
import { wrapLikeK6 } from "./gate.ts";
import { k6Modules } from "./modules.ts";
import { registerBuiltins, runtime } from "./runtime.ts";

export interface RuntimeConfig {
  bundle: string;
  env: Record<string, string>;
  xk6Sql: boolean;
  /** `k6 run --vus/--duration/--iterations`: when given, they replace the script's scenarios, as in k6. */
  flags?: { vus?: number; duration?: string; iterations?: number };
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
  "global", "navigator", "queueMicrotask", "require",
];

/** Prepares this thread and returns the loader of one VU's instance of the script. */
export function bootK6(config: RuntimeConfig): (vu: number) => Exports {
  // k6's console writes log lines to stderr; stdout carries only the summary.
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    console[level] = (...args: unknown[]) =>
      stderr(`level=${level === "log" ? "info" : level} msg=${JSON.stringify(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "))} source=console`);
  }
  for (const name of MISSING_IN_K6) Reflect.deleteProperty(globalThis, name);
  registerBuiltins();
  const g = globalThis as Record<string, unknown>;
  g.__ENV = { ...config.env };
  const modules = k6Modules(config.xk6Sql);
  const script = runInThisContext(wrapLikeK6(readFileSync(config.bundle, "utf8")), { filename: config.bundle }) as (
    module: { exports: Exports },
    exports: Exports,
  ) => void;
  return (vu: number) => {
    runtime.stage = "init";
    runtime.vuId = vu;
    g.__VU = vu;
    g.__ITER = 0;
    g.require = (specifier: string) => {
      const found = modules[specifier];
      if (!found) throw new Error(`unknown module: ${specifier}`);
      return found;
    };
    try {
      const module = { exports: {} as Exports };
      script(module, module.exports);
      return module.exports;
    } finally {
      delete g.require;
    }
  };
}
