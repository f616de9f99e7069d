// Double of `k6/http`: synchronous requests (the VU blocks while the main thread does them: io.ts) that
// answer k6's Response (res.json() throws on a body that is no JSON) and record http_reqs, http_req_duration
// and http_req_failed with k6's tags (name, method, url, status, expected_response, error_code).
import { durationMs } from "./executors.ts";
import type { HttpResult, HttpSpec } from "./io.ts";
import { call, emit, sampleTags, state, userTags } from "./runtime.ts";
import type { Tags } from "./summary.ts";

type Status = number | { min: number; max: number };
type Callback = { statuses: Status[] } | null;
type Params = { headers?: Record<string, unknown>; tags?: Record<string, unknown>; timeout?: string | number; responseCallback?: Callback };
type Request = [method: string, url: string, body?: string | null, params?: Params];
type BatchItem = string | Request | { method?: string; url: string; body?: string | null; params?: Params };

const expectedStatuses = (...statuses: Status[]): Callback => ({ statuses });
/** k6's default: a 4xx or 5xx answer is an http_req_failed. */
const DEFAULT_CALLBACK = expectedStatuses({ min: 200, max: 399 });

function response(url: string, r: HttpResult) {
  return {
    ...r,
    url,
    json(): unknown {
      if (!this.body) throw new Error("cannot parse json due to an error at line 1, character 1 , error: unexpected end of JSON input");
      try {
        return JSON.parse(this.body);
      } catch (err) {
        throw new Error(`cannot parse json due to an error: ${(err as Error).message}`);
      }
    },
  };
}

function send(requests: Request[], limits = { total: 0, perHost: 0 }) {
  if (state.stage === "init") throw new Error("making HTTP requests in the init context is not supported");
  const prepared = requests.map(([method, url, body, params = {}]) => {
    if (body !== undefined && body !== null && typeof body !== "string") {
      throw new TypeError("the k6/http double sends string bodies only");
    }
    const headers: Record<string, string> = { "User-Agent": "k6/0.49.0 (https://k6.io/)" };
    for (const [k, v] of Object.entries(params.headers ?? {})) headers[k] = String(v);
    const spec: HttpSpec = { method, url: String(url), headers, body: body ?? null, timeoutMs: durationMs(params.timeout ?? "60s") };
    const tags = sampleTags({ name: spec.url, ...userTags(params.tags), method, url: spec.url });
    return { spec, tags, callback: params.responseCallback === undefined ? DEFAULT_CALLBACK : params.responseCallback };
  });
  const results = call<HttpResult[]>({ io: "http", specs: prepared.map((p) => p.spec), limits });
  return results.map((r, i) => {
    const { spec, callback } = prepared[i]!;
    const tags: Tags = { ...prepared[i]!.tags, status: String(r.status), proto: r.proto };
    if (r.error_code !== 0) Object.assign(tags, { error: r.error, error_code: String(r.error_code) });
    const expected = callback?.statuses.some((s) => (typeof s === "number" ? s === r.status : r.status >= s.min && r.status <= s.max));
    if (callback) tags.expected_response = String(expected);
    emit("http_reqs", 1, tags);
    emit("http_req_duration", r.timings.duration, tags);
    if (callback) emit("http_req_failed", expected ? 0 : 1, tags);
    return response(spec.url, r);
  });
}

const item = (i: BatchItem): Request =>
  typeof i === "string" ? ["GET", i] : Array.isArray(i) ? i : [i.method ?? "GET", i.url, i.body, i.params];

/** Concurrently, at most options.batch at once and options.batchPerHost to one host (k6's defaults: 20 and 6). */
function batch(requests: BatchItem[] | Record<string, BatchItem>) {
  const limits = { total: state.options.batch ?? 20, perHost: state.options.batchPerHost ?? 6 };
  if (Array.isArray(requests)) return send(requests.map(item), limits);
  const responses = send(Object.values(requests).map(item), limits);
  return Object.fromEntries(Object.keys(requests).map((k, i) => [k, responses[i]]));
}

export const http = {
  request: (method: string, url: string, body?: string | null, params?: Params) => send([[method, url, body, params]])[0],
  get: (url: string, params?: Params) => send([["GET", url, null, params]])[0],
  post: (url: string, body?: string | null, params?: Params) => send([["POST", url, body, params]])[0],
  batch,
  expectedStatuses,
};
