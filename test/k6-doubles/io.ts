// A VU's HTTP and SQL, done by the run's main thread while the VU's thread blocks (runtime.ts call()):
// node:http with keep-alive connections of the VU's own, as k6 gives each VU its own transport, answering
// k6's Response fields (status 0 with error and error_code instead of an exception, canonical header names);
// `pg` with every value as raw text, so that sql.ts can decode it as lib/pq does, and lib/pq's default sslmode=require.
import { Buffer } from "node:buffer";
import http from "node:http";
import pg from "pg";

export type HttpSpec = { method: string; url: string; headers: Record<string, string>; body: string | null; timeoutMs: number };

/** k6's Response fields that the main thread fills in. */
export interface HttpResult {
  status: number;
  proto: string;
  headers: Record<string, string>;
  /** null after an error, as in k6. */
  body: string | null;
  error: string;
  error_code: number;
  /** k6's duration is sending + waiting + receiving: connecting comes before it. */
  timings: { connecting: number; sending: number; waiting: number; receiving: number; duration: number };
}

export type SqlReply = { fields: [string, number][]; rows: (string | null)[][]; rowCount: number } | { error: string };

export type IoRequest =
  | { io: "http"; specs: HttpSpec[]; limits: { total: number; perHost: number } }
  | { io: "sql"; db: number; url: string; text: string; args: unknown[] }
  | { io: "sql-close"; db: number };

/** k6's codes (lib/netext/httpext/error_codes.go) for what a loopback run can meet. */
const ERRORS: Record<string, [string, number]> = {
  ECONNREFUSED: ["dial: connection refused", 1212],
  ECONNRESET: ["read: connection reset by peer", 1220],
  TIMEOUT: ["request timeout", 1050],
};

/** Go's textproto form of a header name, which k6 answers with: "content-type" → "Content-Type". */
const canonical = (name: string) => name.toLowerCase().replace(/(^|-)[a-z]/g, (c) => c.toUpperCase());

function send(agent: http.Agent, spec: HttpSpec): Promise<HttpResult> {
  return new Promise((resolve) => {
    const t = { start: performance.now(), connected: 0, sent: 0, firstByte: 0 };
    const timings = (end: number) => {
      const from = t.connected || t.start;
      const firstByte = t.firstByte || end;
      const sent = Math.min(t.sent || from, firstByte);
      const [connecting, sending, waiting, receiving] = [from - t.start, sent - from, firstByte - sent, end - firstByte];
      return { connecting, sending, waiting, receiving, duration: end - from };
    };
    const fail = (code: string, message: string) => {
      const [error, error_code] = ERRORS[code] ?? [message, 1000];
      resolve({ status: 0, proto: "", headers: {}, body: null, error, error_code, timings: timings(performance.now()) });
    };
    let req: http.ClientRequest;
    try {
      const length = spec.body === null ? {} : { "Content-Length": String(Buffer.byteLength(spec.body)) };
      req = http.request(spec.url, { method: spec.method, headers: { ...spec.headers, ...length }, agent });
    } catch (err) {
      return fail("", (err as Error).message);
    }
    const timer = setTimeout(() => req.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })), spec.timeoutMs);
    req.on("socket", (s) => s.connecting && s.once("connect", () => (t.connected = performance.now())));
    req.on("finish", () => (t.sent = performance.now()));
    req.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      fail(err.code ?? "", err.message);
    });
    req.on("response", (res) => {
      t.firstByte = performance.now();
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        clearTimeout(timer);
        const headers: Record<string, string> = {};
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          const name = canonical(res.rawHeaders[i]!);
          headers[name] = headers[name] === undefined ? res.rawHeaders[i + 1]! : `${headers[name]}, ${res.rawHeaders[i + 1]}`;
        }
        const [status, proto, body] = [res.statusCode ?? 0, `HTTP/${res.httpVersion}`, Buffer.concat(chunks).toString("utf8")];
        resolve({ status, proto, headers, body, error: "", error_code: 0, timings: timings(performance.now()) });
      });
    });
    req.end(spec.body ?? undefined);
  });
}

/** http.batch(): every request at once, but at most `total` in flight and `perHost` to one host:port (0: no cap). */
async function batch(agent: http.Agent, specs: HttpSpec[], limits: { total: number; perHost: number }): Promise<HttpResult[]> {
  const perHost = new Map<string, number>();
  let inFlight = 0;
  let freed: (() => void)[] = [];
  const hostOf = (url: string) => /^\w+:\/\/([^/?#]*)/.exec(url)?.[1] ?? "";
  const under = (n: number, cap: number) => !cap || n < cap;
  const room = (host: string) => under(inFlight, limits.total) && under(perHost.get(host) ?? 0, limits.perHost);
  return Promise.all(
    specs.map(async (spec) => {
      const host = hostOf(spec.url);
      while (!room(host)) await new Promise<void>((wake) => freed.push(wake));
      inFlight += 1;
      perHost.set(host, (perHost.get(host) ?? 0) + 1);
      const result = await send(agent, spec);
      inFlight -= 1;
      perHost.set(host, perHost.get(host)! - 1);
      const waiting = freed;
      freed = [];
      for (const wake of waiting) wake();
      return result;
    }),
  );
}

/** The connection options lib/pq would use: sslmode require unless the URL says disable, allow or prefer. */
function pqOptions(url: string): pg.ClientConfig {
  const parsed = new URL(url);
  const mode = parsed.searchParams.get("sslmode") ?? "require";
  parsed.searchParams.delete("sslmode");
  const ssl = ["disable", "allow", "prefer"].includes(mode) ? false : { rejectUnauthorized: false };
  return { connectionString: parsed.toString(), ssl };
}

const RAW_TEXT = { getTypeParser: () => (text: string) => text };

/** The I/O of one VU: its own HTTP agent and database connections, as in k6. */
export function vuIo() {
  const agent = new http.Agent({ keepAlive: true });
  const clients = new Map<number, pg.Client>();
  const connect = async (db: number, url: string) => {
    const client = new pg.Client(pqOptions(url));
    await client.connect().catch((err: Error) => {
      throw new Error(/does not support SSL/i.test(err.message) ? "SSL is not enabled on the server" : err.message);
    });
    clients.set(db, client);
    return client;
  };
  return async (r: IoRequest): Promise<HttpResult[] | SqlReply | null> => {
    if (r.io === "http") return batch(agent, r.specs, r.limits);
    if (r.io === "sql-close") {
      await clients.get(r.db)?.end();
      clients.delete(r.db);
      return null;
    }
    try {
      const client = clients.get(r.db) ?? (await connect(r.db, r.url));
      const res = await client.query({ text: r.text, values: r.args, rowMode: "array", types: RAW_TEXT });
      return { fields: res.fields.map((f) => [f.name, f.dataTypeID]), rows: res.rows, rowCount: res.rowCount ?? 0 };
    } catch (err) {
      return { error: `pq: ${(err as Error).message}` };
    }
  };
}
