// PostgREST's `POST /rest/v1/rpc/<fn>` for the few functions the load-test tools call, so that
// `supabase.rpc(...)` works against the embedded target unchanged. Argument names and types are read
// from pg_proc at startup (the SQL stays the single source of truth); only allow-listed functions exist.
import type pg from "pg";
import type { Db } from "./db.ts";
import { apiError, invalidRequest, type FieldProblem } from "./http-errors.ts";

const RPC_FUNCTIONS = [
  "load_test_setup",
  "load_test_invariants",
  "load_test_capacity",
  "cleanup_expired_holds",
  "settle_tier_counters",
  "tier_inventory",
] as const;

interface Arg {
  name: string;
  type: string;
  required: boolean;
}

export interface RpcFunction {
  name: string;
  args: Arg[];
  setReturning: boolean;
}

interface ProcRow {
  proname: string;
  proretset: boolean;
  arg_names: string[];
  arg_types: string[];
  pronargdefaults: number;
}

// Input arguments only: proargnames also lists the OUT/TABLE columns, marked in proargmodes.
const INTROSPECT = `
  SELECT p.proname, p.proretset, p.pronargdefaults,
         ARRAY(SELECT a.name FROM unnest(coalesce(p.proargnames, '{}'),
                                 coalesce(p.proargmodes, array_fill('i'::"char", ARRAY[cardinality(coalesce(p.proargnames, '{}'))])))
                          WITH ORDINALITY AS a(name, mode, i)
                WHERE a.mode IN ('i', 'b', 'v') ORDER BY a.i) AS arg_names,
         ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS x(t, i) ORDER BY x.i) AS arg_types
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname = 'public' AND p.proname = ANY($1::text[])`;

export async function loadRpcFunctions(db: Db): Promise<Map<string, RpcFunction>> {
  const rows = await db.transaction<ProcRow>(INTROSPECT, [RPC_FUNCTIONS]);
  const functions = new Map<string, RpcFunction>();
  for (const row of rows) {
    const firstOptional = row.arg_types.length - row.pronargdefaults;
    functions.set(row.proname, {
      name: row.proname,
      setReturning: row.proretset,
      args: row.arg_types.map((type, i) => ({ name: row.arg_names[i] ?? `$${i + 1}`, type, required: i < firstOptional })),
    });
  }
  return functions;
}

// Whole-number arguments are checked here, so that an out-of-range value is refused naming its argument
// rather than by PostgreSQL's anonymous "integer out of range".
const INTEGER_RANGES: Record<string, [bigint, bigint]> = {
  smallint: [-(2n ** 15n), 2n ** 15n - 1n],
  integer: [-(2n ** 31n), 2n ** 31n - 1n],
  bigint: [-(2n ** 63n), 2n ** 63n - 1n],
};

function integerProblem(value: unknown, type: string): string | null {
  const range = INTEGER_RANGES[type];
  if (!range || value === null) return null;
  const whole = typeof value === "number" ? Number.isSafeInteger(value) : typeof value === "string" && /^-?\d{1,20}$/.test(value);
  const n = whole ? BigInt(value as number | string) : null;
  return n !== null && n >= range[0] && n <= range[1] ? null : `must be a whole number from ${range[0]} to ${range[1]} (${type})`;
}

function toParam(value: unknown, type: string): unknown {
  if (value === null) return null;
  if (type === "jsonb" || type === "json") return JSON.stringify(value);
  return typeof value === "object" && !Array.isArray(value) ? JSON.stringify(value) : value;
}

/** `SELECT ... FROM fn(p_a => $1::type, ...)` for the named arguments given, refusing unknown ones. */
function buildCall(fn: RpcFunction, args: unknown): { sql: string; params: unknown[] } {
  if (args === null || typeof args !== "object" || Array.isArray(args)) {
    throw invalidRequest([
      { field: "(body)", problem: 'send the arguments as a JSON object of named arguments, e.g. {"p_event_id": "…"}' },
    ]);
  }
  const given = args as Record<string, unknown>;
  const known = new Map(fn.args.map((a) => [a.name, a]));
  const problems: FieldProblem[] = [];
  for (const name of Object.keys(given)) {
    if (!known.has(name)) {
      problems.push({
        field: name,
        problem: `unknown argument of ${fn.name}; it takes ${fn.args.map((a) => a.name).join(", ") || "none"}`,
      });
    }
  }
  for (const arg of fn.args) {
    const value = given[arg.name];
    if (arg.required && value === undefined) problems.push({ field: arg.name, problem: `required (${arg.type})` });
    if (typeof value === "string" && value.includes("\0"))
      problems.push({ field: arg.name, problem: "text may not contain NUL (\\u0000)" });
    const badInteger = value === undefined ? null : integerProblem(value, arg.type);
    if (badInteger) problems.push({ field: arg.name, problem: badInteger });
  }
  if (problems.length > 0) throw invalidRequest(problems);
  const params: unknown[] = [];
  const named = fn.args
    .filter((a) => given[a.name] !== undefined)
    .map((a) => {
      params.push(toParam(given[a.name], a.type));
      return `${a.name} => $${params.length}::${a.type}`;
    });
  const call = `public.${fn.name}(${named.join(", ")})`;
  return { sql: fn.setReturning ? `SELECT * FROM ${call}` : `SELECT ${call} AS result`, params };
}

export async function callRpc(db: Db, functions: Map<string, RpcFunction>, name: string, args: unknown): Promise<unknown> {
  const fn = functions.get(name);
  if (!fn) throw apiError("NOT_FOUND", `no callable function "${name}"; the API exposes ${RPC_FUNCTIONS.join(", ")}`);
  const { sql, params } = buildCall(fn, args);
  const rows = await db.transaction<pg.QueryResultRow>(sql, params);
  return fn.setReturning ? rows : (rows[0]?.result ?? null);
}
