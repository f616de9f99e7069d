// Makes the asynchronous Node I/O that k6 performs synchronously (HTTP, SQL) blocking again: the
// request goes to the child's one I/O worker thread, this thread sleeps in Atomics.wait until the
// worker flags the answer, then takes it with receiveMessageOnPort. Every VU thread has its own link
// (port + flag) to that shared worker, so VUs never wait on each other, and a VU costs one thread,
// not two. The target must never be served by a thread that blocks here.
import { URL } from "node:url";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import type { WorkerReply, WorkerRequest } from "./worker-protocol.ts";

export interface IoLink {
  port: MessagePort;
  flag: Int32Array;
}

/** Hard ceiling on one blocking call; every request carries its own shorter timeout. */
const CALL_CEILING_MS = 180_000;

let worker: Worker | null = null;
let link: IoLink | null = null;

/** A new link to the I/O worker (started on first use by the thread that owns it: the child's main). */
export function openIoLink(): IoLink {
  if (!worker) {
    worker = new Worker(new URL("./io-worker.mjs", import.meta.url), { execArgv: [] });
    worker.unref();
  }
  const channel = new MessageChannel();
  const flag = new Int32Array(new SharedArrayBuffer(4));
  worker.postMessage({ port: channel.port2, flag }, [channel.port2]);
  return { port: channel.port1, flag };
}

/** Makes this thread's blocking calls go through the given link (a VU thread gets one from the main thread). */
export function useIoLink(given: IoLink): void {
  given.port.unref();
  link = given;
}

export function callSync(request: WorkerRequest): WorkerReply {
  if (!link) useIoLink(openIoLink());
  const { port, flag } = link!;
  Atomics.store(flag, 0, 0);
  port.postMessage(request);
  // Loop on the value, not on the wake-up: the worker's notify for the previous answer can arrive
  // after that answer was taken and wake this wait early.
  const deadline = Date.now() + CALL_CEILING_MS;
  while (Atomics.load(flag, 0) === 0) {
    const left = deadline - Date.now();
    if (left <= 0 || Atomics.wait(flag, 0, 0, left) === "timed-out") {
      throw new Error(`the I/O worker did not answer a ${request.op} request within ${CALL_CEILING_MS} ms`);
    }
  }
  const received = receiveMessageOnPort(port);
  if (!received) throw new Error(`the I/O worker flagged an answer to ${request.op} but sent none`);
  return received.message as WorkerReply;
}
