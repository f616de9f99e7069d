// Light: everyday traffic, 10 VUs for 5 minutes; the baseline the other profiles are compared with.
import type { ConstantVUsScenario } from "k6/options";
import type { ProfileSpec } from "../lib/profile.ts";

export const profile: ProfileSpec & ConstantVUsScenario = {
  description: "10 VUs for 5 min",
  executor: "constant-vus",
  vus: 10,
  duration: "5m",
};
