// Compiles the doubles' TypeScript to JavaScript once per run, for the VU threads: Node 20 gives a
// worker no tsx, and registering tsx in every VU thread cost each one ~0.2-0.5 s of CPU. hooks.mjs
// serves these sources in place of the .ts files, so every thread still runs the same code.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { transform } from "esbuild";

/** File URL of each .ts module of this folder → its JavaScript. */
export async function compileDoubles(): Promise<Record<string, string>> {
  const dir = import.meta.dirname;
  const files = (await readdir(dir)).filter((f) => f.endsWith(".ts"));
  const compiled = await Promise.all(
    files.map(async (file) => {
      const full = path.join(dir, file);
      const { code } = await transform(await readFile(full, "utf8"), { loader: "ts", format: "esm", target: "node20", sourcefile: full });
      return [pathToFileURL(full).href, code] as const;
    }),
  );
  return Object.fromEntries(compiled);
}
