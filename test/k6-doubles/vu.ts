// One k6 VU in its own worker thread, so that VUs run at the same time as in k6 and two VUs' HTTP
// requests can overlap (the only way an HTTP-level race can happen). Init its own module instance,
// report ready, wait for setup()'s data, then take iterations from each scenario's shared counter
// (k6's shared-iterations) until the total is reached or the run is aborted, shipping every
// iteration's samples and checks to the main thread.
import { parentPort, workerData } from "node:worker_threads";
import { bootK6, describe, stderr, type Exports } from "./environment.ts";
import { builtin, emit, runtime, TestAbort } from "./runtime.ts";
import { useIoLink } from "./sync.ts";
import { ABORT, iterationSlot, takeDelta, verdictSlot, type StartMessage, type VuMessage, type VuWorkerData } from "./vu-protocol.ts";

const { runtime: config, hooks, vu, scenarios, iterations, control, io, awaitVerdict } = workerData as VuWorkerData;
useIoLink(io);
const port = parentPort!;
const post = (message: VuMessage) => port.postMessage(message);
const g = globalThis as Record<string, unknown>;
/** A bound on the wait for a verdict, should the main thread be gone. */
const VERDICT_WAIT_MS = 10_000;

async function init(): Promise<Exports | null> {
  const load = await bootK6(config, hooks);
  try {
    const exports = await load(vu);
    runtime.options = (exports.options as Record<string, unknown> | undefined) ?? {};
    post({ type: "ready" });
    return exports;
  } catch (err) {
    post({ type: "init-failed", message: describe(err), aborted: err instanceof TestAbort });
    return null;
  }
}

/** Ships an iteration; with abortOnFail thresholds, waits until the main thread has judged it. */
function report(error: string | null): void {
  Atomics.store(control, verdictSlot(vu), 0);
  post({ type: "iteration", vu, delta: takeDelta(), error });
  if (!awaitVerdict) return;
  // Loop on the value: a late notify for the previous verdict may wake the wait early.
  const deadline = Date.now() + VERDICT_WAIT_MS;
  while (Atomics.load(control, verdictSlot(vu)) === 0 && Date.now() < deadline) {
    Atomics.wait(control, verdictSlot(vu), 0, deadline - Date.now());
  }
}

async function iterate(exports: Exports, setupData: unknown): Promise<void> {
  const aborted = () => Atomics.load(control, ABORT) !== 0;
  let iterationInInstance = 0;
  for (const [index, sc] of scenarios.entries()) {
    const fn = exports[sc.exec] as (data: unknown) => unknown;
    for (let own = 0; !aborted(); own += 1) {
      const inTest = Atomics.add(control, iterationSlot(config.vus, index), 1);
      if (inTest >= iterations) break;
      runtime.stage = "vu";
      runtime.vuId = vu;
      runtime.scenario = { name: sc.name, executor: sc.executor, iterationInTest: inTest, tags: sc.tags };
      runtime.vuIterationInScenario = own;
      runtime.vuIterationInInstance = iterationInInstance;
      runtime.groupStack = [];
      g.__VU = vu;
      g.__ITER = own;
      g.__ENV = { ...config.env, ...sc.env };
      const started = performance.now();
      let error: string | null = null;
      try {
        await fn(setupData);
      } catch (err) {
        if (err instanceof TestAbort) {
          Atomics.store(control, ABORT, 1);
          post({ type: "iteration", vu, delta: takeDelta(), error: null });
          post({ type: "aborted", message: err.message, scenario: sc.name });
          return;
        }
        error = `${sc.name} vu=${vu} iter=${own}: ${describe(err)}`;
        stderr(`level=error msg=${JSON.stringify(describe(err))} scenario=${sc.name} source=stacktrace`);
      }
      const tags = { scenario: sc.name, group: "", ...sc.tags };
      emit(builtin("iteration_duration"), performance.now() - started, tags);
      emit(builtin("iterations"), 1, tags);
      iterationInInstance += 1;
      report(error);
    }
  }
}

// A VU whose init failed just ends; the main thread then stops the whole run (exit 107/108).
const instance = await init();
if (instance) {
  const start = await new Promise<StartMessage>((resolve) => port.once("message", resolve));
  await iterate(instance, start.setupJson === null ? undefined : JSON.parse(start.setupJson));
}
