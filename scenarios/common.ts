// Small steps every scenario shares: a human pause, a tier to aim at, and a weighted coin. Every
// iteration takes the last two, so neither draws a random number when the answer is already known:
// under k6 v0.49 each such call costs the load generator a microsecond (docs/k6-generator.md).
import { sleep } from "k6";
import type { VuConfig } from "../lib/vu-config.ts";

/** THINK_TIME on average, jittered ±50 % so VUs do not march in step. */
export function think(cfg: VuConfig): void {
  if (cfg.thinkTime > 0) sleep(cfg.thinkTime * (0.5 + Math.random()));
}

/** Spreads buyers evenly at random over the event's tiers. */
export function pickTier(tierIds: readonly string[]): string {
  return tierIds.length === 1 ? tierIds[0]! : tierIds[Math.floor(Math.random() * tierIds.length)]!;
}

/** True with probability `ratio` (0 never, 1 always). */
export function chance(ratio: number): boolean {
  return ratio > 0 && Math.random() < ratio;
}
