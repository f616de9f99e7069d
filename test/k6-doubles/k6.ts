// Doubles of `k6` (check, group, fail, sleep), `k6/metrics` and `k6/execution`: the modules that read
// and write the VU's runtime state, with k6's refusals in the init context.
import { block, countCheck, declare, emit, groupPath, noteGroup, sampleTags, state, TestAbort, userTags, warn } from "./runtime.ts";
import type { MetricKind } from "../../lib/metric-names.ts";

function notInInit(what: string): void {
  if (state.stage === "init") throw new Error(`${what} in the init context is not supported`);
}

/** A check's outcome feeds the `checks` rate and the summary's group tree; a checker that throws ends the iteration, as in k6. */
function check(value: unknown, sets: Record<string, unknown>, tags?: Record<string, unknown>): boolean {
  notInInit("using check()");
  let all = true;
  for (const [name, checker] of Object.entries(sets)) {
    const ok = Boolean(typeof checker === "function" ? checker(value) : checker);
    countCheck(name, ok);
    emit("checks", ok ? 1 : 0, sampleTags({ ...userTags(tags), check: name }));
    all &&= ok;
  }
  return all;
}

function group<T>(name: string, fn: () => T): T {
  notInInit("using group()");
  if (name === "" || name.includes("::")) {
    throw new Error(`group and check names may not be empty nor contain '::' (got ${JSON.stringify(name)})`);
  }
  state.groups.push(name);
  noteGroup(groupPath());
  try {
    return fn();
  } finally {
    state.groups.pop();
  }
}

function sleep(seconds: number): void {
  if (!(seconds >= 0)) throw new TypeError(`sleep(): expected seconds >= 0, got ${String(seconds)}`);
  block(seconds * 1000);
}

function fail(message = ""): never {
  throw new Error(message);
}

export const k6 = { check, group, sleep, fail };

const metric = (type: MetricKind) =>
  class {
    constructor(
      readonly name: string,
      isTime = false,
    ) {
      if (state.stage !== "init") throw new Error("metrics must be declared in the init context");
      if (!/^[a-zA-Z_][a-zA-Z0-9_]{0,127}$/.test(name)) throw new Error(`invalid metric name ${JSON.stringify(name)}`);
      declare(name, type, isTime ? "time" : "default");
    }

    /** k6 takes a boolean as 0/1 and only warns about a value that is no number. */
    add(value: unknown, tags?: Record<string, unknown>): boolean {
      notInInit("adding metric samples");
      const n = value === null || value === undefined ? Number.NaN : Number(value);
      if (Number.isNaN(n)) {
        warn(`metric ${this.name}: the value ${JSON.stringify(value)} is not a number; sample dropped`);
        return false;
      }
      emit(this.name, n, sampleTags(userTags(tags)));
      return true;
    }
  };

export const metrics = { Counter: metric("counter"), Gauge: metric("gauge"), Rate: metric("rate"), Trend: metric("trend") };

function inVu<T>(fact: () => T): T {
  if (state.stage !== "vu") throw new Error("getting scenario information outside of the VU context is not supported");
  return fact();
}

export const execution = {
  vu: {
    get idInTest() {
      notInInit("getting VU information");
      return state.vu;
    },
    get iterationInScenario() {
      return inVu(() => state.iterationInScenario);
    },
  },
  scenario: {
    get name() {
      return inVu(() => state.scenario);
    },
    get iterationInTest() {
      return inVu(() => state.iterationInTest);
    },
  },
  test: {
    abort(message = "test aborted"): never {
      throw new TestAbort(message);
    },
  },
};
