// `npm run db-stats`: what the database saw during a load test (for example while `npm run load` hammers
// it over HTTP): pg_stat_statements for the reservation functions, lock waits sampled from
// pg_stat_activity, table activity, and hold expiry (overdue holds, the cleanup job's last runs).
// `--reset` clears pg_stat_statements before a scenario.
import { writeFile } from "node:fs/promises";
import type pg from "pg";
import { intFlag, openCommandDatabase, parseFlags, runMain } from "./cli-kit.ts";
import { EXIT } from "./exit-codes.ts";
import { formatHoldExpiry, readHoldExpiry } from "../race-lab/hold-expiry.ts";
import { connectLab } from "../race-lab/lab-database.ts";
import { startLockSampler } from "../race-lab/lock-sampler.ts";
import { formatLockWaits, formatStatements, formatTableStats } from "../race-lab/race-report.ts";
import { readStatStatements, resetStatStatements } from "../race-lab/stat-statements.ts";
import { readTableStats } from "../race-lab/table-stats.ts";

const USAGE = `usage: npm run db-stats -- [--seconds 5] [--reset] [--json FILE]
  --seconds N  sample lock waits for N seconds (0..3600) before reading the statistics
  --reset      reset pg_stat_statements (run it before a scenario) and exit
Reads DATABASE_URL, or a fresh embedded PostgreSQL when it is unset.`;

async function main(): Promise<number> {
  const flags = parseFlags(
    process.argv.slice(2),
    {
      seconds: { type: "string" },
      reset: { type: "boolean" },
      json: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    USAGE,
  );
  if (flags.help) {
    console.log(USAGE);
    return EXIT.OK;
  }
  const seconds = intFlag("seconds", flags.seconds, 5, 0, 3600);
  const db = await openCommandDatabase(process.env.DATABASE_URL);
  let client: pg.Client | undefined;
  try {
    client = await connectLab(db.url, "liventix-db-stats");
    if (flags.reset) {
      const note = await resetStatStatements(client);
      console.log(note ?? "pg_stat_statements reset");
      // Without pg_stat_statements (or the right to reset it) there is nothing to clear.
      return note ? EXIT.NOT_SET_UP : EXIT.OK;
    }
    const sampler = await startLockSampler(db.url);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const lockWaits = await sampler.stop();
    const statements = await readStatStatements(client);
    const tables = await readTableStats(client);
    const holdExpiry = await readHoldExpiry(client);
    console.log(
      [
        formatStatements(statements),
        formatLockWaits(lockWaits),
        formatTableStats(tables, "table totals since stats reset"),
        formatHoldExpiry(holdExpiry),
      ].join("\n\n"),
    );
    if (flags.json) await writeFile(flags.json, `${JSON.stringify({ statements, lockWaits, tables, holdExpiry }, null, 2)}\n`);
    return EXIT.OK;
  } finally {
    await client?.end().catch(() => undefined);
    await db.stop();
  }
}

runMain(main);
