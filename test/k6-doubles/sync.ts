// Makes the asynchronous Node I/O that k6 performs synchronously (HTTP, SQL) blocking again: the
// request goes to a worker thread, this thread sleeps in Atomics.wait until the worker flags the
// answer, then takes it with receiveMessageOnPort. The target must never be served by this thread.
import { URL } from "node:url";
import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads";
import type { WorkerReply, WorkerRequest } from "./worker-protocol.ts";

const channel = new MessageChannel();
const flag = new Int32Array(new SharedArrayBuffer(4));
const worker = new Worker(new URL("./io-worker.mjs", import.meta.url), {
  workerData: { port: channel.port2, flag },
  transferList: [channel.port2],
});
worker.unref();
channel.port1.unref();

/** Hard ceiling on one blocking call; every request carries its own shorter timeout. */
const CALL_CEILING_MS = 180_000;

export function callSync(request: WorkerRequest): WorkerReply {
  Atomics.store(flag, 0, 0);
  channel.port1.postMessage(request);
  if (Atomics.wait(flag, 0, 0, CALL_CEILING_MS) === "timed-out") {
    throw new Error(`the I/O worker did not answer a ${request.op} request within ${CALL_CEILING_MS} ms`);
  }
  const received = receiveMessageOnPort(channel.port1);
  if (!received) throw new Error(`the I/O worker flagged an answer to ${request.op} but sent none`);
  return received.message as WorkerReply;
}
