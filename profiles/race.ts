// Race: an open model at a bounded rate. Fans keep arriving at 50 per second for 30 s whatever the
// backend does; those who arrive during the race scenario's 1 s drop countdown all click at the
// opening, so about 50 reserves hit the 10 seats at the same instant. A bounded rate, unlike VUs
// hammering with no pause, keeps k6 from taking the cores it shares with the target, so the latency it
// records is the backend's; the opening wave is ~3 % of the reserves, so p90 judges the steady flow
// and p99 the wave (docs/k6.md, "Judging latency on a laptop").
import type { ConstantArrivalRateScenario } from "k6/options";
import type { ProfileSpec } from "../lib/profile.ts";

export const profile: ProfileSpec & ConstantArrivalRateScenario = {
  description: "50 arrivals/s for 30 s; those of the 1 s countdown click at once (constant-arrival-rate, up to 150 VUs)",
  executor: "constant-arrival-rate",
  rate: 50,
  timeUnit: "1s",
  duration: "30s",
  preAllocatedVUs: 80,
  maxVUs: 150,
};
