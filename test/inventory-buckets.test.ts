// Inventory buckets (docs/inventory-buckets.md) on the embedded PostgreSQL: a tier spread over buckets sells exactly its
// seats under concurrent buyers at READ COMMITTED and SERIALIZABLE (the tail and its fragments included),
// answers sold out with the same few page reads however many buckets it has, keeps the counters' rule
// (a settled tier carries its buckets' sums at every commit, under concurrent writers and settles), and
// the invariants catch broken buckets.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import type { InvariantRow } from "../lib/invariants.ts";
import { openDatabase, type Database } from "../backend/database.ts";

let db: Database;
let pool: pg.Pool;
before(async () => {
  db = await openDatabase({ port: 0, fast: true });
  pool = new pg.Pool({ connectionString: db.url, max: 40 });
});
after(async () => {
  await pool?.end();
  await db?.stop();
});

type Isolation = "READ COMMITTED" | "SERIALIZABLE";
const ISOLATIONS: Isolation[] = ["READ COMMITTED", "SERIALIZABLE"];

interface Setup {
  event_id: string;
  tier_ids: string[];
  buckets_per_tier: number;
}

async function setup(tickets: number, buckets: number): Promise<Setup> {
  const r = await pool.query<{ s: Setup }>("SELECT load_test_setup(1, $1, 600, 5000, NULL, 'buckets test', $2) AS s", [tickets, buckets]);
  return r.rows[0]!.s;
}

interface Outcome {
  ok: boolean;
  error?: string;
  hold_id?: string;
}

/** One statement's rows in a transaction of its own, run again on 40001/40P01 as the target and pgbench do. */
async function retriedRows<T extends pg.QueryResultRow>(isolation: Isolation, sql: string, params: unknown[]): Promise<T[]> {
  const client = await pool.connect();
  try {
    for (;;) {
      try {
        await client.query(`BEGIN ISOLATION LEVEL ${isolation}`);
        const r = await client.query<T>(sql, params);
        await client.query("COMMIT");
        return r.rows;
      } catch (err) {
        await client.query("ROLLBACK");
        if (!["40001", "40P01"].includes((err as { code?: string }).code ?? "")) throw err;
      }
    }
  } finally {
    client.release();
  }
}

const retried = <T extends pg.QueryResultRow>(isolation: Isolation, sql: string, params: unknown[]) =>
  retriedRows<T>(isolation, sql, params).then((rows) => rows[0]!);

const reserve = (isolation: Isolation, tier: string, quantity: number, session: string) =>
  retried<{ r: Outcome }>(isolation, "SELECT try_reserve($1, $2, $3) AS r", [tier, quantity, session]).then((row) => row.r);

const failing = (rows: InvariantRow[]) =>
  rows.filter((row) => !row.passed).map((row) => `${row.check_name}: ${row.observed} (${row.detail})`);

async function failingInvariants(eventId: string, client: pg.ClientBase | pg.Pool = pool): Promise<string[]> {
  return failing((await client.query<InvariantRow>("SELECT * FROM load_test_invariants($1)", [eventId])).rows);
}

async function seatsHeld(tierId: string): Promise<number> {
  const r = await pool.query<{ n: string }>(
    "SELECT coalesce(sum(quantity), 0) AS n FROM ticket_holds WHERE tier_id = $1 AND status = 'active'",
    [tierId],
  );
  return Number(r.rows[0]!.n);
}

test("buckets are sized to the tier (10 free seats each at least) and refused where they cannot work", async () => {
  const small = await setup(10, 1024);
  const large = await setup(100_000, 1024);
  assert.equal(small.buckets_per_tier, 1, "a 10-seat tier keeps the guide's single row");
  assert.equal(large.buckets_per_tier, 1024);
  const shape = await pool.query<{ n: string; total: string; least: number }>(
    "SELECT count(*) AS n, sum(total_quantity) AS total, min(total_quantity) AS least FROM inventory_buckets WHERE tier_id = $1",
    [large.tier_ids[0]],
  );
  assert.deepEqual(shape.rows[0], { n: "1024", total: "100000", least: 97 });
  assert.equal((await pool.query("SELECT 1 FROM inventory_buckets WHERE tier_id = $1", [small.tier_ids[0]])).rowCount, 0);

  await assert.rejects(
    pool.query("SELECT load_test_setup(1, 100, 600, 5000, 50, 'capped', 8)"),
    (e: pg.DatabaseError) => e.code === "LT400" && /event cap serialises every reservation/.test(e.detail ?? ""),
  );
  const held = await setup(100, 4);
  assert.equal((await reserve("READ COMMITTED", held.tier_ids[0]!, 2, "holder")).ok, true);
  await assert.rejects(
    pool.query("SELECT spread_tier_inventory($1, 1)", [held.tier_ids[0]]),
    (e: pg.DatabaseError) => e.code === "LT413" && /2 seats of this tier are held/.test(e.detail ?? ""),
  );
  assert.deepEqual(await failingInvariants(large.event_id), []);
});

