// Level 1 as users run it: `psql -v ON_ERROR_STOP=1 -f race-lab/level1-functional-checks.sql` exits 0 with
// every check PASS on the correct schema, leaves nothing behind, and exits non-zero naming the failing
// check once a fault is planted.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import pg from "pg";
import { applyFault } from "../race-lab/faults/catalog.ts";
import { toolConnection } from "../race-lab/connection.ts";
import { startLabServer, type LabServer } from "./support/race-lab.ts";

const SCRIPT = fileURLToPath(new URL("../race-lab/level1-functional-checks.sql", import.meta.url));
const PSQL = process.env.PSQL ?? "/usr/bin/psql";

function psql(databaseUrl: string) {
  const conn = toolConnection(databaseUrl);
  return spawnSync(PSQL, [conn.url, "-X", "-v", "ON_ERROR_STOP=1", "-f", SCRIPT], { env: conn.env, encoding: "utf8", timeout: 60_000 });
}

let server: LabServer;
before(async () => {
  server = await startLabServer();
});
after(async () => {
  await server?.db.stop();
});

test("every Level 1 check passes on the correct schema, and the transaction rolls back", async () => {
  const url = await server.scratch("level1_ok");
  const r = psql(url);
  assert.equal(r.status, 0, r.stderr);
  const checks = ["reserve", "sold out", "release", "expiry", "checkout", "payment", "payment twice, one sale", "idempotency key"];
  const buckets = [
    "reserve",
    "fragmented tail, then sold out",
    "release, payment, expiry, paid after expiry",
    "settled counters",
    "invariants",
  ];
  for (const check of [...checks, ...buckets.map((b) => `buckets: ${b}`)]) {
    assert.match(r.stderr, new RegExp(`NOTICE:  PASS ${check}:`), check);
  }
  assert.doesNotMatch(r.stderr, /FAIL/);
  assert.match(r.stdout, /ROLLBACK/);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const left = await client.query("SELECT 1 FROM events WHERE name = 'level 1 functional checks'");
    assert.equal(left.rowCount, 0, "nothing is left behind");
  } finally {
    await client.end();
  }
});

test("with expiry_keeps_inventory planted, psql exits non-zero and names the expiry check", async () => {
  const url = await server.scratch("level1_fault");
  await applyFault(url, "expiry_keeps_inventory");
  const r = psql(url);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /NOTICE: {2}FAIL expiry: .*reserved_quantity 2/);
  assert.match(r.stderr, /ERROR: {2}Level 1 FAILED: expiry/);
});
