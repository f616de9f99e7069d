// `npm run race`: Level 2 of the suite. Runs pgbench against an isolated contention event (on
// DATABASE_URL or a private embedded PostgreSQL) and prints the Liventix Advanced Load Testing Guide's verdict table; exit 0 only when
// every verdict passes. With --fault it first plants a known bug, to prove the lab catches it; with
// --compare it runs the guide's single-row design and the bucketed one side by side (race-lab/race-compare.ts).
import { writeFile } from "node:fs/promises";
import { FAULT_NAMES, applyFault, findFault } from "../race-lab/faults/catalog.ts";
import { openCommandDatabase, RefusedError, runMain, UsageError } from "./cli-kit.ts";
import { EXIT } from "./exit-codes.ts";
import { requireFunctions } from "../race-lab/lab-database.ts";
import { findPgbench } from "../race-lab/pgbench-run.ts";
import { runRaceCompare } from "../race-lab/race-compare.ts";
import { runRaceLab } from "../race-lab/race-lab.ts";
import { parseRaceOptions, RACE_USAGE } from "./race-options.ts";
import { formatCompareReport, formatRaceReport } from "../race-lab/race-report.ts";

const REQUIRED = ["load_test_setup", "load_test_invariants", "load_test_capacity", "try_reserve", "checkout_holds", "complete_payment"];

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let options = parseRaceOptions(argv);
  if (options.help) {
    console.log(`${RACE_USAGE}\nfaults: ${FAULT_NAMES.join(", ")}`);
    return EXIT.OK;
  }
  if (options.fault !== null) {
    const fault = findFault(options.fault);
    if (!fault) throw new UsageError(`--fault must be one of ${FAULT_NAMES.join(", ")}, got "${options.fault}"`);
    // The fault's workload is what exposes it; flags given explicitly still win.
    options = parseRaceOptions(argv, fault.workload);
    if (process.env.DATABASE_URL && !options.scratchConfirmed) {
      throw new RefusedError(
        "--fault rewrites functions and drops constraints in the database it runs on; DATABASE_URL is set, so " +
          "add --i-know-this-is-scratch if that database is disposable, or unset DATABASE_URL to use a private embedded one",
      );
    }
  }
  findPgbench();

  const db = await openCommandDatabase(process.env.DATABASE_URL, { durable: options.compare });
  try {
    await requireFunctions(db.url, options.workload.buckets > 1 ? [...REQUIRED, "spread_tier_inventory"] : REQUIRED);
    if (options.fault !== null) {
      await applyFault(db.url, options.fault);
      console.error(`planted fault "${options.fault}" (see race-lab/faults/${findFault(options.fault)!.file})`);
    }
    const result = options.compare
      ? await runRaceCompare({ databaseUrl: db.url, workload: options.workload })
      : await runRaceLab({ databaseUrl: db.url, workload: options.workload, fault: options.fault });
    console.log("singleRow" in result ? formatCompareReport(result) : formatRaceReport(result));
    if (options.jsonFile) {
      await writeFile(options.jsonFile, `${JSON.stringify(result, null, 2)}\n`);
      console.error(`wrote ${options.jsonFile}`);
    }
    return result.passed ? EXIT.OK : EXIT.CHECK_FAILED;
  } finally {
    await db.stop();
  }
}

runMain(main);
