// What the child's main thread and its VU worker threads exchange. The main thread schedules: it tells
// a VU when to run an iteration of which scenario; the VU answers with the samples, checks and groups
// of that iteration as a delta, which the main thread merges into its registry, so thresholds and the
// summary see one run, as k6's single metrics engine does.
import type { RuntimeConfig } from "./environment.ts";
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
  vu: number;
  scenarios: ScenarioPlan[];
  /** This VU's link to the process's one I/O worker (its port is transferred). */
  io: IoLink;
}

export interface Delta {
  metrics: { name: string; type: MetricDef["type"]; contains: MetricDef["contains"]; samples: Sample[] }[];
  checks: CheckRecord[];
  groups: string[];
  warnings: string[];
}

/** Main thread → VU. */
export type VuCommand =
  | { type: "start"; setupJson: string | null }
  | { type: "iterate"; scenario: number; iterationInTest: number }
  | { type: "stop" };

/** VU → main thread. */
export type VuMessage =
  | { type: "ready" }
  | { type: "init-failed"; message: string; aborted: boolean }
  | { type: "done"; delta: Delta; error: string | null; aborted: string | null };

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
