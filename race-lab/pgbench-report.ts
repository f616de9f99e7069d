// Reads pgbench's own words back into numbers: the final report (stdout), the per-second progress lines
// and the "client N aborted" errors (stderr). The race lab judges a run only from what pgbench measured.

interface StatementLatency {
  latencyMs: number;
  failures: number;
  retries: number;
  command: string;
}

export interface ProgressSample {
  atSeconds: number;
  tps: number;
  latencyMs: number;
  stddevMs: number;
  failed: number;
  retried: number;
  retries: number;
}

interface AbortError {
  message: string;
  clients: number;
}

export interface PgbenchReport {
  transactionType: string | null;
  clients: number | null;
  threads: number | null;
  maxTries: number | null;
  durationSeconds: number | null;
  processed: number;
  failed: number;
  serializationFailures: number;
  deadlockFailures: number;
  retriedTransactions: number;
  totalRetries: number;
  latencyAverageMs: number | null;
  latencyStddevMs: number | null;
  /** pgbench estimated the average from the duration (no -P/-R/-L): failures are folded in. */
  latencyIncludesFailures: boolean;
  initialConnectionMs: number | null;
  tps: number | null;
  statements: StatementLatency[];
  /** pgbench printed "Run was aborted": some client hit a non-retryable error. */
  runAborted: boolean;
  abortedClients: number;
  abortErrors: AbortError[];
  progress: ProgressSample[];
}

function num(text: string, pattern: RegExp): number | null {
  const m = pattern.exec(text);
  return m ? Number(m[1]) : null;
}

function parseStatements(stdout: string): StatementLatency[] {
  const lines = stdout.split("\n");
  const start = lines.findIndex((l) => l.startsWith("statement latencies in milliseconds"));
  if (start < 0) return [];
  const header = lines[start]!;
  // The columns after the latency depend on the flags: "and failures" (1) or "failures and retries" (2).
  const columns = header.includes("retries") ? 2 : header.includes("failures") ? 1 : 0;
  const row = new RegExp(`^\\s+([\\d.]+)${"\\s+(\\d+)".repeat(columns)}\\s+(.*)$`);
  const statements: StatementLatency[] = [];
  for (const line of lines.slice(start + 1)) {
    const m = row.exec(line);
    if (!m) break;
    statements.push({
      latencyMs: Number(m[1]),
      failures: columns >= 1 ? Number(m[2]) : 0,
      retries: columns >= 2 ? Number(m[3]) : 0,
      command: m[columns + 2]!.trim(),
    });
  }
  return statements;
}

const PROGRESS =
  /^progress: ([\d.]+) s, ([\d.]+) tps, lat ([\d.]+) ms stddev ([\d.]+|NaN)(?:, (\d+) failed)?(?:, (\d+) retried, (\d+) retries)?/;

export function parseProgress(stderr: string): ProgressSample[] {
  const samples: ProgressSample[] = [];
  for (const line of stderr.split("\n")) {
    const m = PROGRESS.exec(line.trim());
    if (!m) continue;
    samples.push({
      atSeconds: Number(m[1]),
      tps: Number(m[2]),
      latencyMs: Number(m[3]),
      stddevMs: m[4] === "NaN" ? 0 : Number(m[4]),
      failed: Number(m[5] ?? 0),
      retried: Number(m[6] ?? 0),
      retries: Number(m[7] ?? 0),
    });
  }
  return samples;
}

const ABORT = /client \d+ script \d+ aborted in command \d+ query \d+: (?:ERROR:\s+)?(.*)$/;

function parseAborts(stderr: string): { clients: number; errors: AbortError[] } {
  const byMessage = new Map<string, number>();
  let clients = 0;
  for (const line of stderr.split("\n")) {
    const m = ABORT.exec(line);
    if (!m) continue;
    clients += 1;
    const message = m[1]!.trim();
    byMessage.set(message, (byMessage.get(message) ?? 0) + 1);
  }
  return { clients, errors: [...byMessage].map(([message, n]) => ({ message, clients: n })) };
}

export function parsePgbenchReport(stdout: string, stderr = ""): PgbenchReport {
  const latencyLine = /^latency average = ([\d.]+) ms(.*)$/m.exec(stdout);
  const aborts = parseAborts(stderr);
  return {
    transactionType: /^transaction type: (.*)$/m.exec(stdout)?.[1]?.trim() ?? null,
    clients: num(stdout, /^number of clients: (\d+)/m),
    threads: num(stdout, /^number of threads: (\d+)/m),
    maxTries: num(stdout, /^maximum number of tries: (\d+)/m),
    durationSeconds: num(stdout, /^duration: (\d+) s/m),
    processed: num(stdout, /^number of transactions actually processed: (\d+)/m) ?? 0,
    failed: num(stdout, /^number of failed transactions: (\d+)/m) ?? 0,
    serializationFailures: num(stdout, /^number of serialization failures: (\d+)/m) ?? 0,
    deadlockFailures: num(stdout, /^number of deadlock failures: (\d+)/m) ?? 0,
    retriedTransactions: num(stdout, /^number of transactions retried: (\d+)/m) ?? 0,
    totalRetries: num(stdout, /^total number of retries: (\d+)/m) ?? 0,
    latencyAverageMs: latencyLine ? Number(latencyLine[1]) : null,
    latencyStddevMs: num(stdout, /^latency stddev = ([\d.]+) ms/m),
    latencyIncludesFailures: latencyLine?.[2]?.includes("including failures") ?? false,
    initialConnectionMs: num(stdout, /^initial connection time = ([\d.]+) ms/m),
    tps: num(stdout, /^tps = ([\d.]+)/m),
    statements: parseStatements(stdout),
    runAborted: /Run was aborted/.test(stderr) || /Run was aborted/.test(stdout),
    abortedClients: aborts.clients,
    abortErrors: aborts.errors,
    progress: parseProgress(stderr),
  };
}

/**
 * Share of attempts that met a 40001/40P01: every retry was caused by one, and so was every final
 * failure. Attempts = successes + failures + retries. This is the "40001 rate" the Liventix Advanced Load Testing Guide bounds at 5 %.
 */
export function conflictRate(r: PgbenchReport): number {
  const attempts = r.processed + r.failed + r.totalRetries;
  if (attempts === 0) return 0;
  return (r.totalRetries + r.serializationFailures + r.deadlockFailures) / attempts;
}
