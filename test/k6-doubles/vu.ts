// One k6 VU in its own worker thread, so that VUs run at the same time as in k6 and two VUs' HTTP
// requests can overlap (the only way an HTTP-level race can happen). It inits its own instance of the
// script, reports ready, waits for setup()'s data, then runs an iteration whenever the main thread's
// executor says so (executors.ts), shipping each iteration's samples and checks back.
import { parentPort, workerData } from "node:worker_threads";
import { bootK6, describe, stderr, type Exports } from "./environment.ts";
import { builtin, emit, runtime, TestAbort } from "./runtime.ts";
import { useIoLink } from "./sync.ts";
import { takeDelta, type VuCommand, type VuMessage, type VuWorkerData } from "./vu-protocol.ts";

const { runtime: config, vu, scenarios, io } = workerData as VuWorkerData;
const port = parentPort!;
const post = (message: VuMessage) => port.postMessage(message);
const g = globalThis as Record<string, unknown>;

// Commands queue up while an iteration blocks the thread; one listener keeps them all.
const queue: VuCommand[] = [];
let waiting: ((cmd: VuCommand) => void) | null = null;
port.on("message", (cmd: VuCommand) => {
  if (waiting) {
    const resolve = waiting;
    waiting = null;
    resolve(cmd);
  } else queue.push(cmd);
});

/** The next command; the thread sleeps meanwhile (its event loop is otherwise idle). */
function next(): Promise<VuCommand> {
  const queued = queue.shift();
  return queued ? Promise.resolve(queued) : new Promise((resolve) => (waiting = resolve));
}

function init(): Exports | null {
  useIoLink(io);
  try {
    const exports = bootK6(config)(vu);
    runtime.options = (exports.options as Record<string, unknown> | undefined) ?? {};
    post({ type: "ready" });
    return exports;
  } catch (err) {
    post({ type: "init-failed", message: describe(err), aborted: err instanceof TestAbort });
    return null;
  }
}

async function serve(exports: Exports): Promise<void> {
  const start = await next();
  if (start.type !== "start") return; // setup() failed: no iteration runs
  const setupData = start.setupJson === null ? undefined : JSON.parse(start.setupJson);
  const ownIterations = scenarios.map(() => 0);
  let inInstance = 0;
  for (let cmd = await next(); cmd.type === "iterate"; cmd = await next()) {
    const sc = scenarios[cmd.scenario]!;
    const own = ownIterations[cmd.scenario]!;
    runtime.stage = "vu";
    runtime.vuId = vu;
    runtime.scenario = { name: sc.name, executor: sc.executor, iterationInTest: cmd.iterationInTest, tags: sc.tags };
    runtime.vuIterationInScenario = own;
    runtime.vuIterationInInstance = inInstance;
    runtime.groupStack = [];
    g.__VU = vu;
    g.__ITER = own;
    g.__ENV = { ...config.env, ...sc.env };
    const started = performance.now();
    let error: string | null = null;
    let aborted: string | null = null;
    try {
      await (exports[sc.exec] as (data: unknown) => unknown)(setupData);
    } catch (err) {
      if (err instanceof TestAbort) aborted = err.message;
      else {
        error = `${sc.name} vu=${vu} iter=${own}: ${describe(err)}`;
        stderr(`level=error msg=${JSON.stringify(describe(err))} scenario=${sc.name} source=stacktrace`);
      }
    }
    const tags = { scenario: sc.name, group: "", ...sc.tags };
    emit(builtin("iteration_duration"), performance.now() - started, tags);
    emit(builtin("iterations"), 1, tags);
    ownIterations[cmd.scenario] = own + 1;
    inInstance += 1;
    post({ type: "done", delta: takeDelta(), error, aborted });
  }
}

// A VU whose init failed just ends; the main thread then stops the whole run (exit 107/108).
const exports = init();
if (exports) await serve(exports);
port.close();
