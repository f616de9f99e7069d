// Maximum contention: every VU goes for the same few seats with no pause (the event setup() creates has
// one tier of 10 seats, or TIER_COUNT tiers sharing EVENT_CAPACITY), so the reserve path's guards are hit
// by all VUs at once, scalper bots included. Teardown then proves nobody got a seat that was not there.
import type { VuConfig } from "../lib/vu-config.ts";
import type { SetupData } from "../lib/k6/setup.ts";
import { arrive } from "./reservation.ts";

export function scenario(cfg: VuConfig, data: SetupData): void {
  arrive(cfg, data, false);
}
