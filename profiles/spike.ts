// Spike: the ticket drop itself, 0 to 500 VUs in 10 s, hold 30 s, back to 0 in 10 s (closed model).
import type { RampingVUsScenario } from "k6/options";
import type { ProfileSpec } from "../lib/profile.ts";

export const profile: ProfileSpec & RampingVUsScenario = {
  description: "0 → 500 VUs in 10 s, hold 30 s, → 0 in 10 s",
  executor: "ramping-vus",
  startVUs: 0,
  stages: [
    { duration: "10s", target: 500 },
    { duration: "30s", target: 500 },
    { duration: "10s", target: 0 },
  ],
};
