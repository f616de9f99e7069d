// Smoke: one VU, a few iterations; proves the wiring (keys, event, flow, teardown) before any real load.
import type { SharedIterationsScenario } from "k6/options";
import type { ProfileSpec } from "../lib/profile.ts";

export const profile: ProfileSpec & SharedIterationsScenario = {
  description: "1 VU, 5 iterations (at most 1 min)",
  executor: "shared-iterations",
  vus: 1,
  iterations: 5,
  maxDuration: "1m",
};
