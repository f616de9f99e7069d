// Doubles of xk6-sql v1 (`k6/x/sql`: open(driver, url) → query/exec/close, synchronous) and its
// `k6/x/sql/driver/postgres`, on a real PostgreSQL (io.ts). Values come back as lib/pq hands them to JavaScript:
// bool, integers and floats as such, text as strings, timestamps as opaque Go time objects, and everything else
// (numeric, uuid, json, jsonb, char(n), SUM() ...) as bytes, which reach the script as arrays of numbers:
// a missing ::text or ::bigint cast in the suite's SQL fails here too.
import { Buffer } from "node:buffer";
import { call } from "./runtime.ts";
import type { SqlReply } from "./io.ts";

export const driver = Object.freeze({ driver: "postgres" });

const NUMBERS = new Set([20, 21, 23, 700, 701]);
const STRINGS = new Set([18, 25, 1043]);
const TIMES = new Set([1082, 1083, 1114, 1184, 1266]);

/** What goja shows for a Go time.Time: an object, neither a string nor a Date. */
class GoTime {
  toString = () => "[object Object]";
  toJSON = () => ({});
}

function convert(type: number, text: string | null): unknown {
  if (text === null) return null;
  if (type === 16) return text === "t";
  if (NUMBERS.has(type)) return Number(text);
  if (STRINGS.has(type)) return text;
  if (TIMES.has(type)) return Object.freeze(new GoTime());
  return [...(type === 17 && text.startsWith("\\x") ? Buffer.from(text.slice(2), "hex") : Buffer.from(text, "utf8"))];
}

let nextDb = 1;

function open(given: unknown, url: string) {
  if (given !== driver) throw new Error("sql.open(): the first argument must be a driver imported from k6/x/sql/driver/<name>");
  if (!/^postgres(ql)?:\/\//.test(url)) throw new Error(`pq: invalid connection protocol: ${String(url).split(":")[0]}`);
  // database/sql connects lazily: a wrong password or missing TLS shows on the first query.
  const db = nextDb++;
  const run = (text: string, args: unknown[]) => {
    const reply = call<SqlReply>({ io: "sql", db, url, text, args });
    if ("error" in reply) throw new Error(reply.error);
    return reply;
  };
  return {
    query(text: string, ...args: unknown[]): Record<string, unknown>[] {
      const { fields, rows } = run(text, args);
      return rows.map((row) => Object.fromEntries(fields.map(([name, type], i) => [name, convert(type, row[i] ?? null)])));
    },
    exec(text: string, ...args: unknown[]) {
      const n = run(text, args).rowCount;
      return { rowsAffected: () => n };
    },
    close: () => void call({ io: "sql-close", db }),
  };
}

export const sql = { open };
