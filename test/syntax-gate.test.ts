// Would k6 v0.49 load the shipped bundles? Every dist/**/*.js must parse as an ES2017 module, import
// only k6 modules of its flavour (dist/sql/ may add xk6-sql), use no global k6 lacks, and stay under
// 300 KB. The gate itself is proven on small bad snippets, one per forbidden construct.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { FORBIDDEN_GLOBALS, gateBundle, MAX_BUNDLE_BYTES } from "./k6-doubles/gate.ts";

const DIST = fileURLToPath(new URL("../dist/", import.meta.url));

async function bundles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) => (e.isDirectory() ? bundles(path.join(dir, e.name)) : Promise.resolve(e.name.endsWith(".js") ? [path.join(dir, e.name)] : []))),
  );
  return nested.flat();
}

test("every bundle in dist/ passes the k6 v0.49 gate (run `npm run build` first)", async () => {
  const files = await bundles(DIST);
  assert.ok(files.length > 0, "dist/ holds no bundles: run `npm run build`");
  assert.ok(files.some((f) => f.includes(`${path.sep}sql${path.sep}`)), "dist/sql/ holds no SQL-flavour bundles");
  const problems: string[] = [];
  for (const file of files) {
    const flavour = path.relative(DIST, file).startsWith(`sql${path.sep}`) ? "sql" : "plain";
    for (const v of gateBundle(await readFile(file, "utf8"), flavour)) problems.push(`${path.relative(DIST, file)}:${v.line}: ${v.message}`);
  }
  assert.deepEqual(problems, []);
});

const BAD: [string, string][] = [
  ["object spread (ES2018)", "const a = {}; export const b = { ...a };"],
  ["optional chaining", "export const f = (o) => o?.x;"],
  ["async iteration", "export async function f(xs) { for await (const x of xs) {} }"],
  ["Symbol.asyncIterator", "export const s = Symbol.asyncIterator;"],
  ["npm import", 'import { z } from "zod"; export default z;'],
  ["remote import", 'import x from "https://jslib.k6.io/k6-utils/1.4.0/index.js"; export default x;'],
  ["xk6 import in a plain bundle", 'import sql from "k6/x/sql"; export default sql;'],
  ["other extension in a sql bundle", 'import kafka from "k6/x/kafka"; export default kafka;'],
  ...FORBIDDEN_GLOBALS.map((g): [string, string] => [`global ${g}`, `export function f() { return ${g}; }`]),
];

for (const [what, snippet] of BAD) {
  test(`the gate rejects ${what}`, () => {
    const flavour = what.includes("sql bundle") ? "sql" : "plain";
    assert.ok(gateBundle(snippet, flavour).length > 0, `accepted: ${snippet}`);
  });
}

test("zod's own never-called paths are exempt, the same reference in suite code is not", () => {
  const bundle = ["// node_modules/zod/v3/types.js", "function big(x) { return BigInt(x); }", "// lib/uuid.ts", "export const n = BigInt(1);"].join("\n");
  assert.deepEqual(gateBundle(bundle, "plain").map((v) => v.line), [4]);
});

test("the gate rejects a bundle over the size limit", () => {
  const big = `export const s = "${"x".repeat(MAX_BUNDLE_BYTES)}";`;
  assert.match(gateBundle(big, "plain")[0]?.message ?? "", /over the 307200-byte limit/);
});

test("the gate accepts locals, properties, typeof guards and the allowed imports", () => {
  const fine = [
    'import http from "k6/http"; import { check } from "k6"; import sql from "k6/x/sql"; import driver from "k6/x/sql/driver/postgres";',
    "function f(URL, process) { const crypto = 1; return URL + process + crypto; }",
    "const o = { fetch: 1, Buffer: 2 }; o.fetch = o.Buffer; class C { setTimeout() {} }",
    'export const hasProcess = typeof process !== "undefined";',
    "export async function g() { return await Promise.resolve(1); }",
    "export default function () { const { a, ...rest } = [1]; return [a, rest]; }".replace("{ a, ...rest }", "[a, ...rest]"),
  ].join("\n");
  assert.deepEqual(gateBundle(fine, "sql"), []);
});
