// What a virtual user needs of the run's configuration, without zod. Only the instance k6 reads options
// from (__VU 0, which also runs setup, teardown and handleSummary) parses and validates the whole
// configuration; setup() hands the VUs the settings below, and each VU reads its two keys from __ENV
// here. Parsing the configuration with zod in every VU cost ~4.5 MB and a tenth of a CPU-second per VU
// under k6 v0.49 (docs/k6-generator.md). Pure module: no k6 import, no zod.
import type { LoadConfig } from "./config.ts";
import { LOCAL_ANON_KEY, LOCAL_WEBHOOK_SECRET } from "./local-target.ts";

export type Env = Readonly<Record<string, string | undefined>>;

const VU_SETTINGS = [
  "supabaseUrl",
  "loopback",
  "payRatio",
  "webhookRedeliveryRatio",
  "doubleClickRatio",
  "secondTabRatio",
  "botRatio",
  "botSessions",
  "thinkTime",
  "quantity",
  "maxRetries",
] as const;

/** The validated settings VUs act on; no secret among them, since setup data reaches handleSummary. */
export type VuSettings = Pick<LoadConfig, (typeof VU_SETTINGS)[number]>;
/** What scenario code and the API client work with. */
export type VuConfig = VuSettings & Pick<LoadConfig, "anonKey" | "webhookSecret">;

export function vuSettings(cfg: LoadConfig): VuSettings {
  const out = {} as Record<string, unknown>;
  for (const key of VU_SETTINGS) out[key] = cfg[key];
  return out as VuSettings;
}

/** A variable's value, trimmed; empty counts as unset (`-e NAME=` arrives as ""). */
export function presentText(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

/** The anon key (local demo key on loopback; undefined remotely when unset) and the webhook secret. */
export function vuKeys(env: Env, loopback: boolean): { anonKey: string | undefined; webhookSecret: string } {
  return {
    anonKey: presentText(env.SUPABASE_ANON_KEY) ?? (loopback ? LOCAL_ANON_KEY : undefined),
    webhookSecret: presentText(env.WEBHOOK_SECRET) ?? LOCAL_WEBHOOK_SECRET,
  };
}

/** A VU's whole config: the settings setup() validated, plus the keys from this VU's environment. */
export function vuConfig(settings: VuSettings, env: Env): VuConfig {
  const keys = vuKeys(env, settings.loopback);
  // setup() only hands out settings after the same keys passed validation, so the anon key is there.
  return { ...settings, anonKey: keys.anonKey ?? "", webhookSecret: keys.webhookSecret };
}
