// Medium: a busy on-sale hour compressed, 50 VUs for 3 minutes.
import type { ConstantVUsScenario } from "k6/options";
import type { ProfileSpec } from "../lib/profile.ts";

export const profile: ProfileSpec & ConstantVUsScenario = {
  description: "50 VUs for 3 min",
  executor: "constant-vus",
  vus: 50,
  duration: "3m",
};
