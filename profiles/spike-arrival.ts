// Spike as an open model: arrivals keep coming at the planned rate even when the backend slows down, which
// is how real fans behave (a closed-model spike politely waits for slow responses and hides queueing).
import type { RampingArrivalRateScenario } from "k6/options";
import type { ProfileSpec } from "../lib/profile.ts";

export const profile: ProfileSpec & RampingArrivalRateScenario = {
  description: "0 → 200 iterations/s in 10 s, hold 30 s, → 0 in 10 s (ramping-arrival-rate, up to 500 VUs)",
  executor: "ramping-arrival-rate",
  startRate: 0,
  timeUnit: "1s",
  preAllocatedVUs: 50,
  maxVUs: 500,
  stages: [
    { duration: "10s", target: 200 },
    { duration: "30s", target: 200 },
    { duration: "10s", target: 0 },
  ],
};
