// Assembles one bundle from its parts: the config (parsed at init, so a bad value stops the run before
// any VU starts), the options of its profile, and the lifecycle functions around its scenario. The entry
// modules build.mjs generates call this and re-export the pieces the way k6 expects them.
import { sleep } from "k6";
import thresholdsFile from "../../thresholds.json";
import type { BundleName } from "../bundles.ts";
import { loadConfig, type LoadConfig } from "../config.ts";
import { buildOptions } from "../options.ts";
import type { ProfileSpec } from "../profile.ts";
import { buildThresholds, type ThresholdsFile } from "../thresholds.ts";
import { healthCheck } from "./api.ts";
import type { InvariantSource } from "./invariant-source.ts";
import { setupRun, type SetupData } from "./setup.ts";
import { summaryOutputs } from "./summary.ts";
import { teardownRun } from "./teardown.ts";

/** What a VU does per iteration, given the run's config and setup()'s data. */
export type ScenarioFn = (cfg: LoadConfig, data: SetupData) => void;

export interface TestParts {
  bundle: BundleName;
  profile: ProfileSpec;
  scenario: ScenarioFn;
  source: InvariantSource;
  sqlFlavour: boolean;
}

export function defineTest(parts: TestParts) {
  const cfg = loadConfig(__ENV, { sqlTeardown: parts.sqlFlavour });
  // Per VU (each has its own module instance): the countdown is waited out once, before the first click,
  // with the page already loaded (one request opens the VU's connection), so every click lands at once.
  let waiting = true;
  const awaitOpening = (data: SetupData): void => {
    if (!waiting) return;
    waiting = false;
    if ((data.opensAt ?? 0) <= Date.now()) return;
    healthCheck(cfg);
    const ms = data.opensAt - Date.now();
    if (ms > 0) sleep(ms / 1000);
  };
  const thresholds = buildThresholds(thresholdsFile as ThresholdsFile, parts.bundle);
  return {
    options: buildOptions(parts.bundle, parts.profile, cfg, thresholds),
    setup: (): SetupData => setupRun(cfg, parts.bundle),
    run: (data: SetupData): void => {
      awaitOpening(data);
      parts.scenario(cfg, data);
    },
    teardown: (data: SetupData): void => teardownRun(cfg, parts.bundle, data, parts.source),
    handleSummary: (data: unknown): Record<string, string> => summaryOutputs(data, cfg, parts.bundle, thresholds),
  };
}
