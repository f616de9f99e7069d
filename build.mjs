// Bundles every k6 test in lib/bundles.ts into dist/<name>.js (REST teardown) and dist/sql/<name>.js
// (teardown over xk6-sql), one ES2017 module each with k6 and zod v3 inlined except k6's own modules,
// plus source maps. Refuses to build when thresholds.json is invalid, naming each bad entry. The entry
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

function entrySource(name, sql) {
  const { profile, scenario } = BUNDLES[name];
  const source = sql
    ? 'import { sqlSource as source } from "./lib/k6/invariants-sql.ts";'
    : 'import { restSource as source } from "./lib/k6/invariants-rest.ts";';
  return `
import { defineTest } from "./lib/k6/test.ts";
import { profile } from "./profiles/${profile}.ts";
import { scenario } from "./scenarios/${scenario}.ts";
${source}
const test = defineTest({ bundle: ${JSON.stringify(name)}, profile, scenario, source, sqlFlavour: ${sql} });
export const options = test.options;
export function setup() { return test.setup(); }
export default function (data) { test.run(data); }
export function teardown(data) { test.teardown(data); }
export function handleSummary(data) { return test.handleSummary(data); }
`;
}

async function bundle(name, sql) {
  const outfile = path.join(root, "dist", sql ? "sql" : "", `${name}.js`);
  await build({
    stdin: { contents: entrySource(name, sql), resolveDir: root, sourcefile: `${sql ? "sql/" : ""}${name}.entry.js`, loader: "js" },
    bundle: true,
    format: "esm",
    target: "es2017",
    platform: "neutral",
    mainFields: ["module", "main"],
    external: ["k6", "k6/*"],
    outfile,
    sourcemap: "linked",
    banner: sql ? { js: SQL_PRAGMA } : undefined,
    logLevel: "warning",
    legalComments: "none",
  });
  const { size } = await stat(outfile);
  // A plain k6 refuses to load a script that imports the extension, even one it never calls.
  if (!sql && (await readFile(outfile, "utf8")).includes("k6/x/sql")) {
    throw new Error(`${path.relative(root, outfile)} mentions k6/x/sql: only dist/sql bundles may import the SQL teardown`);
  }
  if (size > MAX_BUNDLE_BYTES) throw new Error(`${path.relative(root, outfile)} is ${size} bytes, over the ${MAX_BUNDLE_BYTES}-byte budget`);
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
