// The state one simulated k6 runtime (one thread: the child's main thread or one VU worker) shares
// between its module doubles (k6, k6/http, k6/metrics, k6/execution, k6/x/sql) and its driver: which
// stage runs, which VU and iteration, the group stack, and every metric sample. k6 keeps this in Go;
// here it lives in one module so that each double stays small; VU workers ship their samples and
// checks to the main thread (vu-protocol.ts), whose registry feeds thresholds and the summary.

export type Stage = "init" | "setup" | "vu" | "teardown" | "summary";
export type MetricType = "counter" | "gauge" | "rate" | "trend";
export type Tags = Record<string, string>;

export interface Sample {
  value: number;
  tags: Tags;
}

export interface MetricDef {
  name: string;
  type: MetricType;
  contains: "default" | "time" | "data";
  samples: Sample[];
}

export interface CheckRecord {
  name: string;
  groupPath: string;
  passes: number;
  fails: number;
}

/** Thrown by exec.test.abort(): unwinds whatever stage runs; the driver turns it into exit 108. */
export class TestAbort extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TestAbort";
  }
}

export interface ScenarioState {
  name: string;
  executor: string;
  iterationInTest: number;
  tags: Tags;
}

export const runtime = {
  stage: "init" as Stage,
  /** 0 in setup/teardown, as in k6; 1-based for VUs. */
  vuId: 0,
  vuIterationInScenario: 0,
  vuIterationInInstance: 0,
  scenario: null as ScenarioState | null,
  /** Group path segments below the root group ("" path). */
  groupStack: [] as string[],
  /** Tags set by the script on exec.vu.tags, per VU. */
  vuTags: new Map<number, Tags>(),
  options: {} as Record<string, unknown>,
  startedAt: Date.now(),
  /** How many VUs the run has (exec.instance.vusActive). */
  vus: 1,
  metrics: new Map<string, MetricDef>(),
  checks: new Map<string, CheckRecord>(),
  /** Group paths in the order first entered, so root_group can be rebuilt as k6 reports it. */
  groups: [] as string[],
  warnings: [] as string[],
};

export function groupPath(): string {
  return runtime.groupStack.length === 0 ? "" : "::" + runtime.groupStack.join("::");
}

export function noteGroup(path: string): void {
  if (!runtime.groups.includes(path)) runtime.groups.push(path);
}

/** System tags k6 attaches to every sample emitted from the current stage. */
export function systemTags(): Tags {
  const tags: Tags = { group: groupPath() };
  if (runtime.scenario) {
    tags.scenario = runtime.scenario.name;
    Object.assign(tags, runtime.scenario.tags);
  }
  const optionTags = runtime.options.tags as Tags | undefined;
  return { ...(optionTags ?? {}), ...tags, ...(runtime.vuTags.get(runtime.vuId) ?? {}) };
}

export function registerMetric(name: string, type: MetricType, contains: MetricDef["contains"]): MetricDef {
  const existing = runtime.metrics.get(name);
  if (existing) {
    if (existing.type !== type) {
      throw new Error(`metric "${name}" already exists but with type ${existing.type}, instead of ${type}`);
    }
    return existing;
  }
  const metric: MetricDef = { name, type, contains, samples: [] };
  runtime.metrics.set(name, metric);
  return metric;
}

/**
 * k6 accepts string, number and boolean tag values (stringified) and rejects anything else; a tag
 * object that is not a plain object is an error too.
 */
export function userTags(raw: unknown, where: string): Tags {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== "object" || Array.isArray(raw)) throw new TypeError(`${where}: tags must be an object`);
  const tags: Tags = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof value === "string") tags[key] = value;
    else if (typeof value === "number" || typeof value === "boolean") tags[key] = String(value);
    else throw new TypeError(`${where}: invalid value for metric tag "${key}": the value must be a string, number or boolean`);
  }
  return tags;
}

export function emit(metric: MetricDef, value: number, tags: Tags): void {
  metric.samples.push({ value, tags });
}

export function builtin(name: string): MetricDef {
  const metric = runtime.metrics.get(name);
  if (!metric) throw new Error(`builtin metric ${name} is not registered`);
  return metric;
}

/** The built-in metrics k6 always registers (so thresholds on them validate even with no samples). */
export function registerBuiltins(): void {
  registerMetric("checks", "rate", "default");
  registerMetric("data_received", "counter", "data");
  registerMetric("data_sent", "counter", "data");
  registerMetric("dropped_iterations", "counter", "default");
  registerMetric("group_duration", "trend", "time");
  registerMetric("http_req_blocked", "trend", "time");
  registerMetric("http_req_connecting", "trend", "time");
  registerMetric("http_req_duration", "trend", "time");
  registerMetric("http_req_failed", "rate", "default");
  registerMetric("http_req_receiving", "trend", "time");
  registerMetric("http_req_sending", "trend", "time");
  registerMetric("http_req_tls_handshaking", "trend", "time");
  registerMetric("http_req_waiting", "trend", "time");
  registerMetric("http_reqs", "counter", "default");
  registerMetric("iteration_duration", "trend", "time");
  registerMetric("iterations", "counter", "default");
  registerMetric("vus", "gauge", "default");
  registerMetric("vus_max", "gauge", "default");
}

export function requireStage(allowed: Stage[], what: string): void {
  if (!allowed.includes(runtime.stage)) {
    throw new Error(`${what} is not supported in the ${runtime.stage} context`);
  }
}

/** Blocks the thread like k6's sleep(), in real time. */
export function blockFor(ms: number): void {
  if (ms <= 0) return;
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
