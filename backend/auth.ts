// Supabase-style API keys: HS256 JWTs whose `role` claim decides what a caller may do, signed and
// verified with hono/jwt.
import { decode, sign, verify } from "hono/jwt";
import { JwtTokenSignatureMismatched } from "hono/utils/jwt/types";
import { LOCAL_ANON_KEY, LOCAL_JWT_SECRET, LOCAL_SERVICE_ROLE_KEY } from "../lib/local-target.ts";
import { apiError, HttpError } from "./http-errors.ts";

export type Role = "anon" | "authenticated" | "service_role";
const ROLES: readonly string[] = ["anon", "authenticated", "service_role"];

/** Who is calling: the key's role and, for a signed-in user's token, its `sub` claim (the user id). */
export interface Caller {
  role: Role;
  subject: string | null;
}

// Hono decodes any base64 (padding, "+", "/"); a key is the compact form only.
const COMPACT_JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
// Hono checks nbf and iat with no clock-skew leeway (a fresh token from a clock a second ahead would be
// refused) and skips an exp of 0 or of another type: exp is checked below instead.
const HS256_SIGNATURE_ONLY = { alg: "HS256", exp: false, nbf: false, iat: false } as const;

// Imported once per secret, as a CryptoKey: given the secret as a string, Hono would read one containing
// "PUBLIC" or "PRIVATE" as a PEM key.
const keys = new Map<string, Promise<CryptoKey>>();
function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keys.set(secret, key);
  }
  return key;
}

/** An API key for `role` (a user's token when `subject` is given): the public local keys for the local secret, otherwise freshly signed. */
export async function signKey(secret: string, role: Role, expiresInSeconds?: number, subject?: string): Promise<string> {
  if (secret === LOCAL_JWT_SECRET && role !== "authenticated" && expiresInSeconds === undefined && subject === undefined) {
    return role === "anon" ? LOCAL_ANON_KEY : LOCAL_SERVICE_ROLE_KEY;
  }
  const payload = {
    iss: "liventix-load",
    role,
    ...(subject === undefined ? {} : { sub: subject }),
    exp: Math.floor(Date.now() / 1000) + (expiresInSeconds ?? 10 * 365 * 24 * 3600),
  };
  return sign(payload, await hmacKey(secret), "HS256");
}

/** Who a key says the caller is, or the 401 that explains why it grants nothing. */
export async function verifyKey(token: string, secret: string, nowSeconds = Date.now() / 1000): Promise<Caller | HttpError> {
  const bad = (why: string) => apiError("UNAUTHORIZED", `the API key is not valid: ${why}`);
  if (!COMPACT_JWT.test(token)) return bad("it is not a JWT");
  let header: { alg?: unknown };
  try {
    header = decode(token).header;
  } catch {
    return bad("it is not a JWT");
  }
  // Hono verifies with the algorithm it is told, whatever the header says: any other header is refused here.
  if (header?.alg !== "HS256") return bad("only HS256-signed keys are accepted");
  let payload: unknown;
  try {
    payload = await verify(token, await hmacKey(secret), HS256_SIGNATURE_ONLY);
  } catch (err) {
    return bad(err instanceof JwtTokenSignatureMismatched ? "the signature does not match this project's JWT secret" : "it is not a JWT");
  }
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) return bad("the payload is not a JSON object");
  const claims = payload as Record<string, unknown>;
  if (claims.exp !== undefined && (typeof claims.exp !== "number" || claims.exp <= nowSeconds)) {
    return bad("it has expired");
  }
  if (typeof claims.role !== "string" || !ROLES.includes(claims.role)) {
    return bad('its role claim must be "anon", "authenticated" or "service_role"');
  }
  if (claims.sub !== undefined && (typeof claims.sub !== "string" || claims.sub.length === 0 || claims.sub.length > 255)) {
    return bad("its sub claim must be a string of 1 to 255 characters");
  }
  return { role: claims.role as Role, subject: (claims.sub as string | undefined) ?? null };
}

/**
 * The caller from `Authorization: Bearer` (which Supabase lets override the key) or `apikey`.
 * Every key sent must be valid: a garbage apikey next to a good bearer token is still refused.
 */
export async function authenticate(headers: Headers, secret: string): Promise<Caller | HttpError> {
  const apikey = headers.get("apikey")?.trim() || undefined;
  const authorization = headers.get("authorization")?.trim();
  let bearer: string | undefined;
  if (authorization) {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!m) return apiError("UNAUTHORIZED", 'the Authorization header must be "Bearer <key>"');
    bearer = m[1];
  }
  if (!apikey && !bearer) {
    return apiError("UNAUTHORIZED", "send the anon or service_role key in the apikey header or as Authorization: Bearer <key>");
  }
  let caller: Caller | undefined;
  for (const token of [apikey, bearer]) {
    if (token === undefined) continue;
    const verified = await verifyKey(token, secret);
    if (verified instanceof HttpError) return verified;
    caller = verified;
  }
  return caller!;
}
