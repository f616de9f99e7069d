// Random ids inside k6, which has no crypto.randomUUID: UUID v4 from k6/crypto's random bytes. Two ids
// per reserve put this on the load generator's hot path, where each call into k6 costs more than
// formatting an id (docs/k6-generator.md): each VU draws 64 ids' worth of bytes in one call.
import { randomBytes } from "k6/crypto";
import { uuidV4FromBytes } from "../uuid.ts";

const BYTES_PER_DRAW = 16 * 64;

// Per VU: each VU has its own module instance, so no two VUs share bytes. A typed array's length is
// a getter under k6 v0.49's goja, a JS call per read: `used` is compared with the constant instead.
let drawn: Uint8Array;
let used = BYTES_PER_DRAW;

export function uuid(): string {
  if (used === BYTES_PER_DRAW) {
    drawn = new Uint8Array(randomBytes(BYTES_PER_DRAW));
    used = 0;
  }
  const id = uuidV4FromBytes(drawn, used);
  used += 16;
  return id;
}
