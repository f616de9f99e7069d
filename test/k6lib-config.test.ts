// The k6 config must stop a bad run before the first request with one message listing every problem
// once, and fall back to the embedded target's defaults when nothing is set.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AUTO_BUCKETS, bucketsPerTier, formatConfigProblems, isLoopbackUrl, loadConfig, parseConfig, urlHost } from "../lib/config.ts";
import { LOCAL_ANON_KEY, LOCAL_SERVICE_ROLE_KEY, LOCAL_SUPABASE_URL, LOCAL_WEBHOOK_SECRET } from "../lib/local-target.ts";

const EVENT = "0b6c4f7e-1d2a-4c3b-8e9f-0a1b2c3d4e5f";
const TIER = "1c7d5a8f-2e3b-4d4c-9f0a-1b2c3d4e5f60";

test("nothing set: the embedded target's defaults", () => {
  const result = parseConfig({});
  assert.equal(result.ok, true);
  if (!result.ok) return;
  const c = result.config;
  assert.equal(c.supabaseUrl, LOCAL_SUPABASE_URL);
  assert.equal(c.anonKey, LOCAL_ANON_KEY);
  assert.equal(c.serviceRoleKey, LOCAL_SERVICE_ROLE_KEY);
  assert.equal(c.webhookSecret, LOCAL_WEBHOOK_SECRET);
  assert.equal(c.loopback, true);
  assert.deepEqual([c.payRatio, c.thinkTime, c.quantity, c.loadScale, c.maxRetries], [0.7, 1, 1, 1, 5]);
  assert.equal(c.eventId, null);
  assert.deepEqual(c.tierIds, []);
});

test("empty strings count as unset, numbers and lists are parsed", () => {
  const result = parseConfig({
    SUPABASE_URL: "http://localhost:9999/",
    PAY_RATIO: "0",
    THINK_TIME: "",
    LOAD_SCALE: "0.1",
    EVENT_ID: EVENT,
    TIER_ID: `${TIER}, ${EVENT}`,
    K6_CLOUD_PROJECT_ID: "12345",
    K6_CLOUD_LOAD_ZONES: "amazon:us:ashburn,amazon:de:frankfurt",
  });
  assert.equal(result.ok, true);
  if (!result.ok) return;
  assert.equal(result.config.supabaseUrl, "http://localhost:9999");
  assert.equal(result.config.payRatio, 0);
  assert.equal(result.config.thinkTime, 1);
  assert.equal(result.config.loadScale, 0.1);
  assert.deepEqual(result.config.tierIds, [TIER, EVENT]);
  assert.equal(result.config.cloudProjectId, 12345);
  assert.deepEqual(result.config.cloudLoadZones, ["amazon:us:ashburn", "amazon:de:frankfurt"]);
});

test("every bad value is listed once, naming the variable and the fix", () => {
  const result = parseConfig({
    SUPABASE_URL: "not a url",
    PAY_RATIO: "2",
    THINK_TIME: "-1",
    QUANTITY: "1.5",
    LOAD_SCALE: "0",
    EVENT_ID: "nope",
    DATABASE_URL: "mysql://x",
  });
  assert.equal(result.ok, false);
  if (result.ok) return;
  const names = result.problems.map((p) => p.split(":")[0]);
  assert.deepEqual(names.sort(), [
    "DATABASE_URL",
    "EVENT_ID",
    "LOAD_SCALE",
    "PAY_RATIO",
    "QUANTITY",
    "SUPABASE_URL",
    "THINK_TIME",
    "TIER_ID",
  ]);
  assert.equal(new Set(names).size, names.length, "each variable once");
  assert.match(result.problems.find((p) => p.startsWith("PAY_RATIO"))!, /from 0 to 1.*PAY_RATIO=0.7/);
  assert.match(result.problems.find((p) => p.startsWith("SUPABASE_URL"))!, /npm run target/);
});

