// Stress: 200 VUs for 2 minutes, beyond normal peak, to see where latency and errors start to climb.
import type { ConstantVUsScenario } from "k6/options";
import type { ProfileSpec } from "../lib/profile.ts";

export const profile: ProfileSpec & ConstantVUsScenario = {
  description: "200 VUs for 2 min",
  executor: "constant-vus",
  vus: 200,
  duration: "2m",
};
