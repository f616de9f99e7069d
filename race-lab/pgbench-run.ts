// Runs the PostgreSQL client's pgbench against one database: finds the binary (with an install hint when
// it is missing), streams its per-second progress to the terminal while it runs, and parses its report.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { toolConnection, type ToolConnection } from "./connection.ts";
import { MissingToolError } from "./errors.ts";
import { parseLatencies, summarizeLatencies, type LatencySummary } from "./pgbench-log.ts";
import { parsePgbenchReport, type PgbenchReport } from "./pgbench-report.ts";
import type { Isolation } from "../backend/config.ts";
import type { ScriptName } from "./workload.ts";

const PGBENCH_DIR = fileURLToPath(new URL("./pgbench/", import.meta.url));
const INSTALL_HINT = "install the PostgreSQL 15+ client tools: apt-get install -y postgresql-client (macOS: brew install libpq)";

/** PGBENCH=/path/to/pgbench picks the binary (and only that one); otherwise the usual places, then PATH. */
export function findPgbench(): string {
  const override = process.env.PGBENCH;
  const found = override
    ? existsSync(override)
      ? override
      : undefined
    : (["/usr/bin/pgbench", "/usr/local/bin/pgbench", "/opt/homebrew/opt/libpq/bin/pgbench"].find((c) => existsSync(c)) ??
      fromPath("pgbench"));
  if (!found) throw new MissingToolError(`pgbench was not found${override ? ` at PGBENCH=${override}` : ""}; ${INSTALL_HINT}`);
  const version = spawnSync(found, ["--version"], { encoding: "utf8" }).stdout ?? "";
  const major = Number(/(\d+)\./.exec(version)?.[1] ?? 0);
  if (major < 15) {
    throw new MissingToolError(`${found} is pgbench ${major || "?"}; the race lab needs 15+ (--max-tries); ${INSTALL_HINT}`);
  }
  return found;
}

function fromPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir && existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  return undefined;
}

export interface PgbenchRun {
  databaseUrl: string;
  script: ScriptName;
  isolation: Isolation;
  clients: number;
  threads: number;
  durationSeconds: number;
  maxTries: number;
  /** -D name=value pairs; values are SQL literals as pgbench substitutes them textually. */
  variables: Record<string, string>;
  /** Where progress lines go while pgbench runs (the terminal by default). */
  onProgress?: (line: string) => void;
  /** Log every transaction (-l, in a temporary folder removed afterwards) for latency percentiles. */
  latencyLog?: boolean;
}

export interface PgbenchResult {
  exitCode: number;
  report: PgbenchReport;
  /** Percentiles from the per-transaction log; null without latencyLog. */
  latency: LatencySummary | null;
  stdout: string;
  stderr: string;
}

export async function runPgbench(run: PgbenchRun): Promise<PgbenchResult> {
  const binary = findPgbench();
  // Session default isolation reaches every transaction of every script, including the mix's steps.
  const pgOptions = [process.env.PGOPTIONS, `-c default_transaction_isolation=${run.isolation.replace("_", "\\ ")}`]
    .filter(Boolean)
    .join(" ");
  const conn = toolConnection(run.databaseUrl, { PGOPTIONS: pgOptions });
  const logDir = run.latencyLog ? await mkdtemp(path.join(tmpdir(), "liventix-pgbench-log-")) : null;
  try {
    return await pgbench(binary, run, conn, logDir);
  } finally {
    if (logDir) await rm(logDir, { recursive: true, force: true });
  }
}

async function pgbench(binary: string, run: PgbenchRun, conn: ToolConnection, logDir: string | null): Promise<PgbenchResult> {
  const args = [
    "-n",
    "-f",
    `${PGBENCH_DIR}${run.script}.sql`,
    "-c",
    String(run.clients),
    "-j",
    String(run.threads),
    "-T",
    String(run.durationSeconds),
    "-P",
    "1",
    "-r",
    `--max-tries=${run.maxTries}`,
    "--failures-detailed",
    ...(logDir ? ["-l", `--log-prefix=${path.join(logDir, "tx")}`] : []),
    ...Object.entries(run.variables).flatMap(([k, v]) => ["-D", `${k}=${v}`]),
    conn.url,
  ];
  const onProgress = run.onProgress ?? ((line: string) => process.stderr.write(`  pgbench ${line}\n`));
  const child = spawn(binary, args, { env: conn.env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let pending = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) if (line.trim()) onProgress(line);
  });
  // -T bounds the run; this only guards against a server that stops answering altogether.
  const guard = setTimeout(() => child.kill("SIGKILL"), (run.durationSeconds + 120) * 1000);
  const exitCode = await new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve(code ?? 1));
  }).finally(() => clearTimeout(guard));
  if (pending.trim()) onProgress(pending);
  const report = parsePgbenchReport(stdout, stderr);
  if (report.processed === 0 && report.tps === null && !report.runAborted) {
    // pgbench could not even start (connection refused, bad script): its own message says why.
    const reason = stderr
      .split("\n")
      .filter((l) => l.includes("error"))
      .slice(0, 3)
      .join("; ");
    throw new Error(`pgbench did not run (exit ${exitCode}): ${reason || "no output"}`);
  }
  return { exitCode, report, latency: logDir ? await readLatencyLogs(logDir) : null, stdout, stderr };
}

/** pgbench writes one log file per thread (tx.<pid>, tx.<pid>.<thread>). */
async function readLatencyLogs(dir: string): Promise<LatencySummary> {
  // Concatenated, not pushed as spread arguments: a 30 s run logs a few hundred thousand transactions,
  // past the engine's argument limit.
  let latencies: number[] = [];
  for (const file of await readdir(dir)) latencies = latencies.concat(parseLatencies(await readFile(path.join(dir, file), "utf8")));
  return summarizeLatencies(latencies);
}
