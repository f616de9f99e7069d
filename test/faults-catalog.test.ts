// Proves the race lab finds real race conditions: every planted fault in race-lab/faults/ makes `npm run race
// --fault NAME` exit non-zero with the check the catalog names, and the correct implementation passes
// 10 short runs out of 10 under the same workloads (no false alarm).
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import pg from "pg";
import { FAULTS, FAULTS_DIR, applyFault, faultFiles } from "../race-lab/faults/catalog.ts";
import { INVARIANT_NAMES } from "../lib/invariants.ts";
import { runRaceLab, type RaceLabResult } from "../race-lab/race-lab.ts";
import { LAB_CHECKS } from "../race-lab/verdicts.ts";
import { runCli, startLabServer, type LabServer } from "./support/race-lab.ts";

let server: LabServer;
let dir: string;
before(async () => {
  server = await startLabServer();
  dir = await mkdtemp(path.join(tmpdir(), "faults-"));
});
after(async () => {
  await server?.db.stop();
});

test("the catalog is well formed: files exist, names unique, catching checks are real check names", () => {
  const known = new Set<string>([...INVARIANT_NAMES, ...Object.keys(LAB_CHECKS)]);
  assert.equal(new Set(FAULTS.map((f) => f.name)).size, FAULTS.length);
  assert.ok(FAULTS.length >= 8);
  for (const f of FAULTS) {
    for (const file of faultFiles(f)) assert.ok(existsSync(`${FAULTS_DIR}${file}`), `${f.name}: ${file}`);
    assert.ok(f.caughtBy.length > 0, f.name);
    for (const c of f.caughtBy) assert.ok(known.has(c), `${f.name}: unknown check ${c}`);
    assert.ok(f.workload.durationSeconds <= 5, `${f.name} must expose itself in a short run`);
  }
});

test("a fault swaps a piece in place: same signatures, no overloads added", async () => {
  const url = await server.scratch("faults_signatures");
  for (const f of FAULTS) await applyFault(url, f.name);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const r = await client.query<{ proname: string; n: string }>(
      `SELECT proname, count(*) AS n FROM pg_proc WHERE pronamespace = 'public'::regnamespace
        AND proname IN ('try_reserve', 'complete_payment', 'checkout_holds', 'cleanup_expired_holds', 'new_qr_code') GROUP BY proname`,
    );
    assert.equal(r.rows.length, 5);
    for (const row of r.rows) assert.equal(Number(row.n), 1, `${row.proname} has one signature`);
  } finally {
    await client.end();
  }
});

for (const fault of FAULTS) {
  test(`fault ${fault.name} is caught by ${fault.caughtBy.join(", ")}`, async () => {
    const url = await server.scratch(`fault_${fault.name}`);
    const json = path.join(dir, `${fault.name}.json`);
    const r = await runCli("race", ["--fault", fault.name, "--i-know-this-is-scratch", "--json", json], { DATABASE_URL: url });
    assert.equal(r.code, 1, `exit code\n${r.stdout}\n${r.stderr}`);
    const result = JSON.parse(await readFile(json, "utf8")) as RaceLabResult;
    assert.equal(result.fault, fault.name);
    for (const name of fault.caughtBy) {
      const verdict = result.verdicts.find((v) => v.name === name);
      assert.equal(verdict?.passed, false, `${name} should fail under ${fault.name}: ${verdict?.observed}`);
      assert.match(r.stdout, new RegExp(`🔴\\s+${name}`));
    }
  });
}

test("the correct implementation passes 10 runs out of 10 under the faults' workloads", async () => {
  const url = await server.scratch("faults_reference");
  // Each distinct workload of the catalog, cycled to ten short runs.
  const workloads = [...new Map(FAULTS.map((f) => [JSON.stringify(f.workload), f.workload])).values()];
  const failures: string[] = [];
  for (let i = 0; i < 10; i++) {
    const workload = { ...workloads[i % workloads.length]!, durationSeconds: 2 };
    const result = await runRaceLab({ databaseUrl: url, workload, onProgress: () => undefined });
    const failed = result.verdicts.filter((v) => !v.passed);
    if (failed.length)
      failures.push(`run ${i + 1} (${JSON.stringify(workload)}): ${failed.map((v) => `${v.name}: ${v.observed}`).join("; ")}`);
  }
  assert.deepEqual(failures, []);
});