test("a remote project needs its keys; secrets are never echoed", () => {
  const result = parseConfig({ SUPABASE_URL: "https://abcd.supabase.co", EVENT_ID: EVENT });
  assert.equal(result.ok, false);
  if (result.ok) return;
  const names = result.problems.map((p) => p.split(":")[0]).sort();
  assert.deepEqual(names, ["SUPABASE_ANON_KEY", "SUPABASE_SERVICE_ROLE_KEY", "TIER_ID"]);

  const withKeys = parseConfig({ SUPABASE_URL: "https://abcd.supabase.co", SUPABASE_ANON_KEY: "anon-secret-value", PAY_RATIO: "x" });
  assert.equal(withKeys.ok, false);
  if (withKeys.ok) return;
  assert.ok(!withKeys.problems.join("\n").includes("anon-secret-value"));
  assert.deepEqual(
    withKeys.problems.map((p) => p.split(":")[0]),
    ["PAY_RATIO", "SUPABASE_SERVICE_ROLE_KEY"],
    "bad values and missing keys in one list",
  );
  const badUrl = parseConfig({ SUPABASE_URL: "ftp://x" });
  assert.deepEqual(
    !badUrl.ok && badUrl.problems.map((p) => p.split(":")[0]),
    ["SUPABASE_URL"],
    "no key demands for a URL that is itself wrong",
  );
});

test("EVENT_ID + TIER_ID + DATABASE_URL replace the service role key only for the SQL flavour", () => {
  const env = {
    SUPABASE_URL: "https://abcd.supabase.co",
    SUPABASE_ANON_KEY: "anon",
    EVENT_ID: EVENT,
    TIER_ID: TIER,
    DATABASE_URL: "postgresql://postgres:pw@db.abcd.supabase.co:5432/postgres",
  };
  assert.equal(parseConfig(env, { sqlTeardown: true }).ok, true);
  assert.equal(parseConfig(env, { sqlTeardown: false }).ok, false);
});

test("loadConfig throws one message listing all problems", () => {
  assert.throws(
    () => loadConfig({ PAY_RATIO: "abc", MAX_RETRIES: "99" }),
    (e: Error) => {
      assert.match(e.message, /configuration has 2 problems/);
      assert.match(e.message, /- PAY_RATIO:/);
      assert.match(e.message, /- MAX_RETRIES:/);
      assert.match(e.message, /docs\/k6\.md/);
      return true;
    },
  );
  assert.match(formatConfigProblems(["X: y"]), /1 problem;/);
});

test("hosts: loopback detection ignores credentials and ports", () => {
  assert.equal(urlHost("https://user:pw@Example.COM:8443/x"), "example.com");
  assert.equal(isLoopbackUrl("http://127.0.0.1:54321"), true);
  assert.equal(isLoopbackUrl("http://localhost"), true);
  assert.equal(isLoopbackUrl("http://[::1]:80"), true);
  assert.equal(isLoopbackUrl("https://127.0.0.1.evil.com"), false);
  assert.equal(isLoopbackUrl("https://abcd.supabase.co"), false);
});

test("drop behaviours: on by default at small ratios, tunable, and bad values named with their fix", () => {
  const defaults = loadConfig({});
  assert.deepEqual(
    [
      defaults.webhookRedeliveryRatio,
      defaults.doubleClickRatio,
      defaults.secondTabRatio,
      defaults.botRatio,
      defaults.botSessions,
      defaults.saleOpensIn,
      defaults.eventCapacity,
    ],
    [0.1, 0.05, 0.05, 0.02, 4, null, null],
  );
  const tuned = loadConfig({
    WEBHOOK_REDELIVERY_RATIO: "1",
    DOUBLE_CLICK_RATIO: "0",
    BOT_SESSIONS: "6",
    SALE_OPENS_IN: "1.5",
    EVENT_CAPACITY: "14",
  });
  assert.deepEqual(
    [tuned.webhookRedeliveryRatio, tuned.doubleClickRatio, tuned.botSessions, tuned.saleOpensIn, tuned.eventCapacity],
    [1, 0, 6, 1.5, 14],
  );
  const bad = parseConfig({ SECOND_TAB_RATIO: "2", BOT_SESSIONS: "1", EVENT_CAPACITY: "0" });
  assert.equal(bad.ok, false);
  if (bad.ok) return;
  assert.deepEqual(
    bad.problems.map((p) => p.split(":")[0]),
    ["SECOND_TAB_RATIO", "BOT_SESSIONS", "EVENT_CAPACITY"],
  );
  assert.match(bad.problems[0]!, /from 0 to 1.*SECOND_TAB_RATIO=0\.05/);
});