test("sold out is answered at once: the pages read do not grow with the number of buckets", async () => {
  const soldOutRead = async (buckets: number) => {
    const ev = await setup(buckets * 10, buckets);
    const tier = ev.tier_ids[0]!;
    // Every bucket closed at once, then vacuumed as autovacuum does a table this busy: closing a bucket
    // leaves a dead entry in the index of open buckets until then (~300 of them per index page).
    await pool.query("UPDATE inventory_buckets SET sold_quantity = total_quantity WHERE tier_id = $1", [tier]);
    await pool.query("VACUUM inventory_buckets");
    const plan = async (sql: string, params: unknown[]) => {
      const r = await pool.query<{ "QUERY PLAN": [{ Plan: { "Shared Hit Blocks": number; "Shared Read Blocks": number } }] }>(
        `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${sql}`,
        params,
      );
      const top = r.rows[0]!["QUERY PLAN"][0].Plan;
      return top["Shared Hit Blocks"] + top["Shared Read Blocks"];
    };
    const reply = await pool.query<{ r: Outcome }>("SELECT try_reserve($1, 1, 'late') AS r", [tier]);
    assert.equal(reply.rows[0]!.r.error, "INSUFFICIENT_INVENTORY");
    const request = JSON.stringify({ event_id: ev.event_id, tier_id: tier, quantity: 1, session_id: "late" });
    return {
      reserve: await plan("SELECT try_reserve($1, 1, 'late-2')", [tier]),
      checkout: await plan("SELECT enhanced_checkout($1::jsonb)", [request]),
    };
  };
  const few = await soldOutRead(16);
  const many = await soldOutRead(4096);
  // A B-tree one level deeper may cost a page per index probe; a scan would cost thousands.
  assert.ok(
    many.reserve <= few.reserve + 8 && many.reserve < 64,
    `try_reserve read ${few.reserve} pages at 16 buckets, ${many.reserve} at 4096`,
  );
  assert.ok(
    many.checkout <= few.checkout + 8 && many.checkout < 64,
    `enhanced_checkout read ${few.checkout} pages at 16 buckets, ${many.checkout} at 4096`,
  );
});

describe("concurrent buyers sell exactly the seats", () => {
  for (const isolation of ISOLATIONS) {
    test(`${isolation}: 30 buyers of 1 to 3 seats, then 40 of 1, on 60 seats in 6 buckets`, async () => {
      const ev = await setup(60, 6);
      const tier = ev.tier_ids[0]!;
      const first = await Promise.all(Array.from({ length: 30 }, (_, i) => reserve(isolation, tier, 1 + (i % 3), `mixed-${i}`)));
      const sweep = await Promise.all(Array.from({ length: 40 }, (_, i) => reserve(isolation, tier, 1, `sweep-${i}`)));
      const refused = [...first, ...sweep].filter((o) => !o.ok).map((o) => o.error);
      assert.ok(
        refused.every((e) => e === "INSUFFICIENT_INVENTORY"),
        refused.join(", "),
      );
      assert.equal(await seatsHeld(tier), 60, "every seat sold, none twice");
      assert.deepEqual(await failingInvariants(ev.event_id), []);
    });

    test(`${isolation}: 20 buckets with one seat left each, 15 buyers of 2: seats move between buckets, 10 sell`, async () => {
      const ev = await setup(200, 20);
      const tier = ev.tier_ids[0]!;
      // Holds of 9 fit only a fresh 10-seat bucket: one per bucket, whichever each tries first.
      for (let i = 0; i < 20; i++) assert.equal((await reserve(isolation, tier, 9, `fill-${i}`)).ok, true);
      const pairs = await Promise.all(Array.from({ length: 15 }, (_, i) => reserve(isolation, tier, 2, `pair-${i}`)));
      assert.equal(pairs.filter((o) => o.ok).length, 10);
      assert.ok(pairs.filter((o) => !o.ok).every((o) => o.error === "INSUFFICIENT_INVENTORY"));
      const open = await pool.query("SELECT 1 FROM inventory_buckets WHERE tier_id = $1 AND is_open", [tier]);
      assert.equal(open.rowCount, 0, "sold out");
      assert.deepEqual(await failingInvariants(ev.event_id), []);
    });
  }
});

