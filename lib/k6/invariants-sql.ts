// Teardown's reader over SQL (xk6-sql), for projects where the REST RPCs are not exposed: connects to
// DATABASE_URL inside teardown only (no connection per VU), casts every column to a plain type (the
// postgres driver returns uuid/numeric/jsonb as bytes), and closes. Loopback URLs get sslmode=disable. Without DATABASE_URL it falls back
// to REST. Only the dist/sql bundles import this module.
import sql from "k6/x/sql";
import driver from "k6/x/sql/driver/postgres";
import { sqlDriverUrl } from "../pg-url.ts";
import { parseCapacity, parseInvariantRows } from "../teardown-checks.ts";
import type { InvariantSession, InvariantSource } from "./invariant-source.ts";
import { restSource } from "./invariants-rest.ts";

const INVARIANTS_SQL =
  "SELECT check_name::text AS check_name, passed::boolean AS passed, observed::text AS observed, detail::text AS detail " +
  "FROM load_test_invariants($1::uuid)";
const CAPACITY_SQL = "SELECT load_test_capacity($1::uuid)::text AS capacity";

export const sqlSource: InvariantSource = (cfg) => {
  if (cfg.databaseUrl === null) return restSource(cfg);
  let problem: string | null = null;
  let db: ReturnType<typeof sql.open> | null = null;
  try {
    db = sql.open(driver, sqlDriverUrl(cfg.databaseUrl));
  } catch (e) {
    problem = `could not connect to DATABASE_URL: ${String(e)}`;
  }
  const query = (text: string, eventId: string): Record<string, unknown>[] | null => {
    if (db === null) return null;
    try {
      return db.query(text, eventId);
    } catch (e) {
      problem = `SQL failed: ${String(e)}`;
      return null;
    }
  };
  const session: InvariantSession = {
    via: "SQL (DATABASE_URL)",
    invariants: (eventId) => parseInvariantRows(query(INVARIANTS_SQL, eventId)),
    capacity: (eventId) => {
      const rows = query(CAPACITY_SQL, eventId);
      return rows?.[0] ? parseCapacity(String(rows[0].capacity)) : null;
    },
    problem: () => problem,
    close: () => db?.close(),
  };
  return session;
};
