// Brief: a short moderate load for scenarios whose proof is in the teardown (idempotency, abandonment).
import type { ConstantVUsScenario } from "k6/options";
import type { ProfileSpec } from "../lib/profile.ts";

export const profile: ProfileSpec & ConstantVUsScenario = {
  description: "10 VUs for 30 s",
  executor: "constant-vus",
  vus: 10,
  duration: "30s",
};
