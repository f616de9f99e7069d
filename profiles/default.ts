// Default: the Liventix Advanced Load Testing Guide's ramp, 4 stages up to 100 VUs over 1m10s, for a first look at a new backend.
import type { RampingVUsScenario } from "k6/options";
import type { ProfileSpec } from "../lib/profile.ts";

export const profile: ProfileSpec & RampingVUsScenario = {
  description: "ramp 0 → 20 → 50 → 100 → 0 VUs over 1m10s",
  executor: "ramping-vus",
  startVUs: 0,
  stages: [
    { duration: "10s", target: 20 },
    { duration: "20s", target: 50 },
    { duration: "30s", target: 100 },
    { duration: "10s", target: 0 },
  ],
};
