// Maximum contention: every VU goes for the same small tier (the event setup() creates has one tier of
// 10 seats) with no pause, so the reserve path's guard is hit by all VUs at once. Teardown then proves
// nobody got a seat that was not there.
import type { LoadConfig } from "../lib/config.ts";
import type { SetupData } from "../lib/k6/setup.ts";
import { buyTicket } from "./reservation.ts";

export function scenario(cfg: LoadConfig, data: SetupData): void {
  buyTicket(cfg, data, data.tierIds[0]!, false);
}
