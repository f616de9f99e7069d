// Double of `k6/http`: synchronous requests (through the I/O worker) returning k6's Response shape
// (status 0 + error/error_code instead of exceptions, canonical header names, res.json() that
// throws on a non-JSON body, timings) and emitting k6's http_* metrics with k6's system tags.
import { Buffer } from "node:buffer";
import { callSync } from "./sync.ts";
import { builtin, emit, runtime, systemTags, userTags, type Tags } from "./runtime.ts";
import type { HttpRequestSpec, HttpResult } from "./worker-protocol.ts";

const USER_AGENT = "k6/0.49.0 (https://k6.io/)";
const DEFAULT_TIMEOUT_MS = 60_000;

interface Params {
  headers?: Record<string, unknown>;
  tags?: Record<string, unknown>;
  timeout?: string | number;
  responseType?: "text" | "binary" | "none";
  responseCallback?: ResponseCallback | null;
}

type ResponseCallback = { readonly statuses: (number | { min: number; max: number })[] };
type Body = string | ArrayBuffer | Record<string, unknown> | null | undefined;

export function expectedStatuses(...statuses: (number | { min: number; max: number })[]): ResponseCallback {
  for (const s of statuses) {
    const ok = typeof s === "number" ? Number.isInteger(s) : typeof s?.min === "number" && typeof s?.max === "number";
    if (!ok) throw new Error("expectedStatuses(): arguments must be integers or {min, max} objects");
  }
  return Object.freeze({ statuses });
}

let globalCallback: ResponseCallback | null = expectedStatuses({ min: 200, max: 399 });

export function setResponseCallback(callback: ResponseCallback | null): void {
  globalCallback = callback;
}

/** Go's textproto canonical form, which k6 uses for response header names. */
function canonical(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

function parseTimeout(value: string | number | undefined): number {
  if (value === undefined) return DEFAULT_TIMEOUT_MS;
  if (typeof value === "number") return value;
  const parts = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?$/.exec(value);
  if (!parts || value === "") throw new Error(`invalid timeout ${JSON.stringify(value)}: use e.g. "10s" or "500ms"`);
  const [, h, m, s, ms] = parts;
  return Number(h ?? 0) * 3_600_000 + Number(m ?? 0) * 60_000 + Number(s ?? 0) * 1000 + Number(ms ?? 0);
}

function encodeBody(body: Body, headers: Record<string, string>): Buffer | null {
  if (body === null || body === undefined) return null;
  if (typeof body === "string") return Buffer.from(body, "utf8");
  if (body instanceof ArrayBuffer) return Buffer.from(new Uint8Array(body));
  if (typeof body === "object") {
    // k6 form-encodes a plain object and says so; a string body gets no Content-Type at all.
    if (!Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) {
      headers["Content-Type"] = "application/x-www-form-urlencoded";
    }
    return Buffer.from(
      Object.entries(body).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join("&"),
      "utf8",
    );
  }
  throw new TypeError(`unsupported request body type: ${typeof body}`);
}

class Response {
  status: number;
  status_text: string;
  proto: string;
  headers: Record<string, string>;
  body: string | ArrayBuffer | null;
  url: string;
  error: string;
  error_code: number;
  remote_ip: string;
  remote_port: number;
  cookies: Record<string, unknown> = {};
  timings: Record<string, number>;
  request: { method: string; url: string; headers: Record<string, string[]>; body: string };

  constructor(spec: HttpRequestSpec, result: HttpResult, responseType: Params["responseType"]) {
    this.status = result.status;
    this.status_text = result.statusText;
    this.proto = result.proto;
    this.headers = {};
    for (const [name, value] of result.headers) {
      const key = canonical(name);
      this.headers[key] = this.headers[key] === undefined ? value : `${this.headers[key]}, ${value}`;
    }
    if (result.errorCode !== 0 || responseType === "none") this.body = null;
    else if (responseType === "binary") {
      const raw = Buffer.from(result.body, "base64");
      this.body = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length) as ArrayBuffer;
    } else this.body = result.body;
    this.url = spec.url;
    this.error = result.error;
    this.error_code = result.errorCode;
    this.remote_ip = result.remoteIp;
    this.remote_port = result.remotePort;
    const t = result.timings;
    this.timings = {
      blocked: t.blocked, connecting: t.connecting, tls_handshaking: 0, sending: t.sending, waiting: t.waiting,
      receiving: t.receiving, duration: t.sending + t.waiting + t.receiving,
    };
    const headers: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(spec.headers)) headers[canonical(k)] = [v];
    this.request = { method: spec.method, url: spec.url, headers, body: spec.body ? Buffer.from(spec.body, "base64").toString("utf8") : "" };
  }

  json(selector?: string): unknown {
    if (typeof this.body !== "string" || this.body === "") {
      throw new Error("cannot parse json due to an error at line 1, character 1 , error: unexpected end of JSON input");
    }
    let value: unknown;
    try {
      value = JSON.parse(this.body);
    } catch (err) {
      throw new Error(`cannot parse json due to an error: ${(err as Error).message}`);
    }
    if (selector === undefined) return value;
    let node: unknown = value;
    for (const part of selector.split(".")) {
      if (node === null || typeof node !== "object") return undefined;
      node = (node as Record<string, unknown>)[part];
    }
    return node;
  }

  html(): never {
    throw new Error("res.html() is not provided by the k6 test double");
  }
}

function expected(callback: ResponseCallback | null, status: number): boolean | null {
  if (callback === null) return null;
  return callback.statuses.some((s) => (typeof s === "number" ? s === status : status >= s.min && status <= s.max));
}

