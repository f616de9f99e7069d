// Would k6 v0.49 load the shipped bundles, and without Babel? Every dist/**/*.js must parse, wrapped as
// k6 wraps it, as an ES2017 CommonJS script, require only k6 modules of its flavour at the top level
// (dist/sql/ may add xk6-sql and must open with its "use k6 with" directives), use no global k6 lacks,
// and stay under 300 KB. The gate itself is proven on small bad snippets, one per forbidden construct.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { FORBIDDEN_GLOBALS, gateBundle, MAX_BUNDLE_BYTES } from "./support/bundle-gate.ts";

const DIST = fileURLToPath(new URL("../dist/", import.meta.url));

async function bundles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) =>
      e.isDirectory() ? bundles(path.join(dir, e.name)) : Promise.resolve(e.name.endsWith(".js") ? [path.join(dir, e.name)] : []),
    ),
  );
  return nested.flat();
}

test("every bundle in dist/ passes the k6 v0.49 gate (run `npm run build` first)", async () => {
  const files = await bundles(DIST);
  assert.ok(files.length > 0, "dist/ holds no bundles: run `npm run build`");
  assert.ok(
    files.some((f) => f.includes(`${path.sep}sql${path.sep}`)),
    "dist/sql/ holds no SQL-flavour bundles",
  );
  const problems: string[] = [];
  for (const file of files) {
    const flavour = path.relative(DIST, file).startsWith(`sql${path.sep}`) ? "sql" : "plain";
    for (const v of gateBundle(await readFile(file, "utf8"), flavour))
      problems.push(`${path.relative(DIST, file)}:${v.line}: ${v.message}`);
  }
  assert.deepEqual(problems, []);
});

const SQL_HEAD = '"use k6 with k6/x/sql >= 1.0.5";\n';
const BAD: [string, string, RegExp][] = [
  ["ES module syntax (Babel in k6 v0.49)", 'import http from "k6/http"; export default function () { http.get("x"); }', /ES module syntax/],
  ["object spread (ES2018)", "const a = {}; exports.b = { ...a };", /not an ES2017 script/],
  ["optional chaining", "exports.f = (o) => o?.x;", /not an ES2017 script/],
  ["async iteration", "exports.f = async function (xs) { for await (const x of xs) {} };", /not an ES2017 script/],
  ["Symbol.asyncIterator", "exports.s = Symbol.asyncIterator;", /asyncIterator/],
  ["npm require", 'const z = require("zod"); exports.default = z;', /require of "zod"/],
  ["remote require", 'exports.x = require("https://jslib.k6.io/k6-utils/1.4.0/index.js");', /require of "https/],
  ["xk6 require in a plain bundle", 'exports.sql = require("k6/x/sql");', /require of "k6\/x\/sql"/],
  ["other extension in a sql bundle", `${SQL_HEAD}exports.kafka = require("k6/x/kafka");`, /require of "k6\/x\/kafka"/],
  ["require inside a function (k6 unsets it after init)", 'exports.default = function () { return require("k6/http"); };', /top level/],
  ["require of a computed name", 'const name = "k6/http"; exports.http = require(name);', /top level/],
  ["require passed around", "exports.r = require;", /top level/],
  [
    "a lazy module with a k6 require started after init (from setup())",
    'var x; var init_a = __esm({ "a.ts"() { x = require("k6/http"); } });\nexports.setup = function () { init_a(); return x; };',
    /init_a\(\) may run after init/,
  ],
  [
    "the same, one initialiser removed",
    'var x; var init_a = __esm({ "a.ts"() { x = require("k6/http"); } });\nvar init_b = __esm({ "b.ts"() { init_a(); } });\nexports.teardown = function () { init_b(); };',
    /init_a\(\) may run after init/,
  ],
  [
    "a function with a require that k6 may call after init (exported)",
    'function lifecycle() { return require("k6/http"); }\nexports.setup = lifecycle;',
    /lifecycle\(\) may run after init/,
  ],
  [
    "a sql bundle without its directive",
    'const sql = require("k6/x/sql"); exports.default = sql;',
    /must start with "use k6 with k6\/x\/sql/,
  ],
  ...FORBIDDEN_GLOBALS.map((g): [string, string, RegExp] => [
    `global ${g}`,
    `exports.f = function () { return ${g}; };`,
    new RegExp(`\`${g}\``),
  ]),
];

for (const [what, snippet, why] of BAD) {
  test(`the gate rejects ${what}`, () => {
    const flavour = what.includes("sql bundle") ? "sql" : "plain";
    const messages = gateBundle(snippet, flavour).map((v) => v.message);
    assert.ok(
      messages.some((m) => why.test(m)),
      `${snippet}: ${JSON.stringify(messages)}`,
    );
  });
}

test("the gate rejects a bundle over the size limit", () => {
  const big = `exports.s = "${"x".repeat(MAX_BUNDLE_BYTES)}";`;
  assert.match(gateBundle(big, "plain")[0]?.message ?? "", /over the 307200-byte limit/);
});

test("the gate accepts locals, properties, typeof guards and init-time requires of the allowed modules", () => {
  const fine = [
    '"use k6 with k6/x/sql >= 1.0.5";',
    '"use k6 with k6/x/sql/driver/postgres >= 0.1.2";',
    'var http = require("k6/http"); var k6 = require("k6"); var sql = __toESM(require("k6/x/sql"), 1); var driver = require("k6/x/sql/driver/postgres");',
    "function __toESM(m) { return m; }",
    "function f(URL, process, require) { const crypto = 1; return URL + process + crypto + require(1); }",
    "const o = { fetch: 1, Buffer: 2 }; o.fetch = o.Buffer; class C { setTimeout() {} }",
    'exports.hasProcess = typeof process !== "undefined";',
    "exports.g = async function () { return await Promise.resolve(1); };",
    'var y; var init_y = __esm({ "y.ts"() { y = require("k6/execution"); } });',
    'var z; var init_z = __esm({ "z.ts"() { init_y(); z = require("k6/metrics"); } });',
    "var started = __VU === 0 ? (init_z(), y) : null;",
    'var p; var init_pure = __esm({ "pure.ts"() { p = 1; } });',
    "exports.handleSummary = function () { init_pure(); return p; };",
    'function part() { var h = require("k6/http"); function later() { return h; } return { later: later }; }',
    "var vu0 = __VU === 0 ? part() : null;",
    "module.exports.default = function () { const [a, ...rest] = [1]; return [a, rest, http, k6, sql, driver]; };",
  ].join("\n");
  assert.deepEqual(gateBundle(fine, "sql"), []);
});
