// The fault suite, run as a user runs it (`npm run chaos`): buyers load the embedded target on a durable
// PostgreSQL while a busy backend is killed, every session terminated, the postmaster killed and
// restarted, and the server frozen. The API process must stay up, answer only 200, 4xx or 503 with
// Retry-After within 5 s, resume sales within seconds, and lose nothing it acknowledged.
import assert from "node:assert/strict";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { ANSWER_BOUND_MS, RECOVERY_BOUND_MS, type ChaosReport } from "../race-lab/chaos.ts";
import { FAULTS } from "../race-lab/chaos-faults.ts";
import { INVARIANT_NAMES } from "../lib/invariants.ts";
import { runCli } from "./support/race-lab.ts";

test("npm run chaos: every fault costs requests, never the process or an acknowledged sale", async (t) => {
  const json = path.join(await mkdtemp(path.join(tmpdir(), "chaos-")), "report.json");
  // A DATABASE_URL in the environment is named and ignored: the suite only touches a server it started.
  const r = await runCli("chaos", ["--json", json], { DATABASE_URL: "postgresql://nobody:secret@127.0.0.1:1/not_this_one" }, 180_000);
  t.diagnostic(r.stdout);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stderr, /DATABASE_URL is ignored/);
  assert.doesNotMatch(r.stdout + r.stderr, /secret/);
  const report = JSON.parse(await readFile(json, "utf8")) as ChaosReport;
  assert.equal(report.passed, true);
  assert.deepEqual(
    report.phases.map((p) => p.fault),
    FAULTS.map((f) => f.name),
  );
  for (const p of report.phases) {
    assert.deepEqual(p.problems, [], p.fault);
    assert.ok(
      Object.keys(p.byStatus).every((s) => ["200", "4xx", "503"].includes(s)),
      `${p.fault}: ${JSON.stringify(p.byStatus)}`,
    );
    assert.ok((p.byStatus["503"] ?? 0) > 0, `${p.fault}: the fault hit requests in flight`);
    assert.ok((p.byStatus["200"] ?? 0) > 0, `${p.fault}: sales went on`);
    assert.ok(p.slowestMs <= ANSWER_BOUND_MS, `${p.fault}: slowest ${p.slowestMs} ms`);
    assert.ok(p.recoveryMs !== null && p.recoveryMs <= RECOVERY_BOUND_MS, `${p.fault}: recovered in ${p.recoveryMs} ms`);
    assert.equal(p.invariantsPassed, INVARIANT_NAMES.length, p.fault);
    assert.match(r.stdout, new RegExp(`✅ ${p.fault.replace(/[-()]/g, "\\$&")}: `));
  }
  const last = report.phases.at(-1)!;
  assert.ok(last.acknowledged.payments > 0 && last.acknowledged.holds >= last.acknowledged.payments);
  assert.match(r.stdout, /✅ CHAOS PASSED/);
});
