// `npm run cloud -- <bundle>`: runs a bundle on Grafana k6 Cloud load generators (`k6 cloud run`, or
// `k6 cloud` on k6 0.x). The generators cannot reach this machine, so a reachable SUPABASE_URL is
// required; the same guard as `npm run load` applies. k6 Cloud does not run handleSummary: read the
// verdict afterwards with `npm run verify -- --event <id>`.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { CONFIG_VARIABLES } from "../lib/config.ts";
import { CliExit, runCli } from "./exit.ts";
import { EXIT, signalExitCode } from "./exit-codes.ts";
import { checkConfig, checkGuard, parseBundleArg, requireK6 } from "./k6-common.ts";
import { bundlePath, ensureBuilt, ROOT } from "./k6-dist.ts";

async function main(): Promise<number> {
  const { bundle, extra } = parseBundleArg(process.argv.slice(2), "cloud");
  const env = process.env;
  const cfg = checkConfig(env, false);
  if (!env.SUPABASE_URL || cfg.loopback) {
    throw new CliExit(
      "liventix-load: k6 Cloud load generators cannot reach this machine; set SUPABASE_URL (and its keys) to a reachable staging project.",
      EXIT.USAGE,
    );
  }
  checkGuard(bundle, env);
  if (!env.K6_CLOUD_PROJECT_ID) {
    throw new CliExit("liventix-load: K6_CLOUD_PROJECT_ID is not set; give the numeric id of your k6 Cloud project.", EXIT.USAGE);
  }
  if (!env.K6_CLOUD_TOKEN) console.error("liventix-load: K6_CLOUD_TOKEN is not set; relying on `k6 cloud login`.");
  const { bin, info } = requireK6(env);
  // SQL teardown would need the cloud runners to reach the database: cloud runs use the REST flavour.
  const file = bundlePath(bundle, false);
  const buildError = ensureBuilt(file);
  if (buildError) throw new CliExit(buildError, EXIT.ERROR);

  // Cloud runs see only what is passed with -e, never the local environment.
  const envArgs = CONFIG_VARIABLES.filter((name) => env[name]).flatMap((name) => ["-e", `${name}=${env[name]}`]);
  const command = info.major >= 1 ? ["cloud", "run"] : ["cloud"];
  console.error(
    `liventix-load: k6 ${info.version} ${command.join(" ")} ${path.relative(ROOT, file)} (${envArgs.length / 2} variables passed)`,
  );
  const res = spawnSync(bin, [...command, ...envArgs, ...extra, file], { stdio: "inherit", env });
  console.error("liventix-load: afterwards, check the event's invariants from here: npm run verify -- --event <event id from the run log>");
  return res.status ?? (res.signal ? signalExitCode(res.signal) : EXIT.ERROR);
}

await runCli(main);
