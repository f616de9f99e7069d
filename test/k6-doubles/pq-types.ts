// lib/pq's text-format decoding, as xk6-sql passes it to JavaScript: bool, int2/4/8, float4/8
// become booleans and numbers, text/varchar/"char" strings, timestamps opaque Go time objects, and
// everything else (numeric, uuid, json, jsonb, char(n), name, arrays …) raw bytes, which reach the
// script as arrays of numbers. SUM()/AVG() are numeric, so they need a cast in SQL.
import { Buffer } from "node:buffer";
import type { SqlField } from "./worker-protocol.ts";

const BOOL = 16;
const INTEGERS = new Set([20, 21, 23]);
const FLOATS = new Set([700, 701]);
const STRINGS = new Set([18, 25, 1043]);
const TIMES = new Set([1082, 1083, 1114, 1184, 1266]);
const BYTEA = 17;

/** What goja shows for a Go time.Time: an object, not a string and not a Date. */
class GoTime {
  toString(): string {
    return "[object Object]";
  }
  toJSON(): Record<string, never> {
    return {};
  }
}

function decodeBytea(text: string): number[] {
  return text.startsWith("\\x") ? [...Buffer.from(text.slice(2), "hex")] : [...Buffer.from(text, "latin1")];
}

export function convertValue(dataTypeID: number, text: string | null): unknown {
  if (text === null) return null;
  if (dataTypeID === BOOL) return text === "t";
  if (INTEGERS.has(dataTypeID) || FLOATS.has(dataTypeID)) return Number(text);
  if (STRINGS.has(dataTypeID)) return text;
  if (TIMES.has(dataTypeID)) return Object.freeze(new GoTime());
  if (dataTypeID === BYTEA) return decodeBytea(text);
  return [...Buffer.from(text, "utf8")];
}

export function convertRow(fields: SqlField[], row: (string | null)[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  fields.forEach((f, i) => {
    out[f.name] = convertValue(f.dataTypeID, row[i] ?? null);
  });
  return out;
}
