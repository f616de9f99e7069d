// `npm run chaos`: the fault suite against the embedded target. Starts its own durable PostgreSQL (never
// DATABASE_URL: it kills, freezes and restarts the server it runs on), loads the target with buyers,
// injects each fault, and prints what it did and what it checked; exit 0 only when every check passed.
import { writeFile } from "node:fs/promises";
import { parseFlags, runMain } from "./cli-kit.ts";
import { EXIT } from "./exit-codes.ts";
import { formatChaosReport, runChaos } from "../race-lab/chaos.ts";

const USAGE = `usage: npm run chaos -- [--json FILE]
Starts a private, durable PostgreSQL and the embedded target, runs buyers against it, and meanwhile kills a busy
backend, terminates every session, kills and restarts the postmaster, and freezes the server (SIGSTOP) and thaws
it. After each fault it checks the answers (200, 4xx or 503 with Retry-After, within 5 s), that sales resume, that
every acknowledged hold, order and payment is in the database, and every invariant. About a minute.`;

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2), { json: { type: "string" }, help: { type: "boolean", short: "h" } }, USAGE);
  if (flags.help) {
    console.log(USAGE);
    return EXIT.OK;
  }
  if (process.env.DATABASE_URL) {
    console.error("chaos: DATABASE_URL is ignored: the fault suite only runs against a PostgreSQL server it starts itself");
  }
  const report = await runChaos({ onProgress: (line) => console.log(line) });
  console.log(formatChaosReport(report));
  if (flags.json) await writeFile(flags.json, `${JSON.stringify(report, null, 2)}\n`);
  return report.passed ? EXIT.OK : EXIT.CHECK_FAILED;
}

runMain(main);
