// Bundles every k6 test in lib/bundles.ts into dist/<name>.js (REST teardown) and dist/sql/<name>.js
// (teardown over xk6-sql), one ES2017 CommonJS script each (`require("k6/...")`, `exports.options`,
// `exports.default`, ...) with everything but k6's own modules inlined, plus source maps. CommonJS, not
// ESM: k6 v0.49-v0.52 send every script with import/export through Babel at each start (18+ s, 1.5 GB);
// k6 v0.53+, v1 and v2 load a script without import/export as CommonJS too (docs/k6-versions.md). Refuses to build when thresholds.json is invalid, naming each bad entry. The entry
// modules are generated here (esbuild stdin), so adding a bundle is one line in lib/bundles.ts.
import { build } from "esbuild";
import { readFile, rm, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { tsImport } from "tsx/esm/api";

const root = path.dirname(fileURLToPath(import.meta.url));
const MAX_BUNDLE_BYTES = 300 * 1024;
// Lets a k6 >= 1.2 provision xk6-sql on demand (automatic extension resolution); ignored by older k6.
const SQL_PRAGMA = '"use k6 with k6/x/sql >= 1.0.5";\n"use k6 with k6/x/sql/driver/postgres >= 0.1.2";';

const { BUNDLES, BUNDLE_NAMES } = await tsImport("./lib/bundles.ts", import.meta.url);
const { validateThresholds } = await tsImport("./lib/thresholds.ts", import.meta.url);

async function checkThresholds() {
  const file = path.join(root, "thresholds.json");
  let parsed;
  try {
    parsed = JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    return [`thresholds.json: not valid JSON (${e.message})`];
  }
  return validateThresholds(parsed);
}

// Every VU evaluates the whole bundle at init, and goja creates a function object (with its own
// property map) for every function declaration it meets: that, not the code size, is what a bundle
// costs each VU. So a bundle has two parts. The iteration path (lib/k6/iterate.ts and the scenario) is
// evaluated by every VU. Everything else (options and configuration, setup, teardown, handleSummary)
// is built separately and embedded as the body of one function, `lifecycle()`, which only the instances
// with __VU 0 call, at init: the one k6 reads options from and those that run setup, teardown and
// handleSummary. Its functions are created only there, and its require() of k6 modules runs during
// init, the only time k6 v0.49 offers require() (the syntax gate proves both).
function lifecycleEntry(name, sql) {
  const { profile } = BUNDLES[name];
  const bundle = JSON.stringify(name);
  const source = sql
    ? 'import { sqlSource as source } from "./lib/k6/invariants-sql.ts";'
    : 'import { restSource as source } from "./lib/k6/invariants-rest.ts";';
  return `
import { planBundle } from "./lib/options.ts";
import { profile } from "./profiles/${profile}.ts";
import { setupRun } from "./lib/k6/setup.ts";
import { teardownRun } from "./lib/k6/teardown.ts";
import { summaryOutputs } from "./lib/k6/summary.ts";
${source}
const plan = planBundle(__ENV, ${bundle}, profile, ${sql});
export const options = plan.options;
export function setup() { return setupRun(plan.config, ${bundle}); }
export function teardown(data) { teardownRun(plan.config, ${bundle}, data, source); }
export function handleSummary(data) { return summaryOutputs(data, plan.config, ${bundle}, plan.thresholds); }
`;
}

// The entry assigns k6's exports as plain properties of CommonJS `exports`, where ES `export`s would
// become esbuild's getters (two of them chained): k6 looks `default` up on every iteration, and each
// getter is a JS call on the load generator's hot path (docs/k6-generator.md).
function entrySource(name) {
  return `
import { iterate } from "./lib/k6/iterate.ts";
import { scenario } from "./scenarios/${BUNDLES[name].scenario}.ts";
import { lifecycle } from "liventix:lifecycle";
const vu0 = __VU === 0 ? lifecycle() : null;
exports.options = vu0 ? vu0.options : {};
exports.setup = function () { return vu0.setup(); };
exports.default = function (data) { iterate(scenario, data); };
exports.teardown = function (data) { vu0.teardown(data); };
exports.handleSummary = function (data) { return vu0.handleSummary(data); };
`;
}

const COMMON = {
  bundle: true,
  format: "cjs",
  target: "es2017",
  platform: "neutral",
  mainFields: ["module", "main"],
  external: ["k6", "k6/*"],
  logLevel: "warning",
  legalComments: "none",
};

/** The lifecycle part as an ES module exporting `lifecycle()`, whose body is that part's CommonJS bundle. */
async function lifecycleModule(name, sql, outfile) {
  const out = await build({
    ...COMMON,
    stdin: { contents: lifecycleEntry(name, sql), resolveDir: root, sourcefile: `${sql ? "sql/" : ""}${name}.lifecycle.js`, loader: "js" },
    write: false,
    // The bundle's own path, so the map's sources are relative to where the bundle lies.
    outfile,
    sourcemap: "external",
  });
  const code = out.outputFiles.find((f) => f.path.endsWith(".js")).text;
  const map = JSON.parse(out.outputFiles.find((f) => f.path.endsWith(".map")).text);
  // Two lines of wrapper precede the code: shift the mappings so that esbuild chains them into the bundle's map.
  map.mappings = `;;${map.mappings}`;
  const inline = Buffer.from(JSON.stringify(map)).toString("base64");
  return `export function lifecycle() {\nvar module = { exports: {} };\n${code}\nreturn module.exports;\n}\n//# sourceMappingURL=data:application/json;base64,${inline}\n`;
}

async function bundle(name, sql) {
  const outfile = path.join(root, "dist", sql ? "sql" : "", `${name}.js`);
  const lifecycle = await lifecycleModule(name, sql, outfile);
  await build({
    ...COMMON,
    stdin: { contents: entrySource(name), resolveDir: root, sourcefile: `${sql ? "sql/" : ""}${name}.entry.js`, loader: "js" },
    plugins: [
      {
        name: "lifecycle",
        setup(b) {
          b.onResolve({ filter: /^liventix:lifecycle$/ }, () => ({ path: `${name}.lifecycle.js`, namespace: "lifecycle" }));
          b.onLoad({ filter: /.*/, namespace: "lifecycle" }, () => ({ contents: lifecycle, loader: "js" }));
        },
      },
    ],
    // The entry's `exports` is k6's CommonJS exports object on purpose (entrySource).
    logOverride: { "commonjs-variable-in-esm": "silent" },
    outfile,
    sourcemap: "linked",
    banner: sql ? { js: SQL_PRAGMA } : undefined,
  });
  const { size } = await stat(outfile);
  // A plain k6 refuses to load a script that imports the extension, even one it never calls.
  if (!sql && (await readFile(outfile, "utf8")).includes("k6/x/sql")) {
    throw new Error(`${path.relative(root, outfile)} mentions k6/x/sql: only dist/sql bundles may import the SQL teardown`);
  }
  if (size > MAX_BUNDLE_BYTES)
    throw new Error(`${path.relative(root, outfile)} is ${size} bytes, over the ${MAX_BUNDLE_BYTES}-byte budget`);
  return { file: path.relative(root, outfile), size };
}

const problems = await checkThresholds();
if (problems.length > 0) {
  console.error(`build: thresholds.json has ${problems.length} problem(s); nothing was built:`);
  for (const p of problems) console.error(`  - ${p}`);
  process.exit(2);
}

try {
  await rm(path.join(root, "dist"), { recursive: true, force: true });
  const results = [];
  for (const sql of [false, true]) for (const name of BUNDLE_NAMES) results.push(await bundle(name, sql));
  const largest = results.reduce((a, b) => (b.size > a.size ? b : a));
  console.log(`build: ${results.length} bundles in dist/ (largest ${largest.file}, ${(largest.size / 1024).toFixed(1)} KB)`);
} catch (e) {
  console.error(`build: ${e.message}`);
  process.exit(1);
}
