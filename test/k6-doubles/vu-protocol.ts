// What the child's main thread and its VU worker threads exchange. Counters that must be exact under
// concurrency (the shared-iterations counter of each scenario, the abort flag) live in one shared
// Int32Array; everything else travels as messages: each VU ships the samples, checks and groups of an
// iteration as a delta that the main thread merges into its registry, so thresholds and the summary
// see one run, as k6's single metrics engine does.
import type { HookData, RuntimeConfig } from "./environment.ts";
import type { IoLink } from "./sync.ts";
import { noteGroup, registerMetric, runtime, type CheckRecord, type MetricDef, type Sample } from "./runtime.ts";

export interface ScenarioPlan {
  name: string;
  exec: string;
  executor: string;
  env: Record<string, string>;
  tags: Record<string, string>;
}

export interface VuWorkerData {
  runtime: RuntimeConfig;
  /** Registered by vu-worker.mjs before any TypeScript loads (with the precompiled doubles). */
  hooks: HookData;
  vu: number;
  scenarios: ScenarioPlan[];
  /** Iterations per scenario, shared by all VUs. */
  iterations: number;
  /** SharedArrayBuffer-backed; layout below. */
  control: Int32Array;
  /** This VU's link to the process's one I/O worker (its port is transferred). */
  io: IoLink;
  /** Wait for the main thread's verdict after each iteration (only when an abortOnFail threshold exists). */
  awaitVerdict: boolean;
}

/** control[ABORT] != 0: no VU starts another iteration. */
export const ABORT = 0;
/** control[verdictSlot(vu)] = 1: the main thread has merged and judged VU vu's last iteration. */
export const verdictSlot = (vu: number): number => vu;
/** control[iterationSlot(vus, s)]: next iteration number of scenario s (Atomics.add hands them out). */
export const iterationSlot = (vus: number, scenario: number): number => 1 + vus + scenario;
export const controlLength = (vus: number, scenarios: number): number => 1 + vus + scenarios;

export interface Delta {
  metrics: { name: string; type: MetricDef["type"]; contains: MetricDef["contains"]; samples: Sample[] }[];
  checks: CheckRecord[];
  groups: string[];
  warnings: string[];
}

export type VuMessage =
  | { type: "ready" }
  | { type: "init-failed"; message: string; aborted: boolean }
  | { type: "iteration"; vu: number; delta: Delta; error: string | null }
  | { type: "aborted"; message: string; scenario: string };

export interface StartMessage {
  /** setup()'s result as JSON, or null when it returned nothing. */
  setupJson: string | null;
}

/** Everything this runtime recorded since the last call, removed from it. */
export function takeDelta(): Delta {
  const metrics: Delta["metrics"] = [];
  for (const def of runtime.metrics.values()) {
    if (def.samples.length > 0) metrics.push({ name: def.name, type: def.type, contains: def.contains, samples: def.samples.splice(0) });
  }
  const checks = [...runtime.checks.values()];
  runtime.checks.clear();
  return { metrics, checks, groups: [...runtime.groups], warnings: runtime.warnings.splice(0) };
}

export function mergeDelta(delta: Delta): void {
  for (const m of delta.metrics) {
    const def = registerMetric(m.name, m.type, m.contains);
    for (const sample of m.samples) def.samples.push(sample);
  }
  for (const c of delta.checks) {
    const key = `${c.groupPath}::${c.name}`;
    const record = runtime.checks.get(key) ?? { name: c.name, groupPath: c.groupPath, passes: 0, fails: 0 };
    record.passes += c.passes;
    record.fails += c.fails;
    runtime.checks.set(key, record);
  }
  for (const path of delta.groups) noteGroup(path);
  runtime.warnings.push(...delta.warnings);
}
