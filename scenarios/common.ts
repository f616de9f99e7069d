// Small steps every scenario shares: a human pause and a tier to aim at.
import { sleep } from "k6";
import type { LoadConfig } from "../lib/config.ts";

/** THINK_TIME on average, jittered ±50 % so VUs do not march in step. */
export function think(cfg: LoadConfig): void {
  if (cfg.thinkTime > 0) sleep(cfg.thinkTime * (0.5 + Math.random()));
}

export function pickTier(tierIds: readonly string[]): string {
  return tierIds[Math.floor(Math.random() * tierIds.length)]!;
}
