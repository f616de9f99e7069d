// Race: every VU starts at once and keeps hammering (the race scenario points them all at one 10-seat tier).
import type { ProfileSpec } from "../lib/profile.ts";

export const profile: ProfileSpec = { description: "100 VUs for 20 s, all at once", executor: "constant-vus", vus: 100, duration: "20s" };
