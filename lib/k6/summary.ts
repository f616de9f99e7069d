// handleSummary(): the text summary on stdout and, when RESULTS_DIR names a folder (k6 cannot create
// one: the run wrapper does), summary.json, junit.xml and report.html inside it. Every output passes
// through redaction; nothing from the config is written except the redacted target URL.
import { BUNDLES, teardownChecks, type BundleName } from "../bundles.ts";
import type { LoadConfig } from "../config.ts";
import { renderHtml } from "../html-report.ts";
import { isObject } from "../json.ts";
import { renderJunit } from "../junit.ts";
import { configSecrets, redactText } from "../redact.ts";
import { normalizeSummary } from "../summary-model.ts";
import { renderSummaryText, type RunContext } from "../summary-text.ts";
import type { ThresholdMap } from "../thresholds.ts";

/** What setup() created, as handleSummary receives it (undefined fields when setup never ran). */
function setupOf(data: unknown): { eventId: string | null; bucketsPerTier: number | null } {
  const setup = isObject(data) && isObject(data.setup_data) ? data.setup_data : {};
  return {
    eventId: typeof setup.eventId === "string" ? setup.eventId : null,
    bucketsPerTier: typeof setup.bucketsPerTier === "number" ? setup.bucketsPerTier : null,
  };
}

/** The dashboard as the report links to it: by name when k6 writes it into the results folder. */
function dashboardLink(cfg: LoadConfig): string | null {
  const file = cfg.dashboardExport;
  if (file === null) return null;
  const dir = cfg.resultsDir?.replace(/\/+$/, "");
  return dir && file.startsWith(`${dir}/`) && !file.slice(dir.length + 1).includes("/") ? file.slice(dir.length + 1) : file;
}

export function summaryOutputs(data: unknown, cfg: LoadConfig, bundle: BundleName, thresholds: ThresholdMap): Record<string, string> {
  const secrets = configSecrets(cfg);
  const spec = BUNDLES[bundle];
  const setup = setupOf(data);
  const ctx: RunContext = {
    bundle,
    profile: spec.profile,
    scenario: spec.scenario,
    target: redactText(cfg.supabaseUrl, secrets),
    eventId: setup.eventId,
    bucketsPerTier: setup.bucketsPerTier,
    checks: teardownChecks(bundle),
    dashboard: dashboardLink(cfg),
  };
  const model = normalizeSummary(data, thresholds);
  const outputs: Record<string, string> = { stdout: renderSummaryText(model, ctx) };
  if (cfg.resultsDir !== null) {
    const dir = cfg.resultsDir.replace(/\/+$/, "");
    outputs[`${dir}/summary.json`] = `${JSON.stringify({ context: ctx, ...model }, null, 2)}\n`;
    outputs[`${dir}/junit.xml`] = renderJunit(model, ctx);
    outputs[`${dir}/report.html`] = renderHtml(model, ctx);
  }
  for (const key of Object.keys(outputs)) outputs[key] = redactText(outputs[key]!, secrets);
  return outputs;
}
