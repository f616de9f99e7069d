// Makes sure the bundle about to run matches the sources: builds dist/ when a bundle is missing or any
// k6-side source (lib/, scenarios/, profiles/, thresholds.json, build.mjs) is newer than it.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { BundleName } from "../lib/bundles.ts";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SOURCES = ["lib", "scenarios", "profiles", "thresholds.json", "build.mjs"];

export function bundlePath(bundle: BundleName, sql: boolean): string {
  return path.join(ROOT, "dist", sql ? "sql" : "", `${bundle}.js`);
}

function newestMtime(p: string): number {
  const st = statSync(p, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  return readdirSync(p).reduce((max, name) => Math.max(max, newestMtime(path.join(p, name))), st.mtimeMs);
}

export function isStale(file: string): boolean {
  const st = statSync(file, { throwIfNoEntry: false });
  if (!st) return true;
  return SOURCES.some((s) => newestMtime(path.join(ROOT, s)) > st.mtimeMs);
}

/** Builds when needed; returns an error message on failure, null on success. */
export function ensureBuilt(file: string): string | null {
  if (!isStale(file)) return null;
  console.error("liventix-load: dist/ is missing or older than its sources; building (npm run build)…");
  const res = spawnSync(process.execPath, [path.join(ROOT, "build.mjs")], { cwd: ROOT, stdio: "inherit" });
  return res.status === 0 ? null : "liventix-load: the build failed (see above); fix it and run again";
}
