// A VU's iteration: the first one waits out the drop's countdown with the page already loaded (one
// request opens the VU's connection), so every VU's first click lands at once; every one runs the
// scenario with the settings setup() validated and this VU's keys (lib/vu-config.ts). Every tenth VU
// (VU 1, 11, 21, ...) also measures, at most once a second, how late k6 wakes it from a short sleep
// (generator_lag): when k6, or the machine it shares with the target, is out of CPU, every latency it
// records includes that delay, and thresholds.json then fails the run on the generator instead of
// blaming the backend. k6 wakes all VUs alike, so a tenth of them measure it as well as all would,
// and the probe from every VU cost the load generator about 4 % of its CPU (docs/k6-generator.md).
import { sleep } from "k6";
import { vuConfig, type VuConfig } from "../vu-config.ts";
import { healthCheck } from "./api.ts";
import { generatorLag } from "./metrics.ts";
import type { SetupData } from "./setup.ts";

/** What a VU does per iteration, given its config and setup()'s data. */
export type ScenarioFn = (cfg: VuConfig, data: SetupData) => void;

const LAG_PROBE_MS = 2;
const LAG_PROBE_EVERY_MS = 1000;
const LAG_PROBE_VU_STRIDE = 10;

// Per VU: each VU has its own module instance.
let config: VuConfig | null = null;
let setupData: SetupData | null = null;
// The other nine VUs in ten do not even read the clock: each call into k6 costs the generator CPU.
const probes = (__VU - 1) % LAG_PROBE_VU_STRIDE === 0;
let nextProbe = 0;

function awaitOpening(cfg: VuConfig, opensAt: number): void {
  if (opensAt <= Date.now()) return;
  healthCheck(cfg);
  const ms = opensAt - Date.now();
  if (ms > 0) sleep(ms / 1000);
}

function probeLag(): void {
  const started = Date.now();
  nextProbe = started + LAG_PROBE_EVERY_MS;
  sleep(LAG_PROBE_MS / 1000);
  generatorLag.add(Math.max(0, Date.now() - started - LAG_PROBE_MS));
}

export function iterate(scenario: ScenarioFn, data: SetupData): void {
  if (config === null || setupData === null) {
    // k6 hands every iteration setup()'s data as a wrapper that converts Go values on each read: the
    // VU keeps one plain copy instead.
    setupData = JSON.parse(JSON.stringify(data)) as SetupData;
    config = vuConfig(setupData.vu, __ENV);
    awaitOpening(config, setupData.opensAt);
  }
  if (probes && Date.now() >= nextProbe) probeLag();
  scenario(config, setupData);
}
