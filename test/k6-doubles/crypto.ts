// Doubles of `k6/crypto` (hmac, sha256, randomBytes: webhook signatures and UUIDs) and `k6/encoding`
// (base64 in k6's four alphabets). A digest comes as "hex", "base64" or, with "binary", an ArrayBuffer.
import { Buffer } from "node:buffer";
import { createHash, createHmac, randomBytes as nodeRandomBytes } from "node:crypto";

type Input = string | ArrayBuffer;
const bytes = (data: Input) => (typeof data === "string" ? Buffer.from(data, "utf8") : Buffer.from(new Uint8Array(data)));
const arrayBuffer = (b: Buffer) => b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;

function encode(digest: Buffer, encoding: string): string | ArrayBuffer {
  if (encoding === "binary") return arrayBuffer(digest);
  if (encoding !== "hex" && encoding !== "base64") throw new Error(`invalid output encoding: ${encoding}`);
  return digest.toString(encoding);
}

export const crypto = {
  hmac: (alg: string, secret: Input, data: Input, encoding: string) =>
    encode(createHmac(alg, bytes(secret)).update(bytes(data)).digest(), encoding),
  sha256: (data: Input, encoding: string) => encode(createHash("sha256").update(bytes(data)).digest(), encoding),
  randomBytes: (size: number) => arrayBuffer(nodeRandomBytes(size)),
};

/** k6's alphabets: std and url are padded, rawstd and rawurl are not. */
type Alphabet = [BufferEncoding, boolean];
const ALPHABETS: Record<string, Alphabet> = {
  std: ["base64", true],
  rawstd: ["base64", false],
  url: ["base64url", true],
  rawurl: ["base64url", false],
};

function alphabet(name = "std"): Alphabet {
  const found = ALPHABETS[name || "std"];
  if (!found) throw new Error(`unknown base64 encoding: ${name}`);
  return found;
}

export const encoding = {
  b64encode(data: Input, name?: string): string {
    const [kind, padded] = alphabet(name);
    const text = bytes(data).toString(kind).replace(/=+$/, "");
    return padded ? text.padEnd(Math.ceil(text.length / 4) * 4, "=") : text;
  },
  /** An ArrayBuffer, or a string with format "s". */
  b64decode(data: string, name?: string, format?: string): ArrayBuffer | string {
    const decoded = Buffer.from(data, alphabet(name)[0]);
    return format === "s" ? decoded.toString("utf8") : arrayBuffer(decoded);
  },
};
