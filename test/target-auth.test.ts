// API keys: the keys the target prints and signs are plain HS256 JWTs any Supabase tool accepts, and
// every key that should grant nothing is refused with the reason.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { test } from "node:test";
import { LOCAL_ANON_KEY, LOCAL_JWT_SECRET, LOCAL_SERVICE_ROLE_KEY } from "../lib/local-target.ts";
import { authenticate, signKey, verifyKey } from "../backend/auth.ts";
import { HttpError } from "../backend/http-errors.ts";

const SECRET = "a-PUBLIC-looking-secret-of-at-least-32-characters";
const b64 = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

/** A JWT built by hand with node:crypto: the independent oracle for what signKey must produce. */
function handMade(header: unknown, payload: unknown, secret = SECRET, hash = "sha256"): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac(hash, secret).update(input).digest("base64url")}`;
}
const HS256 = { alg: "HS256", typ: "JWT" };
const future = () => Math.floor(Date.now() / 1000) + 3600;

async function refusal(token: string, secret = SECRET): Promise<string> {
  const result = await verifyKey(token, secret);
  assert.ok(result instanceof HttpError, `accepted: ${JSON.stringify(result)}`);
  assert.deepEqual([result.status, result.code], [401, "UNAUTHORIZED"]);
  return result.message.replace("the API key is not valid: ", "");
}

test("the printed local keys are the public `supabase start` demo keys, and they verify", async () => {
  assert.equal(await signKey(LOCAL_JWT_SECRET, "anon"), LOCAL_ANON_KEY);
  assert.equal(await signKey(LOCAL_JWT_SECRET, "service_role"), LOCAL_SERVICE_ROLE_KEY);
  assert.deepEqual(await verifyKey(LOCAL_ANON_KEY, LOCAL_JWT_SECRET), { role: "anon", subject: null });
  assert.deepEqual(await verifyKey(LOCAL_SERVICE_ROLE_KEY, LOCAL_JWT_SECRET), { role: "service_role", subject: null });
});

test("a signed key is the plain HS256 JWT a hand-made one is, and carries role and sub", async () => {
  const key = await signKey(SECRET, "authenticated", 60, "user-1");
  const [, payloadPart] = key.split(".");
  const payload = JSON.parse(Buffer.from(payloadPart!, "base64url").toString()) as { exp: number };
  assert.equal(key, handMade(HS256, { iss: "liventix-load", role: "authenticated", sub: "user-1", exp: payload.exp }));
  assert.ok(Math.abs(payload.exp - (Date.now() / 1000 + 60)) < 5);
  assert.deepEqual(await verifyKey(key, SECRET), { role: "authenticated", subject: "user-1" });
  assert.deepEqual(await verifyKey(handMade(HS256, { role: "anon", nbf: future(), iat: future() }), SECRET), {
    role: "anon",
    subject: null,
  });
});

test("keys that grant nothing are refused with the reason", async () => {
  const cases: [string, string, string?][] = [
    ["not-a-jwt", "it is not a JWT"],
    [`${b64(HS256)}.${b64({ role: "anon" })}.`, "it is not a JWT"],
    [`${b64(HS256)}.${b64("{not json")}.${b64("sig")}`, "it is not a JWT"],
    [`${b64({ alg: "none" })}.${b64({ role: "service_role" })}.${b64("x")}`, "only HS256-signed keys are accepted"],
    // Alg confusion: an HS256 signature under a header naming another algorithm.
    [
      `${handMade({ alg: "RS256", typ: "JWT" }, { role: "service_role" }).split(".").slice(0, 2).join(".")}.${handMade(HS256, { role: "service_role" }).split(".")[2]}`,
      "only HS256-signed keys are accepted",
    ],
    [handMade({ alg: "HS512", typ: "JWT" }, { role: "service_role" }, SECRET, "sha512"), "only HS256-signed keys are accepted"],
    [
      handMade(HS256, { role: "service_role" }),
      "the signature does not match this project's JWT secret",
      "another-secret-that-is-at-least-32-chars",
    ],
    [handMade(HS256, ["anon"]), "the payload is not a JSON object"],
    [handMade(HS256, { role: "anon", exp: Math.floor(Date.now() / 1000) - 1 }), "it has expired"],
    [handMade(HS256, { role: "anon", exp: 0 }), "it has expired"],
    [handMade(HS256, { role: "anon", exp: "2999999999" }), "it has expired"],
    [handMade(HS256, { role: "postgres", exp: future() }), 'its role claim must be "anon", "authenticated" or "service_role"'],
    [handMade(HS256, { role: "anon", sub: "" }), "its sub claim must be a string of 1 to 255 characters"],
    [handMade(HS256, { role: "anon", sub: 7 }), "its sub claim must be a string of 1 to 255 characters"],
  ];
  for (const [token, reason, secret] of cases) {
    assert.equal(await refusal(token, secret), reason, token);
  }
});

test("every key sent must be valid, and a Bearer token names the caller", async () => {
  const user = await signKey(SECRET, "authenticated", 60, "user-2");
  const anon = await signKey(SECRET, "anon", 60);
  assert.deepEqual(await authenticate(new Headers({ apikey: anon, authorization: `Bearer ${user}` }), SECRET), {
    role: "authenticated",
    subject: "user-2",
  });
  assert.deepEqual(await authenticate(new Headers({ authorization: `bearer ${anon}` }), SECRET), { role: "anon", subject: null });
  const refused = async (headers: Record<string, string>) => {
    const result = await authenticate(new Headers(headers), SECRET);
    assert.ok(result instanceof HttpError);
    return result.message;
  };
  assert.match(await refused({ apikey: anon, authorization: "Bearer garbage" }), /not a JWT/);
  assert.match(await refused({ apikey: "garbage", authorization: `Bearer ${user}` }), /not a JWT/);
  assert.match(await refused({ authorization: `Basic ${anon}` }), /must be "Bearer <key>"/);
  assert.match(await refused({}), /send the anon or service_role key/);
});
