// `npm run readiness`: the Liventix Advanced Load Testing Guide's production-readiness audit of DATABASE_URL (or of a fresh embedded
// target, to see what "ready" looks like). Prints ✅/⚠️/❌ with the fixing SQL; exit 1 when anything
// required is missing.
import { writeFile } from "node:fs/promises";
import { openCommandDatabase, parseFlags, runMain } from "./cli-kit.ts";
import { EXIT } from "./exit-codes.ts";
import { connectLab } from "../race-lab/lab-database.ts";
import { auditReadiness, readinessPassed, type ReadinessItem } from "../race-lab/readiness.ts";
import { renderTable } from "../race-lab/table.ts";

const USAGE = `usage: npm run readiness -- [--cleanup-by-app] [--json FILE]
  --cleanup-by-app  cleanup_expired_holds() runs outside the database (a worker, the embedded target's timer):
                    a missing pg_cron job is a warning instead of a failure
Audits DATABASE_URL, or a fresh embedded PostgreSQL when it is unset (whose cleanup runs on the target's timer).`;

const ICON = { pass: "✅", warn: "⚠️", fail: "❌" } as const;
const OBSERVED_WIDTH = 90;

export function formatReadiness(items: ReadinessItem[]): string {
  const table = renderTable(
    ["", "check", "observed", "fix"],
    items.map((i) => [
      ICON[i.status],
      i.name,
      i.observed.length > OBSERVED_WIDTH ? `${i.observed.slice(0, OBSERVED_WIDTH - 3)}...` : i.observed,
      i.fix,
    ]),
  );
  const failed = items.filter((i) => i.status === "fail");
  // What the table cut short is what the reader most needs when an item is not passing (an error message).
  const cut = items
    .filter((i) => i.status !== "pass" && i.observed.length > OBSERVED_WIDTH)
    .map((i) => `${ICON[i.status]} ${i.name}: ${i.observed}`);
  const verdict = failed.length ? `❌ NOT READY: ${failed.map((i) => i.name).join(", ")}` : "✅ READY: every required item is in place";
  return [table, ...(cut.length ? ["", ...cut] : []), "", verdict].join("\n");
}

async function main(): Promise<number> {
  const flags = parseFlags(
    process.argv.slice(2),
    {
      "cleanup-by-app": { type: "boolean" },
      json: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    USAGE,
  );
  if (flags.help) {
    console.log(USAGE);
    return EXIT.OK;
  }
  const db = await openCommandDatabase(process.env.DATABASE_URL);
  try {
    const client = await connectLab(db.url);
    let items: ReadinessItem[];
    try {
      // The embedded target expires holds on its own timer, so pg_cron is not expected there.
      items = await auditReadiness(client, { cleanupByApp: (flags["cleanup-by-app"] ?? false) || !db.external });
    } finally {
      await client.end();
    }
    console.log(formatReadiness(items));
    if (flags.json) await writeFile(flags.json, `${JSON.stringify({ ready: readinessPassed(items), items }, null, 2)}\n`);
    return readinessPassed(items) ? EXIT.OK : EXIT.CHECK_FAILED;
  } finally {
    await db.stop();
  }
}

runMain(main);
