// The one table of what `npm run build` produces: which traffic shape (profile) drives which virtual-user
// behaviour (scenario), plus what each scenario needs from its test event and which extra checks its
// teardown proves. build.mjs, the thresholds builder and the CLIs all read it, so a bundle is added in
// exactly one place. Pure module: no k6 import.
import { INVARIANT_NAMES, OVERSELL_CHECKS } from "./invariants.ts";

export const PROFILE_NAMES = ["smoke", "light", "medium", "stress", "spike", "spike-arrival", "default", "soak", "race", "brief"] as const;
type ProfileName = (typeof PROFILE_NAMES)[number];

const SCENARIO_NAMES = ["reservation", "race", "idempotency", "abandonment"] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** Checks the suite proves on top of the SQL's own invariants (lib/invariants.ts). */
const SUITE_CHECKS = {
  counters_within_capacity: "sold + reserved stays within total_tickets (load_test_capacity)",
  holds_within_capacity: "active + converted holds never outnumber total_tickets: catches an oversell even where the counters lie",
  idempotent_replay_consistent: "a replayed Idempotency-Key answers the same status and body, marked as a replay",
  abandoned_holds_released: "holds left to expire give every seat back: reserved and active holds reach 0",
} as const;
type SuiteCheck = keyof typeof SUITE_CHECKS;

/** Suite checks whose failure means more seats were promised than exist. */
const SUITE_OVERSELL_CHECKS: readonly SuiteCheck[] = ["counters_within_capacity", "holds_within_capacity"];

interface EventShape {
  tiers: number;
  ticketsPerTier: number;
  holdSeconds: number;
}

export interface ScenarioMeta {
  /** The test event setup() creates when EVENT_ID/TIER_ID are not given. */
  event: EventShape;
  /** Suite checks the teardown runs for this scenario, beyond the capacity checks every run gets. */
  checks: readonly SuiteCheck[];
  /** Teardown waits (read-only polling) for expired holds to be given back before judging. */
  awaitRelease: boolean;
  /** Seconds of drop countdown when SALE_OPENS_IN is not set: the VUs that arrive meanwhile all click at the opening. */
  opensIn: number;
}

export const SCENARIOS: Readonly<Record<ScenarioName, ScenarioMeta>> = {
  // Plenty of seats: measures the uncontended path, sold-out must not happen.
  reservation: { event: { tiers: 4, ticketsPerTier: 100_000, holdSeconds: 600 }, checks: [], awaitRelease: false, opensIn: 0 },
  // Every arrival fights for one 10-seat tier; those of the 1 s countdown all click at the opening.
  race: { event: { tiers: 1, ticketsPerTier: 10, holdSeconds: 600 }, checks: [], awaitRelease: false, opensIn: 1 },
  idempotency: {
    event: { tiers: 2, ticketsPerTier: 100_000, holdSeconds: 600 },
    checks: ["idempotent_replay_consistent"],
    awaitRelease: false,
    opensIn: 0,
  },
  // Short holds so that abandoned carts expire within the run's teardown.
  abandonment: {
    event: { tiers: 1, ticketsPerTier: 100_000, holdSeconds: 20 },
    checks: ["abandoned_holds_released"],
    awaitRelease: true,
    opensIn: 0,
  },
};

export interface BundleSpec {
  profile: ProfileName;
  scenario: ScenarioName;
}

export const BUNDLES = {
  smoke: { profile: "smoke", scenario: "reservation" },
  light: { profile: "light", scenario: "reservation" },
  medium: { profile: "medium", scenario: "reservation" },
  stress: { profile: "stress", scenario: "reservation" },
  spike: { profile: "spike", scenario: "reservation" },
  "spike-arrival": { profile: "spike-arrival", scenario: "reservation" },
  default: { profile: "default", scenario: "reservation" },
  soak: { profile: "soak", scenario: "reservation" },
  race: { profile: "race", scenario: "race" },
  idempotency: { profile: "brief", scenario: "idempotency" },
  abandonment: { profile: "brief", scenario: "abandonment" },
} as const satisfies Record<string, BundleSpec>;

export type BundleName = keyof typeof BUNDLES;
export const BUNDLE_NAMES = Object.keys(BUNDLES) as BundleName[];

/** Bundles that put a target under heavy or contended load: refused against a non-loopback host unless allowed. */
export const HEAVY_BUNDLES: readonly BundleName[] = ["stress", "spike", "spike-arrival", "race", "soak"];

export function isBundleName(value: string): value is BundleName {
  return Object.hasOwn(BUNDLES, value);
}

/** Every check a bundle's teardown reports, in report order: the SQL invariants, then the suite's own. */
export function teardownChecks(bundle: BundleName): string[] {
  const scenario = SCENARIOS[BUNDLES[bundle].scenario];
  return [...INVARIANT_NAMES, ...SUITE_OVERSELL_CHECKS, ...scenario.checks];
}

/** Checks whose failure counts as an oversell (SQL and suite side). */
export function isOversellCheck(name: string): boolean {
  return (OVERSELL_CHECKS as readonly string[]).includes(name) || (SUITE_OVERSELL_CHECKS as readonly string[]).includes(name);
}
