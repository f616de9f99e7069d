// k6's executors that the suite uses, in real time, as k6 documents them: each decides when which of its VUs starts
// an iteration. An iteration still running at the end is waited for (k6 would interrupt it after gracefulStop); an
// arrival that finds every VU busy is dropped and counted in dropped_iterations, as in k6.
import { setTimeout as wait } from "node:timers/promises";
import type { Scenario, Stage as K6Stage } from "k6/options";
import { parseDuration } from "../../lib/profile.ts";

interface ExecutorContext {
  /** VUs (1-based ids) of this scenario. */
  vus: number[];
  /** Runs one iteration on a VU; resolves when it is done. */
  run(vu: number, iterationInTest: number): Promise<void>;
  stopped(): boolean;
  dropped(): void;
}

/** Milliseconds in a k6 duration ("1m30s", "500ms", "2h") or a number of milliseconds. */
export function durationMs(value: unknown, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  return typeof value === "number" ? value : Math.round(parseDuration(String(value)) * 1000);
}

type Stage = { durationMs: number; target: number };

const stagesOf = (stages: K6Stage[]): Stage[] => stages.map((s) => ({ durationMs: durationMs(s.duration), target: s.target }));

/** The value a ramp has reached at t ms: linear from `start` through each stage's target. */
function ramp(start: number, stages: Stage[], t: number): number {
  let from = start;
  let at = 0;
  for (const s of stages) {
    if (t < at + s.durationMs) return from + ((s.target - from) * (t - at)) / s.durationMs;
    at += s.durationMs;
    from = s.target;
  }
  return from;
}

/** The integral of a ramp up to t ms (iterations due, times the rate's time unit): one trapezoid per stage. */
function arrivals(start: number, stages: Stage[], t: number): number {
  let at = 0;
  let total = 0;
  for (const s of stages) {
    const span = Math.min(s.durationMs, Math.max(0, t - at));
    total += (span * (ramp(start, stages, at) + ramp(start, stages, at + span))) / 2;
    at += s.durationMs;
  }
  return total;
}

/** How many VUs a scenario needs at most, so the pool can start them before setup(), as k6 does. */
export function vusNeeded(sc: Scenario): number {
  if (sc.executor === "ramping-vus") return Math.max(sc.startVUs ?? 1, ...sc.stages.map((s) => s.target));
  if (sc.executor === "constant-arrival-rate" || sc.executor === "ramping-arrival-rate") return sc.maxVUs ?? sc.preAllocatedVUs;
  return sc.vus ?? 1;
}

async function eachVu(ctx: ExecutorContext, more: () => number | null): Promise<void> {
  await Promise.all(
    ctx.vus.map(async (vu) => {
      for (let i = more(); i !== null; i = more()) await ctx.run(vu, i);
    }),
  );
}

async function rampingVus(ctx: ExecutorContext, start: number, stages: Stage[], started: number): Promise<void> {
  const end = stages.reduce((ms, s) => ms + s.durationMs, 0);
  let next = 0;
  await Promise.all(
    ctx.vus.map(async (vu, index) => {
      for (let t = Date.now() - started; t < end && !ctx.stopped(); t = Date.now() - started) {
        // VU number index+1 is active while the ramp is above index.
        if (ramp(start, stages, t) > index) await ctx.run(vu, next++);
        else await wait(10);
      }
    }),
  );
}

async function arrivalRate(ctx: ExecutorContext, startRate: number, stages: Stage[], timeUnitMs: number): Promise<void> {
  const end = stages.reduce((ms, s) => ms + s.durationMs, 0);
  const due = (t: number) => arrivals(startRate, stages, t) / timeUnitMs;
  const total = due(end);
  const idle = [...ctx.vus];
  const running: Promise<void>[] = [];
  const started = Date.now();
  // Iteration n starts once n arrivals are due: the first at t = 0, as in k6.
  for (let n = 0; n < total && !ctx.stopped(); ) {
    const t = Date.now() - started;
    if (t >= end) break;
    if (n > due(t)) {
      await wait(2);
      continue;
    }
    const vu = idle.shift();
    if (vu === undefined) ctx.dropped();
    else running.push(ctx.run(vu, n).then(() => void idle.push(vu)));
    n += 1;
  }
  await Promise.all(running);
}

/** Runs one scenario's executor to its end. */
export async function runExecutor(ctx: ExecutorContext, sc: Scenario): Promise<void> {
  const started = Date.now();
  const elapsed = () => Date.now() - started;
  switch (sc.executor) {
    case "shared-iterations": {
      const iterations = sc.iterations ?? 1;
      const max = durationMs(sc.maxDuration, 600_000);
      let next = 0;
      return eachVu(ctx, () => (ctx.stopped() || next >= iterations || elapsed() >= max ? null : next++));
    }
    case "constant-vus": {
      const end = durationMs(sc.duration);
      let next = 0;
      return eachVu(ctx, () => (ctx.stopped() || elapsed() >= end ? null : next++));
    }
    case "ramping-vus":
      return rampingVus(ctx, sc.startVUs ?? 1, stagesOf(sc.stages), started);
    case "constant-arrival-rate":
      return arrivalRate(ctx, sc.rate, [{ durationMs: durationMs(sc.duration), target: sc.rate }], durationMs(sc.timeUnit, 1000));
    case "ramping-arrival-rate":
      return arrivalRate(ctx, sc.startRate ?? 0, stagesOf(sc.stages), durationMs(sc.timeUnit, 1000));
    default:
      throw new Error(`executor ${String(sc.executor)} is not provided by the k6 test doubles`);
  }
}
