// Reading untrusted JSON without exceptions: API bodies, database answers and k6's summary data all
// arrive as `unknown` and must never crash a VU, the teardown or handleSummary. Pure module.

export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Parsed JSON, or null for empty or malformed text. */
export function parseJsonOrNull(text: string): unknown {
  if (text === "") return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
