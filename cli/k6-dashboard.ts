// Every `npm run load` also keeps k6's own web dashboard (charts over time; built into k6 since v0.49):
// k6 writes it as one HTML file into the results folder when the run ends, and report.html links to it.
// Port -1 runs no dashboard server, so k6 exits as soon as the run is over; a user who wants the live
// dashboard sets K6_WEB_DASHBOARD_PORT (e.g. 5665) and still gets the file.
import path from "node:path";

export const DASHBOARD_FILE = "dashboard.html";

export function dashboardEnv(env: NodeJS.ProcessEnv, resultsDir: string): NodeJS.ProcessEnv {
  return {
    ...env,
    K6_WEB_DASHBOARD: "true",
    K6_WEB_DASHBOARD_EXPORT: path.join(resultsDir, DASHBOARD_FILE),
    K6_WEB_DASHBOARD_PORT: env.K6_WEB_DASHBOARD_PORT || "-1",
  };
}
