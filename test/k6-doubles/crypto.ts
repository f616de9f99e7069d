// Double of `k6/crypto`: the hashes, hmac() and randomBytes() the suite uses to sign webhooks and
// build UUIDs. Output encodings follow k6: "hex", "base64", "base64url", "base64rawurl", "binary".
import { createHash, createHmac, randomBytes as nodeRandomBytes } from "node:crypto";
import { Buffer } from "node:buffer";

type Input = string | ArrayBuffer | Uint8Array;
type Encoding = "hex" | "base64" | "base64url" | "base64rawurl" | "binary";

function bytes(input: Input, what: string): Buffer {
  if (typeof input === "string") return Buffer.from(input, "utf8");
  if (input instanceof ArrayBuffer) return Buffer.from(new Uint8Array(input));
  if (input instanceof Uint8Array) return Buffer.from(input);
  throw new TypeError(`${what}: expected a string or ArrayBuffer, got ${typeof input}`);
}

function encode(digest: Buffer, encoding: Encoding): string | ArrayBuffer {
  switch (encoding) {
    case "hex":
      return digest.toString("hex");
    case "base64":
      return digest.toString("base64");
    case "base64url":
      return digest.toString("base64").replace(/\+/g, "-").replace(/\//g, "_");
    case "base64rawurl":
      return digest.toString("base64url");
    case "binary":
      return digest.buffer.slice(digest.byteOffset, digest.byteOffset + digest.length) as ArrayBuffer;
    default:
      throw new Error(`invalid output encoding: ${String(encoding)}`);
  }
}

const ALGORITHMS: Record<string, string> = {
  md4: "md4", md5: "md5", sha1: "sha1", sha256: "sha256", sha384: "sha384", sha512: "sha512",
  sha512_224: "sha512-224", sha512_256: "sha512-256", ripemd160: "ripemd160",
};

function algorithm(name: string): string {
  const node = ALGORITHMS[name];
  if (!node) throw new Error(`invalid algorithm: ${name}`);
  return node;
}

export function hmac(alg: string, secret: Input, data: Input, encoding: Encoding): string | ArrayBuffer {
  const mac = createHmac(algorithm(alg), bytes(secret, "hmac secret")).update(bytes(data, "hmac data")).digest();
  return encode(mac, encoding);
}

function hasher(alg: string) {
  return (data: Input, encoding: Encoding) => encode(createHash(algorithm(alg)).update(bytes(data, alg)).digest(), encoding);
}

export const md5 = hasher("md5");
export const sha1 = hasher("sha1");
export const sha256 = hasher("sha256");
export const sha384 = hasher("sha384");
export const sha512 = hasher("sha512");

export function randomBytes(size: number): ArrayBuffer {
  if (!Number.isInteger(size) || size < 1) throw new Error(`invalid size: ${String(size)}`);
  const buf = nodeRandomBytes(size);
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + size) as ArrayBuffer;
}

export default { hmac, md5, sha1, sha256, sha384, sha512, randomBytes };
