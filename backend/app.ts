// The HTTP surface of the embedded target, shaped like a Supabase project: Edge Functions under
// /functions/v1, PostgREST RPC under /rest/v1/rpc. Built on Hono and free of Node-only APIs in the
// routing itself, so the same app can be served by Deno.serve(app.fetch) in a Supabase Edge Function.
import { Hono, type Context } from "hono";
import { authenticate, type Caller } from "./auth.ts";
import { ClientAborted, parseJson, readBody, requireJsonContentType, requireUtf8 } from "./body.ts";
import { enhancedCheckout, openCheckoutSession } from "./checkout.ts";
import type { Isolation } from "./config.ts";
import type { Db } from "./db.ts";
import { apiError, HttpError, internalError } from "./http-errors.ts";
import type { Reply } from "./reply.ts";
import { callRpc, loadRpcFunctions, type RpcFunction } from "./rpc.ts";
import { paymentWebhook } from "./webhook.ts";
import { WEBHOOK_SIGNATURE_HEADER } from "../lib/local-target.ts";

export interface AppOptions {
  db: Db;
  isolation: Isolation;
  jwtSecret: string;
  webhookSecret: string;
  /** Base URL buyers reach this API at; session_url is built on it. */
  publicUrl: string;
  /** Called with errors that became a 500, for the operator's log (never sent to the client). */
  onUnexpected?: (err: unknown) => void;
  /** Called once per request whose client went away before its body arrived (nobody is left to answer). */
  onClientAbort?: (path: string) => void;
}

function send(c: Context, reply: Reply): Response {
  return c.json(reply.body as object, reply.status as 200, reply.headers);
}

function sendError(c: Context, err: HttpError): Response {
  return send(c, { status: err.status, body: err.body(), headers: err.headers() });
}

export function createApp(options: AppOptions): Hono {
  const { db } = options;
  const app = new Hono();
  let rpcFunctions: Promise<Map<string, RpcFunction>> | null = null;
  const functions = () => {
    rpcFunctions ??= loadRpcFunctions(db).catch((err) => {
      rpcFunctions = null;
      throw err;
    });
    return rpcFunctions;
  };

  const caller = async (c: Context): Promise<Caller> => {
    const who = await authenticate(c.req.raw.headers, options.jwtSecret);
    if (who instanceof HttpError) throw who;
    return who;
  };
  const jsonBody = async (c: Context, emptyAs?: unknown) => {
    requireJsonContentType(c.req.raw);
    return parseJson(await readBody(c.req.raw), emptyAs);
  };

  app.get("/health", async (c) => {
    await db.ping();
    return c.json({ status: "ok", database: "up", isolation: options.isolation });
  });

  app.post("/functions/v1/enhanced-checkout", async (c) => {
    const who = await caller(c);
    const body = await jsonBody(c);
    return send(c, await enhancedCheckout(db, options.publicUrl, body, c.req.header("idempotency-key") ?? null, who));
  });

  app.post("/functions/v1/checkout-session/:order_id", async (c) => {
    await caller(c);
    await readBody(c.req.raw);
    return send(c, await openCheckoutSession(db, c.req.param("order_id")));
  });

  // No Content-Type check here: the signature, not a header, says what the bytes are.
  app.post("/functions/v1/payment-webhook", async (c) => {
    requireUtf8(c.req.raw);
    const raw = await readBody(c.req.raw);
    return send(c, await paymentWebhook(db, options.webhookSecret, raw, c.req.header(WEBHOOK_SIGNATURE_HEADER) ?? null));
  });

  app.post("/rest/v1/rpc/:fn", async (c) => {
    // Refused before any lookup: other roles learn nothing, not even which functions exist.
    if ((await caller(c)).role !== "service_role") throw apiError("FORBIDDEN", "the RPC endpoint needs the service_role key");
    const name = c.req.param("fn");
    if (!(await functions()).has(name)) {
      throw apiError("NOT_FOUND", `no callable function "${name}"; see docs/target.md for the ones this API exposes`);
    }
    const args = await jsonBody(c, {});
    return c.json((await callRpc(db, await functions(), name, args)) as object);
  });

  const allowed: [string, string][] = [
    ["/health", "GET"],
    ["/functions/v1/enhanced-checkout", "POST"],
    ["/functions/v1/checkout-session/:order_id", "POST"],
    ["/functions/v1/payment-webhook", "POST"],
    ["/rest/v1/rpc/:fn", "POST"],
  ];
  for (const [path, method] of allowed) {
    app.all(path, () => {
      throw apiError("METHOD_NOT_ALLOWED", `use ${method} for ${path}`, { allow: method });
    });
  }

  app.notFound((c) => sendError(c, apiError("NOT_FOUND", `no route ${c.req.method} ${c.req.path}; see docs/target.md`)));
  app.onError((err, c) => {
    if (err instanceof HttpError) return sendError(c, err);
    if (err instanceof ClientAborted) {
      options.onClientAbort?.(c.req.path);
      return c.body(null, 400);
    }
    options.onUnexpected?.(err);
    return sendError(c, internalError());
  });
  return app;
}
