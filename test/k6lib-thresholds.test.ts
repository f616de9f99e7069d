// thresholds.json must be checked at build time with messages naming the bad entry, and each bundle's
// k6 thresholds must carry the goals, the always-on zero counts, one entry per invariant and per
// taxonomy code (so they reach handleSummary).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { BUNDLE_NAMES, teardownChecks } from "../lib/bundles.ts";
import { TAXONOMY_CODES } from "../lib/classify.ts";
import { INVARIANT_NAMES } from "../lib/invariants.ts";
import {
  buildThresholds,
  evaluateExpression,
  parseExpression,
  TRACKING_EXPRESSION,
  validateThresholds,
  type ThresholdsFile,
} from "../lib/thresholds.ts";

const file = JSON.parse(readFileSync(new URL("../thresholds.json", import.meta.url), "utf8")) as ThresholdsFile;

function withChange(change: (f: ThresholdsFile) => void): ThresholdsFile {
  const copy = structuredClone(file);
  change(copy);
  return copy;
}

test("the shipped thresholds.json is valid and judges every bundle", () => {
  assert.deepEqual(validateThresholds(file), []);
  for (const b of BUNDLE_NAMES) assert.ok(file.bundles[b], b);
});

test("bad entries are named with their path and a fix", () => {
  const problems = validateThresholds(
    withChange((f) => {
      f.goals.no_contention!.reserve_latency = ["p99<500"];
      f.goals.no_contention!.reserve_failures = ["p(95)<3"];
      f.goals.no_contention!.not_a_metric = ["count<1"];
      f.always.oversell_detected = [];
      f.bundles.race = "nowhere";
      delete f.bundles.smoke;
      f.bundles.bogus = "no_contention";
    }),
  );
  const joined = problems.join("\n");
  assert.match(
    joined,
    /goals\.no_contention\["reserve_latency"\]\[0\]: "p99<500" is not a k6 threshold expression; write e\.g\. "p\(99\)<500"/,
  );
  assert.match(joined, /goals\.no_contention\["reserve_failures"\]\[0\]: "p\(95\)" does not apply to reserve_failures \(a rate metric\)/);
  assert.match(joined, /goals\.no_contention\["not_a_metric"\]: unknown metric/);
  assert.match(joined, /always\["oversell_detected"\]: must be a non-empty list/);
  assert.match(joined, /bundles\.race: "nowhere" is not a group/);
  assert.match(joined, /bundles\.smoke: missing/);
  assert.match(joined, /bundles\.bogus: no such bundle/);
  assert.equal(problems.length, 7);
  assert.deepEqual(validateThresholds([]), ["thresholds.json: must be a JSON object with goals, always and bundles"]);
});

test("object entries with abortOnFail and tagged metrics are accepted", () => {
  const problems = validateThresholds(
    withChange((f) => {
      f.always["reserve_errors{code:40001}"] = [{ threshold: "count<10", abortOnFail: true }];
      f.always["invariant_violations{check:sold_lte_total}"] = ["count==0"];
    }),
  );
  assert.deepEqual(problems, []);
  assert.deepEqual(validateThresholds(withChange((f) => (f.always.oversell_detected = [{ threshold: 3 } as never]))).length, 1);
});

test("a bundle's thresholds: its group, always, taxonomy tracking and one per teardown check", () => {
  const race = buildThresholds(file, "race");
  assert.deepEqual(race.reserve_latency, file.goals.high_contention!.reserve_latency);
  assert.deepEqual(race.oversell_detected, ["count==0"]);
  assert.deepEqual(race["reserve_errors{code:23514}"], ["count==0"], "always wins over tracking");
  assert.deepEqual(race["reserve_errors{code:40001}"], [TRACKING_EXPRESSION]);
  for (const code of TAXONOMY_CODES) assert.ok(race[`reserve_errors{code:${code}}`], code);
  for (const name of INVARIANT_NAMES) assert.deepEqual(race[`invariant_violations{check:${name}}`], ["count==0"]);
  assert.ok(race["invariant_violations{check:holds_within_capacity}"]);
  assert.equal(race["invariant_violations{check:abandoned_holds_released}"], undefined);
  assert.ok(buildThresholds(file, "abandonment")["invariant_violations{check:abandoned_holds_released}"]);
  assert.ok(teardownChecks("idempotency").includes("idempotent_replay_consistent"));
});

test("expressions are parsed and evaluated like k6 does", () => {
  assert.deepEqual(parseExpression("p(99.9) < 1000"), { aggregation: "p(99.9)", operator: "<", value: 1000 });
  assert.equal(parseExpression("p(101)<3"), null);
  assert.equal(evaluateExpression("p(99)<500", { "p(99)": 499 }), true);
  assert.equal(evaluateExpression("p(99)<500", { "p(99)": 500 }), false);
  assert.equal(evaluateExpression("p(50)<10", { med: 5 }), true, "p(50) falls back to med");
  assert.equal(evaluateExpression("count==0", { count: 0 }), true);
  assert.equal(evaluateExpression("rate>0.99", { rate: 0.5 }), false);
  assert.equal(evaluateExpression("p(99.9)<5", { avg: 1 }), null, "missing stat: unknown");
});
