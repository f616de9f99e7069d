// One VU thread's k6 runtime, shared by its module doubles: what runs (stage, VU, scenario, iteration, groups),
// what was recorded since the last report, and the blocking call to the main thread, which does the VU's HTTP
// and SQL as k6's Go code does while the VU's JavaScript waits (http.post() and db.query() are synchronous).
import type { Options } from "k6/options";
import { parentPort, receiveMessageOnPort, workerData } from "node:worker_threads";
import { BUILTIN_METRICS, type MetricKind } from "../../lib/metric-names.ts";
import { emptyRecords, type Metric, type Records, type Tags } from "./summary.ts";

export const state = {
  stage: "init" as "init" | "setup" | "vu" | "teardown" | "summary",
  vu: 0,
  scenario: "",
  iterationInTest: 0,
  iterationInScenario: 0,
  /** options.tags and the scenario's tags: k6 puts them on every sample. */
  tags: {} as Tags,
  groups: [] as string[],
  options: {} as Options,
};

let records = emptyRecords();
const declared = new Map<string, Omit<Metric, "samples">>();

/** Thrown by exec.test.abort(): unwinds whatever runs; the run exits 108. */
export class TestAbort extends Error {}

export const groupPath = () => state.groups.map((g) => `::${g}`).join("");

/** k6's tags for a sample recorded now: the run's and scenario's, group and scenario, then the caller's. */
export function sampleTags(extra: Tags = {}): Tags {
  return { ...state.tags, group: groupPath(), ...(state.stage === "vu" ? { scenario: state.scenario } : {}), ...extra };
}

/** k6 stringifies number and boolean tag values and refuses any other. */
export function userTags(raw: Record<string, unknown> | undefined): Tags {
  const tags: Tags = {};
  for (const [k, v] of Object.entries(raw ?? {})) {
    if (!["string", "number", "boolean"].includes(typeof v)) {
      throw new TypeError(`invalid value for metric tag "${k}": the value must be a string, number or boolean`);
    }
    tags[k] = String(v);
  }
  return tags;
}

export function declare(name: string, type: MetricKind, contains: Metric["contains"]): void {
  const known = declared.get(name);
  if (known && known.type !== type) throw new Error(`metric "${name}" already exists but with type ${known.type}, instead of ${type}`);
  declared.set(name, { type, contains });
  records.metrics[name] ??= { type, contains, samples: [] };
}

export function emit(name: string, value: number, tags: Tags): void {
  (records.metrics[name] ??= { ...declared.get(name)!, samples: [] }).samples.push({ value, tags });
}

export function noteGroup(path: string): void {
  if (!records.groups.includes(path)) records.groups.push(path);
}

export function countCheck(name: string, ok: boolean): void {
  const group = groupPath();
  const c = (records.checks[`${group}::${name}`] ??= { name, group, passes: 0, fails: 0 });
  c[ok ? "passes" : "fails"] += 1;
  noteGroup(group);
}

export const warn = (message: string) => records.warnings.push(message);

/** Everything recorded since the last call (after init: every metric declared, so thresholds can be validated). */
export function take(): Records {
  const out = records;
  records = emptyRecords();
  return out;
}

// The k6 metrics the suite judges (lib/metric-names.ts): declared before the script, as k6 does.
for (const [name, type] of Object.entries(BUILTIN_METRICS)) declare(name, type, type === "trend" ? "time" : "default");

const { flag } = workerData as { flag: Int32Array };

/** Sends a message to the main thread and blocks this VU until it answers. */
export function call<T>(message: unknown): T {
  Atomics.store(flag, 0, 0);
  parentPort!.postMessage(message);
  // Loop on the value: a wake-up may be stale.
  while (Atomics.load(flag, 0) === 0) Atomics.wait(flag, 0, 0);
  return receiveMessageOnPort(parentPort!)!.message as T;
}

/** Blocks this VU like k6's sleep(), in real time. */
export const block = (ms: number) => ms > 0 && Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
