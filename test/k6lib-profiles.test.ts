// Profiles are traffic shapes with the documented sizes, LOAD_SCALE shrinks them proportionally but never
// below 1 VU / 1 s, and the options of a bundle carry the scaled scenario, p(99.9) and k6 Cloud settings.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { BUNDLE_NAMES, BUNDLES, PROFILE_NAMES } from "../lib/bundles.ts";
import { parseConfig, type LoadConfig } from "../lib/config.ts";
import { buildOptions, cloudDistribution } from "../lib/options.ts";
import {
  formatDuration,
  parseDuration,
  profilePeakVUs,
  profileSeconds,
  scaleCount,
  scaleDuration,
  scaleProfile,
  type ProfileSpec,
} from "../lib/profile.ts";
import { buildThresholds, type ThresholdsFile } from "../lib/thresholds.ts";

const profiles = Object.fromEntries(
  await Promise.all(PROFILE_NAMES.map(async (n) => [n, ((await import(`../profiles/${n}.ts`)) as { profile: ProfileSpec }).profile])),
) as Record<(typeof PROFILE_NAMES)[number], ProfileSpec>;

function config(env: Record<string, string> = {}): LoadConfig {
  const r = parseConfig(env);
  assert.ok(r.ok);
  return r.config;
}

test("profiles have the sizes of the guide's Load Profiles table", () => {
  assert.deepEqual([profilePeakVUs(profiles.light), profileSeconds(profiles.light)], [10, 300]);
  assert.deepEqual([profilePeakVUs(profiles.medium), profileSeconds(profiles.medium)], [50, 180]);
  assert.deepEqual([profilePeakVUs(profiles.stress), profileSeconds(profiles.stress)], [200, 120]);
  assert.deepEqual([profilePeakVUs(profiles.spike), profileSeconds(profiles.spike)], [500, 50]);
  assert.equal(profiles.spike.executor === "ramping-vus" && profiles.spike.stages.map((s) => s.duration).join(","), "10s,30s,10s");
  assert.equal(profiles.default.executor === "ramping-vus" && profiles.default.stages.length, 4);
  assert.deepEqual([profilePeakVUs(profiles.default), profileSeconds(profiles.default)], [100, 70]);
  assert.equal(profiles.smoke.executor === "shared-iterations" && profiles.smoke.vus, 1);
  assert.ok(profileSeconds(profiles.soak) >= 1800);
  assert.equal(profiles["spike-arrival"].executor, "ramping-arrival-rate");
  for (const b of BUNDLE_NAMES) assert.ok(profiles[BUNDLES[b].profile], b);
});

test("durations parse and format both ways", () => {
  assert.equal(parseDuration("1m10s"), 70);
  assert.equal(parseDuration("2h"), 7200);
  assert.equal(parseDuration("500ms"), 0.5);
  assert.equal(parseDuration("0.5s"), 0.5);
  assert.equal(parseDuration("1h1m1s500ms"), 3661.5);
  assert.equal(formatDuration(70), "1m10s");
  assert.equal(formatDuration(3600), "1h");
  assert.throws(() => parseDuration("10 minutes"), /not a duration/);
  assert.throws(() => parseDuration(""), /not a duration/);
  assert.throws(() => parseDuration("5 s"), /not a duration/);
});

test("scale math: proportional, never below 1 VU or 1 s, a stage of 0 VUs stays at 0", () => {
  assert.equal(scaleCount(500, 0.1), 50);
  assert.equal(scaleCount(10, 0.01), 1);
  assert.equal(scaleCount(0, 0.5), 0);
  assert.equal(scaleDuration("5m", 0.1), "30s");
  assert.equal(scaleDuration("10s", 0.01), "1s");
  const spike = scaleProfile(profiles.spike, 0.1);
  assert.ok(spike.executor === "ramping-vus");
  assert.deepEqual(spike.stages, [
    { duration: "1s", target: 50 },
    { duration: "3s", target: 50 },
    { duration: "1s", target: 0 },
  ]);
  const arrival = scaleProfile(profiles["spike-arrival"], 0.01);
  assert.ok(arrival.executor === "ramping-arrival-rate");
  assert.deepEqual([arrival.maxVUs, arrival.preAllocatedVUs, arrival.stages[0]!.target], [5, 1, 2]);
  assert.deepEqual(scaleProfile(profiles.light, 2), { ...profiles.light, vus: 20, duration: "10m" });
  assert.deepEqual(scaleProfile(profiles.smoke, 0.1), profiles.smoke, "smoke is already minimal");
  assert.throws(() => scaleProfile(profiles.light, 0), /above 0/);
});

test("bundle options: scaled scenario, p(99.9), teardown budget, cloud block", () => {
  const file = JSON.parse(readFileSync(new URL("../thresholds.json", import.meta.url), "utf8")) as ThresholdsFile;
  const opts = buildOptions("spike", profiles.spike, config({ LOAD_SCALE: "0.1" }), buildThresholds(file, "spike"));
  assert.deepEqual(Object.keys(opts.scenarios), ["reservation"]);
  assert.equal(opts.scenarios.reservation!.executor, "ramping-vus");
  assert.ok(opts.summaryTrendStats.includes("p(99.9)"));
  assert.equal(opts.cloud, undefined);
  assert.equal(opts.tags.bundle, "spike");

  const abandon = buildOptions("abandonment", profiles.brief, config({ HOLD_SECONDS: "30", ABANDON_GRACE_SECONDS: "20" }), {});
  assert.equal(abandon.teardownTimeout, "110s");

  const cloud = buildOptions(
    "light",
    profiles.light,
    config({ K6_CLOUD_PROJECT_ID: "77", K6_CLOUD_LOAD_ZONES: "amazon:us:ashburn,amazon:de:frankfurt,amazon:jp:tokyo" }),
    {},
  );
  assert.equal(cloud.cloud?.projectID, 77);
  const percents = Object.values(cloud.cloud!.distribution!).map((d) => d.percent);
  assert.deepEqual(percents, [34, 33, 33]);
  assert.equal(cloudDistribution([]), undefined);
});

test("the load CLI's plan line shows the scaled shape", async () => {
  const { describePlan } = await import("../cli/k6-plan.ts");
  assert.equal(await describePlan("light", 1), "light: scenario reservation, up to 10 VUs for 5m");
  assert.equal(
    await describePlan("spike", 0.1),
    "spike: scenario reservation, up to 50 VUs for 5s (LOAD_SCALE 0.1; unscaled: 0 → 500 VUs in 10 s, hold 30 s, → 0 in 10 s)",
  );
});
