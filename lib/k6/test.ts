// Assembles one bundle from its parts: the config (parsed at init, so a bad value stops the run before
// any VU starts), the options of its profile, and the lifecycle functions around its scenario. The entry
// modules build.mjs generates call this and re-export the pieces the way k6 expects them.
import thresholdsFile from "../../thresholds.json";
import type { BundleName } from "../bundles.ts";
import { loadConfig, type LoadConfig } from "../config.ts";
import { buildOptions } from "../options.ts";
import type { ProfileSpec } from "../profile.ts";
import { buildThresholds, type ThresholdsFile } from "../thresholds.ts";
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
  const thresholds = buildThresholds(thresholdsFile as ThresholdsFile, parts.bundle);
  return {
    options: buildOptions(parts.bundle, parts.profile, cfg, thresholds),
    setup: (): SetupData => setupRun(cfg, parts.bundle),
    run: (data: SetupData): void => parts.scenario(cfg, data),
    teardown: (data: SetupData): void => teardownRun(cfg, parts.bundle, data, parts.source),
    handleSummary: (data: unknown): Record<string, string> => summaryOutputs(data, cfg, parts.bundle, thresholds),
  };
}
