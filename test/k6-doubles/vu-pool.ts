// The main thread's side of the VU workers (vu.ts): starts one worker per VU and waits until all have
// initialised (k6 inits every VU before setup()), hands them setup()'s data, runs iterations on them
// when an executor asks (executors.ts), merges each iteration's delta into this thread's registry, and
// notices exec.test.abort() in a VU or an abortOnFail threshold crossed after a merge.
import { Worker } from "node:worker_threads";
import { stderr, type RuntimeConfig } from "./environment.ts";
import { openIoLink } from "./sync.ts";
import { mergeDelta, type ScenarioPlan, type VuCommand, type VuMessage, type VuWorkerData } from "./vu-protocol.ts";

export type InitOutcome = { ok: true } | { ok: false; message: string; aborted: boolean };

export interface RunOutcome {
  /** exec.test.abort()'s message, when a VU called it. */
  testAborted: string | null;
  /** Set when an abortOnFail threshold stopped the run. */
  thresholdAborted: boolean;
  iterationErrors: string[];
  /** A VU thread that died outside script code: a harness fault, reported as a script exception. */
  crashes: string[];
}

export class VuPool {
  private readonly workers = new Map<number, Worker>();
  private readonly inits: Promise<InitOutcome>[] = [];
  private readonly pending = new Map<number, () => void>();
  readonly outcome: RunOutcome = { testAborted: null, thresholdAborted: false, iterationErrors: [], crashes: [] };

  /**
   * @param entry the VU driver compiled to one JavaScript file (Node gives a worker no TypeScript loader)
   * @param abortOnFail judged after each merged iteration; true stops the run
   */
  constructor(entry: string, config: RuntimeConfig, scenarios: ScenarioPlan[], vus: number, private readonly abortOnFail: (() => boolean) | null) {
    for (let vu = 1; vu <= vus; vu += 1) {
      const io = openIoLink();
      const data: VuWorkerData = { runtime: config, vu, scenarios, io };
      const worker = new Worker(entry, { workerData: data, transferList: [io.port], execArgv: [] });
      this.workers.set(vu, worker);
      this.inits.push(
        new Promise((resolve) => {
          worker.once("exit", () => {
            resolve({ ok: false, message: `VU ${vu} ended during init`, aborted: false });
            this.pending.get(vu)?.();
          });
          worker.on("message", (m: VuMessage) => {
            if (m.type === "ready") resolve({ ok: true });
            else if (m.type === "init-failed") resolve({ ok: false, message: m.message, aborted: m.aborted });
            else this.done(vu, m);
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

  start(setupData: unknown): void {
    this.send({ type: "start", setupJson: setupData === undefined ? null : JSON.stringify(setupData) });
  }

  stopped(): boolean {
    return this.outcome.testAborted !== null || this.outcome.thresholdAborted || this.outcome.crashes.length > 0;
  }

  run(vu: number, scenario: number, iterationInTest: number): Promise<void> {
    return new Promise((resolve) => {
      this.pending.set(vu, resolve);
      this.workers.get(vu)!.postMessage({ type: "iterate", scenario, iterationInTest } satisfies VuCommand);
    });
  }

  /** Ends every VU thread. */
  async stop(): Promise<void> {
    this.send({ type: "stop" });
    await Promise.all([...this.workers.values()].map((w) => new Promise((resolve) => (w.threadId === -1 ? resolve(null) : w.once("exit", resolve)))));
  }

  private send(cmd: VuCommand): void {
    for (const w of this.workers.values()) w.postMessage(cmd);
  }

  private done(vu: number, m: Extract<VuMessage, { type: "done" }>): void {
    mergeDelta(m.delta);
    if (m.error !== null) this.outcome.iterationErrors.push(m.error);
    if (m.aborted !== null && this.outcome.testAborted === null) {
      this.outcome.testAborted = m.aborted;
      stderr(`level=error msg=${JSON.stringify("test aborted: " + m.aborted)}`);
    }
    if (!this.stopped() && this.abortOnFail?.()) this.outcome.thresholdAborted = true;
    const resolve = this.pending.get(vu);
    this.pending.delete(vu);
    resolve?.();
  }
}
