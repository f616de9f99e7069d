// The main thread's end of one VU thread (vu.ts): starts it, does the HTTP and SQL it blocks on (io.ts) and
// answers its last report with the next command when the run wants one. The thread's first report is its init.
import { Worker } from "node:worker_threads";
import { vuIo, type IoRequest } from "./io.ts";
import { emptyRecords } from "./summary.ts";
import type { Command, Report, VuData } from "./vu.ts";

export class VuThread {
  private readonly worker: Worker;
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private waiter: (report: Report) => void = () => undefined;
  /** The report of a thread that died: the answer to any later command, which it can no longer take. */
  private crash: Report | null = null;
  /** Resolves with the thread's next report. */
  next: Promise<Report>;
  /** setup()'s data as JSON, sent with this VU's first iteration. */
  setupJson: string | null | undefined;

  /** @param entry vu.ts bundled into one JavaScript file */
  constructor(entry: string, data: Omit<VuData, "flag">) {
    this.next = new Promise((resolve) => (this.waiter = resolve));
    this.worker = new Worker(entry, { workerData: { ...data, flag: this.flag }, execArgv: [] });
    const io = vuIo();
    this.worker.on("message", (m: Report | IoRequest) => {
      if ("io" in m) void io(m).then((reply) => this.answer(reply));
      else this.waiter(m);
    });
    const crashed = (message: string) => {
      this.crash ??= { records: emptyRecords(), error: `VU ${data.vu}: ${message}`, crashed: true };
      this.waiter(this.crash);
    };
    this.worker.on("error", (err) => crashed(err.message));
    this.worker.on("exit", () => crashed("the thread ended"));
  }

  /** Answers the thread's last report with a command; resolves with its report on it. */
  ask(command: Command): Promise<Report> {
    if (this.crash) return Promise.resolve(this.crash);
    this.next = new Promise((resolve) => (this.waiter = resolve));
    this.answer(command);
    return this.next;
  }

  private answer(message: unknown): void {
    this.worker.postMessage(message);
    Atomics.store(this.flag, 0, 1);
    Atomics.notify(this.flag, 0);
  }
}
