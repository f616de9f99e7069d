// A profile is the shape of the traffic only (how many VUs, how long, open or closed model), never what a
// VU does. This module holds the profile type, the LOAD_SCALE math that shrinks a profile proportionally
// (never below 1 VU / 1 s), and the conversion into a k6 scenario. Pure module: no k6 import (k6/options is types only).
import type { Scenario } from "k6/options";

interface Stage {
  duration: string;
  target: number;
}

export type ProfileSpec = { description: string } & (
  | { executor: "constant-vus"; vus: number; duration: string }
  | { executor: "ramping-vus"; startVUs: number; stages: Stage[] }
  | { executor: "shared-iterations"; vus: number; iterations: number; maxDuration: string }
  | { executor: "constant-arrival-rate"; rate: number; timeUnit: string; duration: string; preAllocatedVUs: number; maxVUs: number }
  | {
      executor: "ramping-arrival-rate";
      startRate: number;
      timeUnit: string;
      preAllocatedVUs: number;
      maxVUs: number;
      stages: Stage[];
    }
);

const UNIT_SECONDS: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };

/** Seconds in a k6 duration: hours, minutes, seconds and milliseconds, decimals allowed ("1m30s", "0.5s", "500ms"); throws on anything else. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  // String.match rather than matchAll: k6 v0.49's runtime is the judge of what lib/ may call.
  const parts = trimmed.match(/\d+(?:\.\d+)?(?:ms|h|m|s)/g) ?? [];
  if (parts.length === 0 || parts.join("") !== trimmed) throw new Error(`"${text}" is not a duration like 30s, 5m or 1m10s`);
  return parts.reduce((sum, part) => {
    const [, amount, unit] = /^([\d.]+)(\D+)$/.exec(part)!;
    return sum + Number(amount) * UNIT_SECONDS[unit!]!;
  }, 0);
}

export function formatDuration(totalSeconds: number): string {
  const s = Math.round(totalSeconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const text = `${h ? `${h}h` : ""}${m ? `${m}m` : ""}${sec ? `${sec}s` : ""}`;
  return text === "" ? "0s" : text;
}

/** A VU count or rate scaled; a positive amount never drops below 1, zero stays zero (ramps end at 0). */
export function scaleCount(n: number, scale: number): number {
  return n === 0 ? 0 : Math.max(1, Math.round(n * scale));
}

export function scaleDuration(duration: string, scale: number): string {
  return formatDuration(Math.max(1, Math.round(parseDuration(duration) * scale)));
}

function scaleStages(stages: Stage[], scale: number): Stage[] {
  return stages.map((s) => ({ duration: scaleDuration(s.duration, scale), target: scaleCount(s.target, scale) }));
}

export function scaleProfile(spec: ProfileSpec, scale: number): ProfileSpec {
  if (!(scale > 0)) throw new Error(`LOAD_SCALE must be above 0, got ${scale}`);
  switch (spec.executor) {
    case "constant-vus":
      return { ...spec, vus: scaleCount(spec.vus, scale), duration: scaleDuration(spec.duration, scale) };
    case "ramping-vus":
      return { ...spec, startVUs: scaleCount(spec.startVUs, scale), stages: scaleStages(spec.stages, scale) };
    case "shared-iterations":
      // A smoke test is already minimal: only its time budget shrinks.
      return { ...spec, maxDuration: scaleDuration(spec.maxDuration, Math.max(scale, 1)) };
    case "constant-arrival-rate":
      return {
        ...spec,
        rate: scaleCount(spec.rate, scale),
        duration: scaleDuration(spec.duration, scale),
        preAllocatedVUs: scaleCount(spec.preAllocatedVUs, scale),
        maxVUs: scaleCount(spec.maxVUs, scale),
      };
    case "ramping-arrival-rate":
      return {
        ...spec,
        startRate: scaleCount(spec.startRate, scale),
        preAllocatedVUs: scaleCount(spec.preAllocatedVUs, scale),
        maxVUs: scaleCount(spec.maxVUs, scale),
        stages: scaleStages(spec.stages, scale),
      };
  }
}

/** Longest time the profile drives load, in seconds (for teardown/setup budgets and docs). */
export function profileSeconds(spec: ProfileSpec): number {
  switch (spec.executor) {
    case "constant-vus":
    case "constant-arrival-rate":
      return parseDuration(spec.duration);
    case "shared-iterations":
      return parseDuration(spec.maxDuration);
    case "ramping-vus":
    case "ramping-arrival-rate":
      return spec.stages.reduce((sum, s) => sum + parseDuration(s.duration), 0);
  }
}

/** Peak number of VUs the profile asks for. */
export function profilePeakVUs(spec: ProfileSpec): number {
  switch (spec.executor) {
    case "constant-vus":
    case "shared-iterations":
      return spec.vus;
    case "ramping-vus":
      return Math.max(spec.startVUs, ...spec.stages.map((s) => s.target));
    case "constant-arrival-rate":
    case "ramping-arrival-rate":
      return spec.maxVUs;
  }
}

/** The k6 scenario object (options.scenarios[name]) for a profile. */
export function toK6Scenario(spec: ProfileSpec): Scenario {
  const { description: _description, ...executorOptions } = spec;
  return { ...executorOptions, gracefulStop: "10s" };
}
