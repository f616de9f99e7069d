// Double of the `k6` module: check(), fail(), sleep(), group(). Checks feed the `checks` rate and the
// root_group tree of the summary; groups prefix the `group` tag like k6 ("::outer::inner").
import { builtin, emit, groupPath, noteGroup, runtime, systemTags, userTags, blockFor } from "./runtime.ts";

type Checker = ((value: unknown) => unknown) | unknown;

export function check(value: unknown, sets: Record<string, Checker>, tags?: Record<string, unknown>): boolean {
  if (runtime.stage === "init") throw new Error("using check() in the init context is not supported");
  const extra = userTags(tags, "check()");
  let all = true;
  for (const [name, checker] of Object.entries(sets)) {
    // An exception thrown by a checker propagates, as in k6: it interrupts the iteration.
    const ok = Boolean(typeof checker === "function" ? (checker as (v: unknown) => unknown)(value) : checker);
    const path = groupPath();
    const key = `${path}::${name}`;
    const record = runtime.checks.get(key) ?? { name, groupPath: path, passes: 0, fails: 0 };
    if (ok) record.passes += 1;
    else record.fails += 1;
    runtime.checks.set(key, record);
    noteGroup(path);
    emit(builtin("checks"), ok ? 1 : 0, { ...systemTags(), ...extra, check: name });
    all = all && ok;
  }
  return all;
}

export function fail(message?: string): never {
  throw new Error(message ?? "");
}

export function sleep(seconds: number): void {
  if (typeof seconds !== "number" || !(seconds >= 0)) throw new TypeError(`sleep(): expected seconds >= 0, got ${String(seconds)}`);
  blockFor(seconds * 1000);
}

export function group<T>(name: string, fn: () => T): T {
  if (runtime.stage === "init") throw new Error("using group() in the init context is not supported");
  if (typeof name !== "string" || name === "" || name.includes("::")) {
    throw new Error(`group and check names may not be empty nor contain '::' (got ${JSON.stringify(name)})`);
  }
  runtime.groupStack.push(name);
  noteGroup(groupPath());
  const started = performance.now();
  try {
    return fn();
  } finally {
    const tags = systemTags();
    runtime.groupStack.pop();
    emit(builtin("group_duration"), performance.now() - started, tags);
  }
}

export default { check, fail, sleep, group };
