// The one worker thread behind sync.ts for a whole simulated k6 process: serves one link (port + flag)
// per VU thread, performs HTTP requests with node:http (keep-alive, per-phase timings, k6's error
// codes for refused connections and timeouts) and SQL with `pg` (connections kept per link, as each
// VU has its own), answering raw text so the postgres-driver double can reproduce lib/pq's types. Plain JavaScript
// because Node 20 does not apply tsx's loader to a worker's entry module; the message shapes are
// typed in worker-protocol.ts.
import http from "node:http";
import https from "node:https";
import { Buffer } from "node:buffer";
import { parentPort } from "node:worker_threads";
import pg from "pg";
// Each VU keeps its own connections, as k6 gives every VU its own transport.
const newAgents = () => ({ "http:": new http.Agent({ keepAlive: true }), "https:": new https.Agent({ keepAlive: true }) });
// k6's error codes (lib/netext/httpext/error_codes.go) for what a loopback test can meet.
function classify(err, timedOut) {
    if (timedOut)
        return { error: "request timeout", errorCode: 1050 };
    switch (err.code) {
        case "ECONNREFUSED":
            return { error: "dial: connection refused", errorCode: 1212 };
        case "ECONNRESET":
            return { error: "read: connection reset by peer", errorCode: 1220 };
        case "ENOTFOUND":
            return { error: `lookup: no such host`, errorCode: 1101 };
        case "EHOSTUNREACH":
            return { error: "dial: no route to host", errorCode: 1213 };
        default:
            return { error: err.message, errorCode: 1000 };
    }
}
function failed(error, errorCode, connecting, waiting) {
    return {
        status: 0, statusText: "", proto: "", headers: [], body: "", remoteIp: "", remotePort: 0, error, errorCode,
        timings: { blocked: 0, connecting, sending: 0, waiting, receiving: 0 },
        bytesSent: 0, bytesReceived: 0,
    };
}
function doHttp(agents, spec) {
    return new Promise((resolve) => {
        const started = performance.now();
        let connected = started;
        let connecting = 0;
        let sent = started;
        let firstByte = started;
        let timedOut = false;
        let url;
        try {
            url = new URL(spec.url);
            if (url.protocol !== "http:" && url.protocol !== "https:")
                throw new Error(`unsupported protocol scheme "${url.protocol}"`);
        }
        catch (err) {
            resolve(failed(`invalid URL ${JSON.stringify(spec.url)}: ${err.message}`, 1000, 0, 0));
            return;
        }
        const body = spec.body === null ? null : Buffer.from(spec.body, "base64");
        const lib = url.protocol === "https:" ? https : http;
        const req = lib.request(url, {
            method: spec.method,
            headers: { ...spec.headers, ...(body ? { "Content-Length": String(body.length) } : {}) },
            agent: agents[url.protocol],
        });
        const timer = setTimeout(() => {
            timedOut = true;
            req.destroy(new Error("timeout"));
        }, spec.timeoutMs);
        req.on("socket", (socket) => {
            if (socket.connecting) {
                socket.once("connect", () => {
                    connected = performance.now();
                    connecting = connected - started;
                });
            }
        });
        req.on("finish", () => {
            sent = performance.now();
        });
        req.on("error", (err) => {
            clearTimeout(timer);
            const { error, errorCode } = classify(err, timedOut);
            resolve(failed(error, errorCode, connecting, performance.now() - started - connecting));
        });
        req.on("response", (res) => {
            firstByte = performance.now();
            const chunks = [];
            res.on("data", (c) => chunks.push(c));
            res.on("error", () => undefined);
            res.on("end", () => {
                clearTimeout(timer);
                const ended = performance.now();
                const raw = Buffer.concat(chunks);
                const headers = [];
                for (let i = 0; i < res.rawHeaders.length; i += 2)
                    headers.push([res.rawHeaders[i], res.rawHeaders[i + 1]]);
                resolve({
                    status: res.statusCode ?? 0,
                    statusText: `${res.statusCode} ${res.statusMessage ?? ""}`.trim(),
                    proto: `HTTP/${res.httpVersion}`,
                    headers,
                    body: spec.binary ? raw.toString("base64") : raw.toString("utf8"),
                    remoteIp: res.socket?.remoteAddress ?? "",
                    remotePort: res.socket?.remotePort ?? 0,
                    error: "",
                    errorCode: 0,
                    timings: {
                        blocked: 0,
                        connecting,
                        sending: Math.max(0, sent - Math.max(connected, started)),
                        waiting: Math.max(0, firstByte - sent),
                        receiving: ended - firstByte,
                    },
                    bytesSent: (body?.length ?? 0) + 200,
                    bytesReceived: raw.length + 150,
                });
            });
        });
        req.end(body ?? undefined);
    });
}
// http.batch(): all at once, but never more than limits.total in flight, nor limits.perHost to one
// host:port (0 = no cap), taken in order as slots free up, like k6's batch workers.
function doBatch(agents, specs, limits) {
    if (!limits)
        return Promise.all(specs.map((spec) => doHttp(agents, spec)));
    const hostOf = (spec) => {
        try {
            return new URL(spec.url).host;
        }
        catch {
            return "";
        }
    };
    const results = new Array(specs.length);
    const waiting = specs.map((spec, i) => ({ spec, i, host: hostOf(spec) }));
    const perHost = new Map();
    let inFlight = 0;
    return new Promise((resolve) => {
        let done = 0;
        const pump = () => {
            for (let k = 0; k < waiting.length;) {
                const job = waiting[k];
                const hostCount = perHost.get(job.host) ?? 0;
                if ((limits.total > 0 && inFlight >= limits.total) || (limits.perHost > 0 && hostCount >= limits.perHost)) {
                    k += 1;
                    continue;
                }
                waiting.splice(k, 1);
                inFlight += 1;
                perHost.set(job.host, hostCount + 1);
                void doHttp(agents, job.spec).then((result) => {
                    results[job.i] = result;
                    inFlight -= 1;
                    perHost.set(job.host, perHost.get(job.host) - 1);
                    done += 1;
                    if (done === specs.length)
                        resolve(results);
                    else
                        pump();
                });
            }
        };
        if (specs.length === 0)
            resolve(results);
        else
            pump();
    });
}
// lib/pq (the driver behind xk6-sql-driver-postgres) defaults to sslmode=require.
function wantsSsl(url) {
    const mode = new URL(url).searchParams.get("sslmode") ?? "require";
    return mode !== "disable" && mode !== "allow" && mode !== "prefer";
}
async function client(clients, db, url) {
    const existing = clients.get(db);
    if (existing)
        return existing;
    const parsed = new URL(url);
    parsed.searchParams.delete("sslmode");
    const c = new pg.Client({ connectionString: parsed.toString(), ssl: wantsSsl(url) ? { rejectUnauthorized: false } : false });
    try {
        await c.connect();
    }
    catch (err) {
        const message = err.message;
        throw new Error(/does not support SSL/i.test(message) ? "SSL is not enabled on the server" : message);
    }
    clients.set(db, c);
    return c;
}
const rawText = { getTypeParser: () => (value) => value };
async function handle(clients, agents, request) {
    switch (request.op) {
        case "http":
            return { op: "http", results: await doBatch(agents, request.requests, request.limits) };
        case "sql-query":
            try {
                const c = await client(clients, request.db, request.url);
                const res = await c.query({ text: request.text, values: request.args, rowMode: "array", types: rawText });
                const last = Array.isArray(res) ? res[res.length - 1] : res;
                return {
                    op: "sql-query", ok: true,
                    fields: (last.fields ?? []).map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })),
                    rows: last.rows,
                    rowCount: last.rowCount ?? 0,
                    command: last.command ?? "",
                };
            }
            catch (err) {
                return { op: "sql-query", ok: false, message: `pq: ${err.message}` };
            }
        case "sql-close": {
            const c = clients.get(request.db);
            clients.delete(request.db);
            await c?.end().catch(() => undefined);
            return { op: "sql-close", ok: true };
        }
    }
}
function serve(port, flag) {
    const clients = new Map();
    const agents = newAgents();
    port.on("message", (request) => {
        void handle(clients, agents, request).then((reply) => {
            port.postMessage(reply);
            Atomics.store(flag, 0, 1);
            Atomics.notify(flag, 0);
        });
    });
    // The VU thread is gone: its connections go with it.
    port.on("close", () => {
        agents["http:"].destroy();
        agents["https:"].destroy();
        for (const c of clients.values())
            void c.end().catch(() => undefined);
        clients.clear();
    });
}
parentPort.on("message", ({ port, flag }) => serve(port, flag));
