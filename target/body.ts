// Request bodies, read defensively: a declared or actual size over the limit is 413 before anything is
// parsed, a body that is not JSON is 400 INVALID_JSON, and zod's complaints become `fields` that name
// each offending field (extra fields included) and say what would fix it.
import { createHash } from "node:crypto";
import type { ZodError, ZodTypeAny, z } from "zod";
import { apiError, invalidRequest, type FieldProblem } from "./http-errors.ts";

export const BODY_LIMIT_BYTES = 64 * 1024;

function tooLarge(): never {
  throw apiError("PAYLOAD_TOO_LARGE", `the body must be at most ${BODY_LIMIT_BYTES} bytes`);
}

/** The raw body, stopped as soon as it passes the limit (Content-Length is not trusted alone). */
export async function readBody(req: Request, limit = BODY_LIMIT_BYTES): Promise<Uint8Array> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) tooLarge();
  if (!req.body) return new Uint8Array();
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** Refuses bodies that say they are something other than JSON; a missing Content-Type is tolerated. */
export function requireJsonContentType(req: Request): void {
  const type = req.headers.get("content-type");
  if (type !== null && !/^application\/([\w.+-]*\+)?json\b/i.test(type.trim())) {
    throw apiError("UNSUPPORTED_MEDIA_TYPE", `send the body as Content-Type: application/json (got "${type}")`);
  }
}

export function parseJson(raw: Uint8Array, emptyAs?: unknown): unknown {
  const text = Buffer.from(raw).toString("utf8");
  if (text.trim() === "" && emptyAs !== undefined) return emptyAs;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw apiError("INVALID_JSON", `the body is not valid JSON: ${(err as Error).message}`);
  }
}

export function fieldProblems(error: ZodError): FieldProblem[] {
  const out: FieldProblem[] = [];
  for (const issue of error.issues) {
    const at = issue.path.join(".");
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        out.push({ field: at ? `${at}.${key}` : key, problem: "unknown field; remove it" });
      }
    } else {
      out.push({ field: at || "(body)", problem: issue.message });
    }
  }
  return out;
}

export function validate<S extends ZodTypeAny>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalidRequest(fieldProblems(parsed.error));
  return parsed.data;
}

/** JSON with object keys sorted at every level, so equal requests hash equally whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function requestHash(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex");
}
