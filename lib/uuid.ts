// UUID v4 text from 16 random bytes. k6 has no crypto.randomUUID (see /work/shared/k6-runtime.md), so the
// k6 adapter feeds bytes from k6/crypto.randomBytes; keeping the formatting here makes it testable in Node.

export function uuidV4FromBytes(bytes: ArrayLike<number>): string {
  if (bytes.length < 16) throw new Error(`uuidV4FromBytes needs 16 random bytes, got ${bytes.length}`);
  let hex = "";
  for (let i = 0; i < 16; i++) {
    let b = bytes[i]! & 0xff;
    if (i === 6) b = (b & 0x0f) | 0x40; // version 4
    if (i === 8) b = (b & 0x3f) | 0x80; // RFC 4122 variant
    hex += (b < 16 ? "0" : "") + b.toString(16);
  }
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
