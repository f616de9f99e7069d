// `npm run load -- <bundle>`: runs one k6 bundle end to end. Checks the guard and the environment, finds
// k6 (and whether it has xk6-sql, to pick dist/sql), builds dist/ when stale, starts the embedded target
// when SUPABASE_URL is not set, creates results/<timestamp>-<bundle>/ (k6 cannot create folders) and
// passes it as RESULTS_DIR, has k6 write its web dashboard there too, then exits with k6's own exit
// code (99 = a threshold failed).
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { redactText } from "../lib/redact.ts";
import { ConfigError, configFromEnv, tuning } from "../backend/config.ts";
import { clientEnv, startTarget, type Target } from "../backend/index.ts";
import { CliExit, runCli } from "./exit.ts";
import { EXIT, signalExitCode } from "./exit-codes.ts";
import { checkConfig, checkGuard, parseBundleArg, requireK6 } from "./k6-common.ts";
import { dashboardEnv } from "./k6-dashboard.ts";
import { bundlePath, ensureBuilt, ROOT } from "./k6-dist.ts";
import { describePlan } from "./k6-plan.ts";

function resultsDirName(bundle: string, now: Date = new Date()): string {
  return `${now
    .toISOString()
    .replace(/\.\d{3}Z$/, "Z")
    .replace(/:/g, "-")}-${bundle}`;
}

function runK6(bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: "inherit", env });
    // Ctrl-C already reaches k6 (same process group) and starts its graceful stop (teardown and summary
    // still run); a second SIGINT would make k6 abort hard, so this process only waits. A SIGTERM sent
    // to this process alone (CI cancelling) is passed on.
    const wait = () => undefined;
    const forward = () => child.kill("SIGTERM");
    process.on("SIGINT", wait);
    process.on("SIGTERM", forward);
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      process.off("SIGINT", wait);
      process.off("SIGTERM", forward);
      resolve(code ?? (signal ? signalExitCode(signal) : EXIT.ERROR));
    });
  });
}

/** The TARGET_* settings (and DATABASE_URL) for an embedded target on free ports. */
function targetSettings(env: NodeJS.ProcessEnv) {
  try {
    return tuning(configFromEnv(env));
  } catch (err) {
    if (err instanceof ConfigError) throw new CliExit(err.message, EXIT.USAGE);
    throw err;
  }
}

async function main(): Promise<number> {
  const { bundle, extra } = parseBundleArg(process.argv.slice(2), "load");
  let env: NodeJS.ProcessEnv = { ...process.env };
  checkGuard(bundle, env);
  const { bin, info } = requireK6(env);
  const cfg = checkConfig(env, info.sql);
  const file = bundlePath(bundle, info.sql);
  const buildError = ensureBuilt(file);
  if (buildError) throw new CliExit(buildError, EXIT.ERROR);

  let target: Target | null = null;
  if (!env.SUPABASE_URL) {
    console.error("liventix-load: SUPABASE_URL is not set; starting the embedded target…");
    target = await startTarget({ ...targetSettings(env), port: 0 });
    Object.assign(env, {
      ...clientEnv(target),
      ...(info.sql ? { DATABASE_URL: target.databaseUrl } : {}),
    });
  }
  const resultsDir = path.join(ROOT, "results", resultsDirName(bundle));
  mkdirSync(resultsDir, { recursive: true });
  env = dashboardEnv({ ...env, RESULTS_DIR: resultsDir }, resultsDir);

  console.error(`liventix-load: ${await describePlan(bundle, cfg.loadScale)}`);
  console.error(
    redactText(
      `liventix-load: k6 ${info.version}${info.sql ? " with xk6-sql" : ""} → ${path.relative(ROOT, file)} against ${env.SUPABASE_URL}`,
      [env.SUPABASE_SERVICE_ROLE_KEY, env.SUPABASE_ANON_KEY],
    ),
  );
  try {
    const code = await runK6(bin, ["run", ...extra, file], env);
    console.error(`liventix-load: results in ${path.relative(process.cwd(), resultsDir) || resultsDir} (k6 exit code ${code})`);
    return code;
  } finally {
    await target?.stop();
  }
}

await runCli(main);
