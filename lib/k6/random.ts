// Random ids inside k6, which has no crypto.randomUUID: UUID v4 from k6/crypto's random bytes.
import { randomBytes } from "k6/crypto";
import { uuidV4FromBytes } from "../uuid.ts";

export function uuid(): string {
  return uuidV4FromBytes(new Uint8Array(randomBytes(16)));
}
