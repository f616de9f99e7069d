// Double of `k6/encoding`: b64encode/b64decode with k6's four alphabets ("std", "rawstd", "url",
// "rawurl"); decode answers an ArrayBuffer unless the third argument is "s".
import { Buffer } from "node:buffer";

type Alphabet = "std" | "rawstd" | "url" | "rawurl";

function alphabet(encoding: string | undefined): Alphabet {
  const value = encoding ?? "std";
  if (value === "" ) return "std";
  if (value === "std" || value === "rawstd" || value === "url" || value === "rawurl") return value;
  throw new Error(`unknown base64 encoding: ${value}`);
}

function input(data: string | ArrayBuffer | Uint8Array): Buffer {
  if (typeof data === "string") return Buffer.from(data, "utf8");
  if (data instanceof ArrayBuffer) return Buffer.from(new Uint8Array(data));
  if (data instanceof Uint8Array) return Buffer.from(data);
  throw new TypeError(`b64encode: expected a string or ArrayBuffer, got ${typeof data}`);
}

export function b64encode(data: string | ArrayBuffer | Uint8Array, encoding?: string): string {
  const std = input(data).toString("base64");
  switch (alphabet(encoding)) {
    case "std":
      return std;
    case "rawstd":
      return std.replace(/=+$/, "");
    case "url":
      return std.replace(/\+/g, "-").replace(/\//g, "_");
    case "rawurl":
      return std.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
}

export function b64decode(data: string, encoding?: string, format?: string): ArrayBuffer | string {
  const kind = alphabet(encoding);
  const urlSafe = kind === "url" || kind === "rawurl";
  const valid = urlSafe ? /^[A-Za-z0-9_-]*={0,2}$/ : /^[A-Za-z0-9+/]*={0,2}$/;
  const padded = kind === "std" || kind === "url";
  if (!valid.test(data) || (padded && data.length % 4 !== 0) || (!padded && data.includes("="))) {
    throw new Error(`illegal base64 data for the "${kind}" encoding`);
  }
  const buf = Buffer.from(data, urlSafe ? "base64url" : "base64");
  if (format === "s") return buf.toString("utf8");
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) as ArrayBuffer;
}

export default { b64encode, b64decode };