interface Prepared {
  spec: HttpRequestSpec;
  tags: Tags;
  responseType: Params["responseType"];
  callback: ResponseCallback | null;
}

function prepare(method: string, url: unknown, body: Body, params: Params | undefined): Prepared {
  if (runtime.stage === "init") throw new Error("making HTTP requests in the init context is not supported");
  const p = params ?? {};
  const headers: Record<string, string> = { "User-Agent": USER_AGENT };
  for (const [k, v] of Object.entries(p.headers ?? {})) headers[k] = String(v);
  const bytes = encodeBody(body, headers);
  const urlText = String(url);
  const spec: HttpRequestSpec = {
    method: method.toUpperCase(),
    url: urlText,
    headers,
    body: bytes ? bytes.toString("base64") : null,
    timeoutMs: parseTimeout(p.timeout),
    binary: p.responseType === "binary",
  };
  const custom = userTags(p.tags, "http params.tags");
  return {
    spec,
    tags: { ...systemTags(), name: urlText, ...custom, method: spec.method, url: urlText },
    responseType: p.responseType,
    callback: p.responseCallback === undefined ? globalCallback : p.responseCallback,
  };
}

function finish(prepared: Prepared, result: HttpResult): Response {
  const res = new Response(prepared.spec, result, prepared.responseType);
  const tags: Tags = { ...prepared.tags, status: String(result.status), proto: result.proto };
  if (result.errorCode !== 0) {
    tags.error = result.error;
    tags.error_code = String(result.errorCode);
  }
  const ok = expected(prepared.callback, result.status);
  if (ok !== null) tags.expected_response = String(ok);
  emit(builtin("http_reqs"), 1, tags);
  emit(builtin("http_req_duration"), res.timings.duration!, tags);
  emit(builtin("http_req_blocked"), res.timings.blocked!, tags);
  emit(builtin("http_req_connecting"), res.timings.connecting!, tags);
  emit(builtin("http_req_tls_handshaking"), 0, tags);
  emit(builtin("http_req_sending"), res.timings.sending!, tags);
  emit(builtin("http_req_waiting"), res.timings.waiting!, tags);
  emit(builtin("http_req_receiving"), res.timings.receiving!, tags);
  if (ok !== null) emit(builtin("http_req_failed"), ok ? 0 : 1, tags);
  emit(builtin("data_sent"), result.bytesSent, tags);
  emit(builtin("data_received"), result.bytesReceived, tags);
  return res;
}

/** k6 v0.49's defaults for options.batch and options.batchPerHost. */
const BATCH_DEFAULTS = { batch: 20, batchPerHost: 6 };

function batchLimit(name: keyof typeof BATCH_DEFAULTS): number {
  const value = runtime.options[name] ?? BATCH_DEFAULTS[name];
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw new Error(`options.${name} must be a whole number >= 0 (0 = unlimited), got ${JSON.stringify(value)}`);
  }
  return value;
}

function send(all: Prepared[], limits?: { total: number; perHost: number }): Response[] {
  const reply = callSync({ op: "http", requests: all.map((p) => p.spec), ...(limits ? { limits } : {}) });
  if (reply.op !== "http") throw new Error("the I/O worker answered an HTTP request with " + reply.op);
  return reply.results.map((result, i) => finish(all[i]!, result));
}

export function request(method: string, url: unknown, body?: Body, params?: Params): Response {
  return send([prepare(method, url, body, params)])[0]!;
}

export const get = (url: unknown, params?: Params) => request("GET", url, null, params);
export const head = (url: unknown, params?: Params) => request("HEAD", url, null, params);
export const post = (url: unknown, body?: Body, params?: Params) => request("POST", url, body, params);
export const put = (url: unknown, body?: Body, params?: Params) => request("PUT", url, body, params);
export const patch = (url: unknown, body?: Body, params?: Params) => request("PATCH", url, body, params);
export const del = (url: unknown, body?: Body, params?: Params) => request("DELETE", url, body, params);
export const options = (url: unknown, body?: Body, params?: Params) => request("OPTIONS", url, body, params);

export function asyncRequest(method: string, url: unknown, body?: Body, params?: Params): Promise<Response> {
  return Promise.resolve().then(() => request(method, url, body, params));
}

type BatchItem = string | [string, unknown, Body?, Params?] | { method?: string; url: unknown; body?: Body; params?: Params };

function batchItem(item: BatchItem): Prepared {
  if (typeof item === "string") return prepare("GET", item, null, undefined);
  if (Array.isArray(item)) return prepare(item[0], item[1], item[2], item[3]);
  if (item && typeof item === "object") return prepare(item.method ?? "GET", item.url, item.body, item.params);
  throw new TypeError("http.batch(): each request must be a URL string, an array or an object");
}

/** Sends the requests concurrently (within options.batch / batchPerHost), answers in the shape given. */
export function batch(requests: BatchItem[] | Record<string, BatchItem>): Response[] | Record<string, Response> {
  const limits = { total: batchLimit("batch"), perHost: batchLimit("batchPerHost") };
  if (Array.isArray(requests)) return send(requests.map(batchItem), limits);
  const keys = Object.keys(requests);
  const responses = send(keys.map((k) => batchItem(requests[k]!)), limits);
  return Object.fromEntries(keys.map((k, i) => [k, responses[i]!]));
}

export default {
  request, get, head, post, put, patch, del, options, asyncRequest, batch, expectedStatuses, setResponseCallback,
};
