// Double of `k6/execution`: which VU, iteration and scenario runs, and test.abort(). Like k6, VU
// facts are refused in the init context and scenario facts outside VU code; setup/teardown are VU 0.
import { runtime, TestAbort, type Tags } from "./runtime.ts";

function vuFacts(): void {
  if (runtime.stage === "init") throw new Error("getting VU information in the init context is not supported");
}

function scenarioFacts() {
  if (runtime.stage !== "vu" || !runtime.scenario) {
    throw new Error("getting scenario information outside of the VU context is not supported");
  }
  return runtime.scenario;
}

const vu = {
  get idInTest(): number {
    vuFacts();
    return runtime.vuId;
  },
  get idInInstance(): number {
    vuFacts();
    return runtime.vuId;
  },
  get iterationInInstance(): number {
    vuFacts();
    return runtime.vuIterationInInstance;
  },
  get iterationInScenario(): number {
    scenarioFacts();
    return runtime.vuIterationInScenario;
  },
  get tags(): Tags {
    vuFacts();
    let tags = runtime.vuTags.get(runtime.vuId);
    if (!tags) runtime.vuTags.set(runtime.vuId, (tags = {}));
    return tags;
  },
};

const scenario = {
  get name(): string {
    return scenarioFacts().name;
  },
  get executor(): string {
    return scenarioFacts().executor;
  },
  get iterationInTest(): number {
    return scenarioFacts().iterationInTest;
  },
  get iterationInInstance(): number {
    return scenarioFacts().iterationInTest;
  },
  get startTime(): number {
    scenarioFacts();
    return runtime.startedAt;
  },
};

const instance = {
  get currentTestRunDuration(): number {
    return Date.now() - runtime.startedAt;
  },
  get vusActive(): number {
    return runtime.vus;
  },
};

const test = {
  abort(message?: string): never {
    throw new TestAbort(message ?? "test aborted");
  },
  get options(): Record<string, unknown> {
    return runtime.options;
  },
};

export { vu, scenario, instance, test };
export default { vu, scenario, instance, test };
