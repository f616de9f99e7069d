// Runs a real dist/*.js bundle the way `k6 run` would, without a k6 binary: a child Node process
// (test/k6-doubles/child.ts) with the k6 modules mapped to the doubles, the script's own scenarios run
// by k6's executors in real time on concurrent VUs (one worker thread each), the full lifecycle,
// thresholds and handleSummary. Shorten a run as under k6: with the bundles' LOAD_SCALE, or the
// script's own options. The caller's process stays free to serve the target.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ChildConfig, ChildResult } from "../k6-doubles/child.ts";
import type { SummaryData, SummaryMetric } from "../k6-doubles/summary.ts";

export interface K6RunOptions {
  /** The only variables the script sees in __ENV (like `k6 run -e K=V`; the system env is not passed). */
  env?: Record<string, string>;
  /** Offer k6/x/sql like an xk6-sql build of k6; a plain k6 refuses the require (default false). */
  xk6Sql?: boolean;
  /** `k6 run --vus N --duration D --iterations I`: replace the script's scenarios with one, as k6 does. */
  flags?: { vus?: number; duration?: string; iterations?: number };
  /** Where handleSummary's relative paths land (default: this process's cwd). */
  cwd?: string;
  /** Kill the run after this long (default 120 s); the result then has exitCode -1. */
  timeoutMs?: number;
}

export interface K6Check {
  name: string;
  path: string;
  passes: number;
  fails: number;
}

export interface K6RunResult {
  exitCode: number;
  /** data.metrics as handleSummary received it ({} when the run stopped before the summary). */
  metrics: Record<string, SummaryMetric>;
  /** Every check of the run, from all groups (setup and teardown checks sit in "::setup"/"::teardown"). */
  checks: K6Check[];
  /** Metric key → expression → passed. */
  thresholds: Record<string, Record<string, boolean>>;
  stdout: string;
  stderr: string;
  /** Files handleSummary wrote, path as returned by the script → content. */
  files: Record<string, string>;
  /** Exceptions that ended an iteration (k6 logs them and carries on). */
  iterationErrors: string[];
  warnings: string[];
  summaryError: string | null;
  data: SummaryData | null;
}

const CHILD = fileURLToPath(new URL("../k6-doubles/child.ts", import.meta.url));
const TSX = import.meta.resolve("tsx");

function collectChecks(group: SummaryData["root_group"] | undefined, out: K6Check[] = []): K6Check[] {
  if (!group) return out;
  for (const c of group.checks) out.push({ name: c.name, path: c.path, passes: c.passes, fails: c.fails });
  for (const g of group.groups) collectChecks(g, out);
  return out;
}

export async function runK6(bundle: string, options: K6RunOptions = {}): Promise<K6RunResult> {
  const scratch = await mkdtemp(path.join(tmpdir(), "k6-run-"));
  const cwd = options.cwd ?? process.cwd();
  const config: ChildConfig = {
    bundle: path.resolve(bundle),
    env: options.env ?? {},
    xk6Sql: options.xk6Sql ?? false,
    ...(options.flags ? { flags: options.flags } : {}),
    resultPath: path.join(scratch, "result.json"),
  };
  try {
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", TSX, CHILD, JSON.stringify(config)], {
        cwd,
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", NODE_OPTIONS: "", K6H_DEBUG: process.env.K6H_DEBUG ?? "" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      let err = "";
      child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
      child.stderr.on("data", (c: Buffer) => (err += c.toString("utf8")));
      const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
      child.on("error", reject);
      child.on("close", (exit) => {
        clearTimeout(timer);
        resolve({ code: exit ?? -1, stdout: out, stderr: err });
      });
    });
    const raw = await readFile(config.resultPath, "utf8").catch(() => null);
    if (raw === null) {
      return {
        exitCode: code === 0 ? -1 : code,
        metrics: {},
        checks: [],
        thresholds: {},
        stdout,
        stderr,
        files: {},
        iterationErrors: [],
        warnings: [],
        summaryError: null,
        data: null,
      };
    }
    const result = JSON.parse(raw) as ChildResult;
    const files: Record<string, string> = {};
    for (const p of result.filesWritten) files[p] = await readFile(path.resolve(cwd, p), "utf8");
    const metrics = result.data?.metrics ?? {};
    const thresholds: Record<string, Record<string, boolean>> = {};
    for (const [key, m] of Object.entries(metrics)) {
      if (m.thresholds) thresholds[key] = Object.fromEntries(Object.entries(m.thresholds).map(([e, t]) => [e, t.ok]));
    }
    return {
      exitCode: result.exitCode,
      metrics,
      checks: collectChecks(result.data?.root_group),
      thresholds,
      stdout,
      stderr,
      files,
      iterationErrors: result.iterationErrors,
      warnings: result.warnings,
      summaryError: result.summaryError,
      data: result.data,
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Sum of a counter (or 0 when the metric never appeared). */
/** The thresholds a run crossed, as "metric expression". */
export function failedThresholds(r: K6RunResult): string[] {
  return Object.entries(r.thresholds).flatMap(([key, exprs]) =>
    Object.entries(exprs)
      .filter(([, ok]) => !ok)
      .map(([e]) => `${key} ${e}`),
  );
}

export function count(result: K6RunResult, key: string): number {
  return result.metrics[key]?.values.count ?? 0;
}
