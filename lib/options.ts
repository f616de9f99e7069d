// Builds a bundle's k6 `options` from its profile, the run's config and its thresholds: the scaled
// scenario, p(99.9) in the summary, time budgets for setup and for a teardown that waits for holds to
// expire, and the k6 Cloud block when a project id is given. planBundle() is all the instance k6 reads
// options from (__VU 0) works out at init; the bundles load it (and zod with it) in that instance only.
// Pure module: no k6 import (k6/options is types only).
import type { Options, Scenario } from "k6/options";
import thresholdsFile from "../thresholds.json";
import { BUNDLES, SCENARIOS, type BundleName } from "./bundles.ts";
import { loadConfig, type LoadConfig } from "./config.ts";
import { SUMMARY_TREND_STATS } from "./metric-names.ts";
import { scaleProfile, toK6Scenario, type ProfileSpec } from "./profile.ts";
import { buildThresholds, type ThresholdMap, type ThresholdsFile } from "./thresholds.ts";
import type { Env } from "./vu-config.ts";

export interface CloudOptions {
  projectID: number;
  name: string;
  distribution?: Record<string, { loadZone: string; percent: number }>;
}

/** k6's Options, with what every bundle sets made required, and k6 Cloud's block (which @types/k6 0.49 lacks). */
export interface BundleOptions extends Options {
  scenarios: Record<string, Scenario>;
  thresholds: ThresholdMap;
  summaryTrendStats: string[];
  setupTimeout: string;
  teardownTimeout: string;
  tags: Record<string, string>;
  cloud?: CloudOptions;
}

/** Even split of 100 % over the zones; the remainder goes to the first zone. */
export function cloudDistribution(zones: readonly string[]): CloudOptions["distribution"] {
  if (zones.length === 0) return undefined;
  const share = Math.floor(100 / zones.length);
  return Object.fromEntries(
    zones.map((zone, i) => [`zone${i + 1}`, { loadZone: zone, percent: share + (i === 0 ? 100 - share * zones.length : 0) }]),
  );
}

export function buildOptions(bundle: BundleName, profile: ProfileSpec, config: LoadConfig, thresholds: ThresholdMap): BundleOptions {
  const spec = BUNDLES[bundle];
  const scenario = SCENARIOS[spec.scenario];
  const holdSeconds = config.holdSeconds ?? scenario.event.holdSeconds;
  const teardownSeconds = 60 + (scenario.awaitRelease ? holdSeconds + config.abandonGraceSeconds : 0);
  const options: BundleOptions = {
    scenarios: { [spec.scenario]: toK6Scenario(scaleProfile(profile, config.loadScale)) },
    thresholds,
    summaryTrendStats: SUMMARY_TREND_STATS,
    setupTimeout: "120s",
    teardownTimeout: `${teardownSeconds}s`,
    tags: { suite: "liventix-load", bundle, profile: spec.profile },
  };
  if (config.cloudProjectId !== null) {
    const distribution = cloudDistribution(config.cloudLoadZones);
    options.cloud = { projectID: config.cloudProjectId, name: `liventix-load ${bundle}`, ...(distribution ? { distribution } : {}) };
  }
  return options;
}

interface BundlePlan {
  config: LoadConfig;
  thresholds: ThresholdMap;
  options: BundleOptions;
}

/** Validates the configuration (a bad value throws one message listing every problem) and builds the options. */
export function planBundle(env: Env, bundle: BundleName, profile: ProfileSpec, sqlFlavour: boolean): BundlePlan {
  const config = loadConfig(env, { sqlTeardown: sqlFlavour });
  const thresholds = buildThresholds(thresholdsFile as ThresholdsFile, bundle);
  return { config, thresholds, options: buildOptions(bundle, profile, config, thresholds) };
}
