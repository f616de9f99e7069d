// `npm run faults:k6`: proves, with a real k6, that the suite catches every planted fault HTTP can reach.
// For each fault of race-lab/faults/catalog.ts with a k6 exposure: a fresh embedded target, the fault planted,
// then `k6 run --vus N --duration D` of the plain bundle with the catalog's variables, driven again
// (at most 4 runs) until a run decides: it caught the fault, or it reached it and so gave it its chance;
// that run must exit 99 with the fault's check or metric among the crossed thresholds. Prints one line per fault; exits 1 when any escapes, 69 without k6.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { applyFault, FAULTS, reachedValue, type Fault, type K6Exposure } from "../race-lab/faults/catalog.ts";
import { clientEnv, startTarget, type Target } from "../backend/index.ts";
import { CliExit, runCli } from "./exit.ts";
import { EXIT } from "./exit-codes.ts";
import { requireK6 } from "./k6-common.ts";
import { bundlePath, ensureBuilt } from "./k6-dist.ts";

const ATTEMPTS = 4;
/** Expired holds must come back within a run (expiry_keeps_inventory). */
const CLEANUP_MS = 250;

interface Summary {
  metrics: Record<string, { values: Record<string, number> }>;
  thresholds: { metric: string; expression: string; ok: boolean | null }[];
}

function k6Run(bin: string, file: string, k6: K6Exposure, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ["run", "--quiet", "--vus", String(k6.vus), "--duration", k6.duration, file], {
      env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    child.stderr.resume();
    child.once("error", reject);
    child.once("exit", (code) => resolve(code ?? 1));
  });
}

async function runOnce(bin: string, target: Target, k6: K6Exposure): Promise<{ code: number; summary: Summary | null }> {
  const dir = await mkdtemp(path.join(tmpdir(), "k6-fault-"));
  try {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      K6_NO_USAGE_REPORT: "true",
      ...clientEnv(target),
      RESULTS_DIR: dir,
      THINK_TIME: "0",
      ...k6.env,
    };
    const code = await k6Run(bin, bundlePath(k6.bundle, false), k6, env);
    const summary = JSON.parse(await readFile(path.join(dir, "summary.json"), "utf8").catch(() => "null")) as Summary | null;
    return { code, summary };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function prove(bin: string, fault: Fault, k6: K6Exposure): Promise<{ caught: boolean; line: string }> {
  const target = await startTarget({ port: 0, fast: true, cleanupIntervalMs: CLEANUP_MS });
  try {
    await applyFault(target.databaseUrl, fault.name);
    for (let runs = 1; runs <= ATTEMPTS; runs++) {
      const { code, summary } = await runOnce(bin, target, k6);
      const reached = summary ? reachedValue(summary.metrics, k6.reached.metric) : 0;
      const crossed = summary ? summary.thresholds.filter((t) => t.ok === false).map((t) => `${t.metric} ${t.expression}`) : [];
      const named = crossed.filter((t) => t.startsWith(`${k6.expect} `));
      const caught = code === EXIT.K6_THRESHOLDS && named.length > 0;
      if (!caught && reached < k6.reached.atLeast && runs < ATTEMPTS) continue;
      const verdict = caught ? "✅ caught" : reached < k6.reached.atLeast ? "❌ never reached" : "❌ ESCAPED";
      return {
        caught,
        line: `${verdict}  ${fault.name.padEnd(24)} ${k6.bundle.padEnd(12)} exit ${code}  run ${runs}  ${k6.reached.metric} ${reached}  named: ${named.join(", ") || "-"}`,
      };
    }
    throw new Error("unreachable");
  } finally {
    await target.stop();
  }
}

async function main(): Promise<number> {
  const { bin, info } = requireK6(process.env);
  const exposed = FAULTS.filter((f): f is Fault & { k6: K6Exposure } => f.k6 !== null);
  for (const bundle of new Set(exposed.map((f) => f.k6.bundle))) {
    const error = ensureBuilt(bundlePath(bundle, false));
    if (error) throw new CliExit(error, EXIT.ERROR);
  }
  console.error(`faults:k6: k6 ${info.version}, ${exposed.length} faults HTTP can reach, each in a fresh embedded target`);
  let escaped = 0;
  for (const fault of exposed) {
    const { caught, line } = await prove(bin, fault, fault.k6);
    console.log(line);
    if (!caught) escaped += 1;
  }
  console.log(escaped === 0 ? `all ${exposed.length} faults caught` : `${escaped} of ${exposed.length} faults not caught`);
  return escaped === 0 ? EXIT.OK : EXIT.CHECK_FAILED;
}

await runCli(main, { cliExit: "", other: "faults:k6: " });
