// Supabase-style API keys: HS256 JWTs whose `role` claim decides what a caller may do. Verified with
// node:crypto only, so the check is small enough to read in full and has no dependency to trust.
import { createHmac, timingSafeEqual } from "node:crypto";
import { LOCAL_ANON_KEY, LOCAL_JWT_SECRET, LOCAL_SERVICE_ROLE_KEY } from "../lib/local-target.ts";
import { apiError, HttpError } from "./http-errors.ts";

export type Role = "anon" | "authenticated" | "service_role";
const ROLES: readonly string[] = ["anon", "authenticated", "service_role"];

/** Who is calling: the key's role and, for a signed-in user's token, its `sub` claim (the user id). */
export interface Caller {
  role: Role;
  subject: string | null;
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString("base64url");
}

function hs256(secret: string, signingInput: string): Buffer {
  return createHmac("sha256", secret).update(signingInput).digest();
}

/** An API key for `role` (a user's token when `subject` is given): the public local keys for the local secret, otherwise freshly signed. */
export function signKey(secret: string, role: Role, expiresInSeconds?: number, subject?: string): string {
  if (secret === LOCAL_JWT_SECRET && role !== "authenticated" && expiresInSeconds === undefined && subject === undefined) {
    return role === "anon" ? LOCAL_ANON_KEY : LOCAL_SERVICE_ROLE_KEY;
  }
  const header = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const payload = base64url(
    JSON.stringify({
      iss: "liventix-load",
      role,
      ...(subject === undefined ? {} : { sub: subject }),
      exp: Math.floor(Date.now() / 1000) + (expiresInSeconds ?? 10 * 365 * 24 * 3600),
    }),
  );
  return `${header}.${payload}.${base64url(hs256(secret, `${header}.${payload}`))}`;
}

function parseJson(segment: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Who a key says the caller is, or the 401 that explains why it grants nothing. */
export function verifyKey(token: string, secret: string, nowSeconds = Date.now() / 1000): Caller | HttpError {
  const bad = (why: string) => apiError("UNAUTHORIZED", `the API key is not valid: ${why}`);
  const parts = token.split(".");
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]+$/.test(p))) return bad("it is not a JWT");
  const [h, p, s] = parts as [string, string, string];
  const header = parseJson(h);
  if (!header || header.alg !== "HS256") return bad("only HS256-signed keys are accepted");
  const expected = hs256(secret, `${h}.${p}`);
  const given = Buffer.from(s, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return bad("the signature does not match this project's JWT secret");
  }
  const payload = parseJson(p);
  if (!payload) return bad("the payload is not a JSON object");
  if (payload.exp !== undefined && (typeof payload.exp !== "number" || payload.exp <= nowSeconds)) {
    return bad("it has expired");
  }
  if (typeof payload.role !== "string" || !ROLES.includes(payload.role)) {
    return bad('its role claim must be "anon", "authenticated" or "service_role"');
  }
  if (payload.sub !== undefined && (typeof payload.sub !== "string" || payload.sub.length === 0 || payload.sub.length > 255)) {
    return bad("its sub claim must be a string of 1 to 255 characters");
  }
  return { role: payload.role as Role, subject: (payload.sub as string | undefined) ?? null };
}

/**
 * The caller from `Authorization: Bearer` (which Supabase lets override the key) or `apikey`.
 * Every key sent must be valid: a garbage apikey next to a good bearer token is still refused.
 */
export function authenticate(headers: Headers, secret: string): Caller | HttpError {
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
    const verified = verifyKey(token, secret);
    if (verified instanceof HttpError) return verified;
    caller = verified;
  }
  return caller!;
}
