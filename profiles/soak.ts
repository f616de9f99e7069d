// Soak: moderate load for 30 minutes, to surface leaks, stale holds and slow drift that short runs miss.
import type { ConstantVUsScenario } from "k6/options";
import type { ProfileSpec } from "../lib/profile.ts";

export const profile: ProfileSpec & ConstantVUsScenario = {
  description: "30 VUs for 30 min",
  executor: "constant-vus",
  vus: 30,
  duration: "30m",
};