test("BUCKETS_PER_TIER: 1 to 4096, only for the event setup() creates, never with an event cap", () => {
  assert.equal(loadConfig({}).bucketsPerTier, null, "unset: setup() chooses");
  assert.equal(loadConfig({ BUCKETS_PER_TIER: "256" }).bucketsPerTier, 256);
  assert.equal(loadConfig({ BUCKETS_PER_TIER: "1", EVENT_CAPACITY: "14" }).bucketsPerTier, 1, "one row is what a capped event has anyway");
  for (const bad of ["0", "4097", "1.5", "many"]) {
    const r = parseConfig({ BUCKETS_PER_TIER: bad });
    assert.deepEqual(!r.ok && r.problems.map((p) => p.split(":")[0]), ["BUCKETS_PER_TIER"], bad);
    assert.match(!r.ok ? r.problems[0]! : "", /whole number from 1 to 4096.*BUCKETS_PER_TIER=1024/);
  }
  const capped = parseConfig({ BUCKETS_PER_TIER: "64", EVENT_CAPACITY: "14" });
  assert.deepEqual(!capped.ok && capped.problems, [
    "BUCKETS_PER_TIER: a capped event keeps single-row tiers (load_test_setup refuses buckets with EVENT_CAPACITY); unset BUCKETS_PER_TIER or EVENT_CAPACITY",
  ]);
  const own = parseConfig({ BUCKETS_PER_TIER: "64", EVENT_ID: EVENT, TIER_ID: TIER });
  assert.equal(own.ok, false);
  assert.match(!own.ok ? own.problems.join("\n") : "", /^BUCKETS_PER_TIER: shapes only the event setup\(\) creates.*spread_tier_inventory/);
  const both = parseConfig({ BUCKETS_PER_TIER: "64", EVENT_CAPACITY: "0", PAY_RATIO: "2" });
  assert.deepEqual(
    !both.ok && both.problems.map((p) => p.split(":")[0]),
    ["PAY_RATIO", "EVENT_CAPACITY"],
    "no cross rule on a value already reported bad",
  );
});

test("buckets per tier: as asked, else buckets where the target reports SERIALIZABLE and the event has no cap", () => {
  const unset = { bucketsPerTier: null, eventCapacity: null };
  assert.equal(bucketsPerTier(unset, "serializable"), AUTO_BUCKETS);
  assert.equal(bucketsPerTier(unset, "read_committed"), 1);
  assert.equal(
    bucketsPerTier(unset, undefined),
    1,
    "a Supabase project has no /health isolation: the guide's single row, like its own tiers",
  );
  assert.equal(bucketsPerTier({ bucketsPerTier: null, eventCapacity: 14 }, "serializable"), 1, "a capped event keeps one row");
  assert.equal(
    bucketsPerTier({ bucketsPerTier: 1, eventCapacity: null }, "serializable"),
    1,
    "BUCKETS_PER_TIER=1 tests the single row under SERIALIZABLE",
  );
  assert.equal(bucketsPerTier({ bucketsPerTier: 32, eventCapacity: null }, undefined), 32);
});
