// The main thread's side of the VU workers (vu.ts): spawns one worker per VU and waits until all have
// initialised (k6 inits every VU before setup()), starts them together with setup()'s data, merges
// each iteration's delta into this thread's registry, and stops them through the shared abort flag
// (exec.test.abort() in a VU, or an abortOnFail threshold the caller spots after a merge).
import { Worker } from "node:worker_threads";
import { stderr, type HookData, type RuntimeConfig } from "./environment.ts";
import { openIoLink } from "./sync.ts";
import { ABORT, controlLength, mergeDelta, verdictSlot, type ScenarioPlan, type StartMessage, type VuMessage, type VuWorkerData } from "./vu-protocol.ts";

export type InitOutcome = { ok: true } | { ok: false; message: string; aborted: boolean };

export interface RunOutcome {
  /** exec.test.abort()'s message, when a VU called it. */
  testAborted: string | null;
  /** Set when an abortOnFail threshold stopped the VUs. */
  thresholdAborted: boolean;
  iterationErrors: string[];
  /** A VU thread that died outside script code: a harness fault, reported as a script exception. */
  crashes: string[];
}

const ENTRY = new URL("./vu-worker.mjs", import.meta.url);

export class VuPool {
  private readonly control: Int32Array;
  private readonly workers: Worker[] = [];
  private readonly exited: Promise<void>[] = [];
  private readonly inits: Promise<InitOutcome>[] = [];
  private readonly outcome: RunOutcome = { testAborted: null, thresholdAborted: false, iterationErrors: [], crashes: [] };
  /**
   * @param abortOnFail judged after each merged iteration (the VU waits for it); true stops every VU.
   */
  constructor(
    config: RuntimeConfig,
    hooks: HookData,
    scenarios: ScenarioPlan[],
    iterations: number,
    private readonly abortOnFail: (() => boolean) | null,
  ) {
    this.control = new Int32Array(new SharedArrayBuffer(4 * controlLength(config.vus, scenarios.length)));
    for (let vu = 1; vu <= config.vus; vu += 1) {
      const io = openIoLink();
      const data: VuWorkerData = { runtime: config, hooks, vu, scenarios, iterations, control: this.control, io, awaitVerdict: abortOnFail !== null };
      // execArgv: [] because the parent's `--import tsx` does not reach a worker's loader anyway.
      const worker = new Worker(ENTRY, { workerData: data, transferList: [io.port], execArgv: [] });
      const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
      this.workers.push(worker);
      this.exited.push(exited);
      this.inits.push(
        new Promise((resolve) => {
          void exited.then(() => resolve({ ok: false, message: `VU ${vu} ended during init`, aborted: false }));
          worker.on("message", (m: VuMessage) => {
            if (m.type === "ready") resolve({ ok: true });
            else if (m.type === "init-failed") resolve({ ok: false, message: m.message, aborted: m.aborted });
            else this.receive(m);
          });
        }),
      );
      worker.on("error", (err) => this.outcome.crashes.push(`vu=${vu}: ${err.message}`));
    }
  }

  /** Resolves once every VU has run its init stage, with the first failure if any. */
  async ready(): Promise<InitOutcome> {
    const outcomes = await Promise.all(this.inits);
    return outcomes.find((o) => !o.ok) ?? { ok: true };
  }

  async run(setupData: unknown): Promise<RunOutcome> {
    const start: StartMessage = { setupJson: setupData === undefined ? null : JSON.stringify(setupData) };
    for (const worker of this.workers) worker.postMessage(start);
    await Promise.all(this.exited);
    return this.outcome;
  }

  /** Ends idle VUs (after a failed init or setup). */
  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private receive(m: VuMessage): void {
    if (m.type === "aborted") {
      if (this.outcome.testAborted === null && !this.outcome.thresholdAborted) {
        this.outcome.testAborted = m.message;
        stderr(`level=error msg=${JSON.stringify("test aborted: " + m.message)} scenario=${m.scenario}`);
      }
      return;
    }
    if (m.type !== "iteration") return;
    mergeDelta(m.delta);
    if (m.error !== null) this.outcome.iterationErrors.push(m.error);
    if (Atomics.load(this.control, ABORT) === 0 && this.abortOnFail?.()) {
      Atomics.store(this.control, ABORT, 1);
      this.outcome.thresholdAborted = true;
    }
    Atomics.store(this.control, verdictSlot(m.vu), 1);
    Atomics.notify(this.control, verdictSlot(m.vu));
  }
}