describe("the counters' rule", () => {
  for (const isolation of ISOLATIONS) {
    test(`${isolation}: a settled tier carries its buckets' sums at every commit, under buyers, payments, releases and settles`, async () => {
      const ev = await setup(400, 10);
      const tier = ev.tier_ids[0]!;
      const counts = { settles: 0, samples: 0, writes: 0 };
      const samples: string[][] = [];
      let stop = false;
      // A worker that fails stops the others, so the test ends with its error instead of waiting forever.
      const worker = (loop: () => Promise<void>) => loop().finally(() => (stop = true));
      const buyer = async (n: number) => {
        for (let i = 0; !stop; i++) {
          const session = `rule-${n}-${i}`;
          const held = await reserve(isolation, tier, 1 + (i % 2), session);
          if (!held.ok) continue;
          if (i % 3 === 0) {
            await retried(isolation, "SELECT release_hold($1, $2)", [held.hold_id, session]);
          } else {
            const order = await retried<{ o: { order_id: string } }>(isolation, "SELECT checkout_holds(ARRAY[$1::uuid], $2) AS o", [
              held.hold_id,
              session,
            ]);
            await retried(isolation, "SELECT complete_payment($1, $2)", [order.o.order_id, `evt-${session}`]);
          }
          counts.writes++;
        }
      };
      // At READ COMMITTED, as the cleanup tick and pg_cron run it: a SERIALIZABLE settle mostly finds its
      // buckets changed since its snapshot while a sale runs, and leaves the tier for the next one ("busy").
      const settler = async () => {
        while (!stop) {
          const r = await retried<{ s: { settled: number } }>("READ COMMITTED", "SELECT settle_tier_counters($1) AS s", [ev.event_id]);
          if (r.s.settled > 0) counts.settles++;
        }
      };
      const sampler = async () => {
        while (!stop) {
          samples.push(failing(await retriedRows<InvariantRow>(isolation, "SELECT * FROM load_test_invariants($1)", [ev.event_id])));
          counts.samples++;
        }
      };
      // Until settles have interleaved with writes often enough for the rule to be tested, not for a set time.
      const enough = async () => {
        const deadline = Date.now() + 60_000;
        while (!stop && (counts.settles < 15 || counts.samples < 15 || counts.writes < 150)) {
          if (Date.now() > deadline) throw new Error(`not enough interleaving within 60 s: ${JSON.stringify(counts)}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      await Promise.all([
        worker(enough),
        worker(settler),
        worker(sampler),
        ...Array.from({ length: 12 }, (_, n) => worker(() => buyer(n))),
      ]);
      assert.deepEqual(
        samples.filter((s) => s.length > 0),
        [],
        "every sample during the sale passed every invariant",
      );

      // The settler's last pass may have come after the last write and settled the tier already; every
      // worker has stopped, so what this settle finds is known before it runs.
      const before = await pool.query<{ settled: boolean }>("SELECT counters_settled AS settled FROM ticket_tiers WHERE id = $1", [tier]);
      const settled = await pool.query<{ s: { settled: number } }>("SELECT settle_tier_counters($1) AS s", [ev.event_id]);
      assert.equal(settled.rows[0]!.s.settled, before.rows[0]!.settled ? 0 : 1);
      // The Liventix Advanced Load Testing Guide's own checks 1-4 and the tickets, verbatim on the tier row: true again once settled.
      const guide = await pool.query<{ settled: boolean; reserved: number; held: string; sold: number; tickets: string; total: number }>(
        `SELECT t.counters_settled AS settled, t.reserved_quantity AS reserved, t.sold_quantity AS sold, t.total_quantity AS total,
                (SELECT coalesce(sum(quantity), 0) FROM ticket_holds WHERE tier_id = t.id AND status = 'active') AS held,
                (SELECT count(*) FROM tickets WHERE tier_id = t.id) AS tickets
           FROM ticket_tiers t WHERE t.id = $1`,
        [tier],
      );
      const g = guide.rows[0]!;
      assert.equal(g.settled, true);
      assert.equal(g.reserved, Number(g.held));
      assert.equal(g.sold, Number(g.tickets));
      assert.ok(g.sold > 0 && g.sold + g.reserved <= g.total);
      assert.deepEqual(await failingInvariants(ev.event_id), []);
    });
  }
});

test("the invariants catch broken buckets", async () => {
  const ev = await setup(40, 4);
  const tier = ev.tier_ids[0]!;
  for (let i = 0; i < 3; i++) assert.equal((await reserve("READ COMMITTED", tier, 2, `bk-${i}`)).ok, true);
  await pool.query("SELECT settle_tier_counters($1)", [ev.event_id]);
  const broken = async (sql: string): Promise<string[]> => {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await client.query(sql, [tier]);
      return (await failingInvariants(ev.event_id, client)).map((f) => f.split(":")[0]!);
    } finally {
      await client.query("ROLLBACK");
      client.release();
    }
  };
  assert.deepEqual(
    await broken("UPDATE inventory_buckets SET reserved_quantity = reserved_quantity + 1 WHERE tier_id = $1 AND bucket_no = 0"),
    ["active_holds_match_reserved", "bucket_counters_match_holds", "settled_counters_match_buckets"],
  );
  assert.deepEqual(await broken("UPDATE ticket_tiers SET reserved_quantity = reserved_quantity - 1 WHERE id = $1"), [
    "settled_counters_match_buckets",
  ]);
  assert.deepEqual(await broken("UPDATE inventory_buckets SET total_quantity = total_quantity + 1 WHERE tier_id = $1 AND bucket_no = 3"), [
    "buckets_match_tier",
  ]);
  assert.deepEqual(await broken("UPDATE ticket_holds SET bucket_no = NULL WHERE tier_id = $1"), ["bucket_counters_match_holds"]);
  assert.deepEqual(await failingInvariants(ev.event_id), [], "and nothing of it stayed");
});

test("the hold cleanup repairs a drifted bucket alone, records its bucket, and expires every other hold", async () => {
  const ev = await setup(40, 4);
  const tier = ev.tier_ids[0]!;
  const holds: string[] = [];
  for (let i = 0; i < 4; i++) holds.push((await reserve("READ COMMITTED", tier, 3, `exp-${i}`)).hold_id!);
  await pool.query("UPDATE ticket_holds SET expires_at = now() - interval '1 second' WHERE id = ANY ($1)", [holds]);
  // The counter of the first hold's bucket loses its seats (a hand edit, a restored backup).
  const drifted = await pool.query<{ bucket_no: number; seats: string }>(
    `UPDATE inventory_buckets b SET reserved_quantity = 0
       FROM (SELECT bucket_no, (SELECT sum(quantity) FROM ticket_holds WHERE tier_id = $1 AND bucket_no = h.bucket_no) AS seats
               FROM ticket_holds h WHERE id = $2) first
      WHERE b.tier_id = $1 AND b.bucket_no = first.bucket_no RETURNING b.bucket_no, first.seats`,
    [tier, holds[0]],
  );
  await pool.query("SELECT cleanup_expired_holds()");
  const statuses = await pool.query<{ status: string }>("SELECT DISTINCT status FROM ticket_holds WHERE id = ANY ($1)", [holds]);
  assert.deepEqual(statuses.rows, [{ status: "expired" }]);
  const repairs = await pool.query(
    "SELECT bucket_no, reserved_before, expired_quantity, reserved_after FROM hold_cleanup_repairs WHERE tier_id = $1",
    [tier],
  );
  const { bucket_no, seats } = drifted.rows[0]!;
  assert.deepEqual(repairs.rows, [{ bucket_no, reserved_before: 0, expired_quantity: seats, reserved_after: 0 }]);
  const counters = await pool.query("SELECT DISTINCT reserved_quantity FROM inventory_buckets WHERE tier_id = $1", [tier]);
  assert.deepEqual(counters.rows, [{ reserved_quantity: 0 }], "every other bucket gave its seats back");
  assert.deepEqual(
    (await failingInvariants(ev.event_id)).map((f) => f.split(":")[0]),
    ["no_counter_repairs"],
  );
});
