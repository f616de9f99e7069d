// Request bodies, read defensively: a declared or actual size over the limit is 413 before anything is
// parsed, a charset other than UTF-8 is 415, bytes that are not UTF-8 or not JSON are 400 INVALID_JSON,
// nesting deeper than MAX_JSON_DEPTH is 400 before anything walks it recursively, and zod's complaints
// become `fields` that name each offending field (extra fields included) and say what would fix it.
import { createHash } from "node:crypto";
import type { ZodError, ZodTypeAny, z } from "zod";
import { apiError, invalidRequest, type FieldProblem } from "./http-errors.ts";

const BODY_LIMIT_BYTES = 64 * 1024;
/** No request of this API nests deeper than a few levels; 64 leaves room and keeps every recursion shallow. */
export const MAX_JSON_DEPTH = 64;

/** The client went away before its whole body arrived: nobody is left to answer, and nothing failed. */
export class ClientAborted extends Error {
  override name = "ClientAborted";
}

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
    const { done, value } = await reader.read().catch((err: unknown) => {
      if (req.signal.aborted || (err as NodeJS.ErrnoException).code === "ECONNRESET")
        throw new ClientAborted("the client closed the connection mid-body");
      throw err;
    });
    if (done) {
      // A client gone before the read began (authentication is awaited first) leaves no error, only a stream
      // that ends early: the abort signal and the declared length tell it from a whole body.
      if (req.signal.aborted && (declared === null || size !== Number(declared))) {
        throw new ClientAborted("the client closed the connection mid-body");
      }
      break;
    }
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** Refuses a body declared in another charset than UTF-8 (JSON is UTF-8, RFC 8259); none declared is UTF-8. */
export function requireUtf8(req: Request): void {
  const type = req.headers.get("content-type");
  const charset = type === null ? undefined : /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(type)?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
    throw apiError("UNSUPPORTED_MEDIA_TYPE", `send the body as UTF-8 (charset=utf-8); "${charset.slice(0, 40)}" is not accepted`);
  }
}

/** Refuses bodies that say they are something other than JSON; a missing Content-Type is tolerated. */
export function requireJsonContentType(req: Request): void {
  const type = req.headers.get("content-type");
  if (type !== null && !/^application\/([\w.+-]*\+)?json\b/i.test(type.trim())) {
    throw apiError("UNSUPPORTED_MEDIA_TYPE", `send the body as Content-Type: application/json (got "${type.slice(0, 100)}")`);
  }
  requireUtf8(req);
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** True when `value` nests deeper than `limit` (a scalar is depth 0, `[]` depth 1); walks with its own stack. */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== "object") continue;
    if (depth + 1 > limit) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}

export function parseJson(raw: Uint8Array, emptyAs?: unknown): unknown {
  let text: string;
  try {
    text = UTF8.decode(raw);
  } catch {
    throw apiError("INVALID_JSON", "the body is not valid UTF-8");
  }
  if (text.trim() === "" && emptyAs !== undefined) return emptyAs;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw apiError("INVALID_JSON", `the body is not valid JSON: ${(err as Error).message}`);
  }
  if (nestsDeeperThan(value, MAX_JSON_DEPTH)) {
    throw invalidRequest([
      { field: "(body)", problem: `nests deeper than ${MAX_JSON_DEPTH} levels of objects and arrays; the limit is ${MAX_JSON_DEPTH}` },
    ]);
  }
  return value;
}

function fieldProblems(error: ZodError): FieldProblem[] {
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
function canonicalJson(value: unknown): string {
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
