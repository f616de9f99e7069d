// Hold abandonment: every buyer reserves and opens checkout but never pays. The event's holds are short
// (hold_seconds 20 unless HOLD_SECONDS says otherwise), so teardown can wait for them to expire and prove
// every seat came back (abandoned_holds_released) with nothing oversold on the way.
import type { VuConfig } from "../lib/vu-config.ts";
import type { SetupData } from "../lib/k6/setup.ts";
import { pickTier, think } from "./common.ts";
import { buyTicket } from "./reservation.ts";

export function scenario(cfg: VuConfig, data: SetupData): void {
  buyTicket({ ...cfg, payRatio: 0 }, data, pickTier(data.tierIds), true);
  think(cfg);
}
