// What Supabase's API roles can reach. On a hosted project anon and authenticated get EXECUTE on every new
// function in public and ALL on every new table by default, so a migration that only revokes from PUBLIC
// leaves complete_payment callable with the public anon key. These items find that on a live project and
// give the SQL that closes it (the same as supabase/migrations/20261201000000_api_privileges.sql).
import type pg from "pg";
import { SQL_FUNCTIONS, SQL_TABLES } from "../lib/sql-functions.ts";
import type { ReadinessItem } from "./readiness.ts";

const API_ROLES = ["anon", "authenticated"];
const TABLE_PRIVILEGES = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"];

interface ExecutableRow {
  role: string;
  fn: string;
  name: string;
  security_definer: boolean;
}

interface TableRow {
  table: string;
  rls: boolean;
  grants: string[];
}

function byRole(rows: ExecutableRow[]): string {
  return API_ROLES.map((role) => {
    const names = rows.filter((r) => r.role === role).map((r) => r.name);
    return names.length ? `${role} can execute ${names.join(", ")}` : "";
  })
    .filter(Boolean)
    .join("; ");
}

function revokeFunctions(rows: ExecutableRow[], roles: string[]): string {
  const fns = [...new Set(rows.map((r) => r.fn))].sort();
  return `REVOKE ALL ON FUNCTION ${fns.join(", ")} FROM PUBLIC, ${roles.join(", ")};`;
}

export async function apiRoleItems(client: pg.Client): Promise<ReadinessItem[]> {
  const roles = (
    await client.query<{ rolname: string }>("SELECT rolname FROM pg_roles WHERE rolname = ANY ($1) ORDER BY rolname", [API_ROLES])
  ).rows.map((r) => r.rolname);
  const functionsName = "API roles cannot execute the suite's functions";
  const tablesName = "suite tables closed to API roles (RLS on, no grants)";
  const othersName = "other SECURITY DEFINER functions closed to API roles";
  if (roles.length === 0) {
    const observed = "no anon or authenticated role: not a Supabase project, no API role to check";
    return [functionsName, tablesName, othersName].map((name) => ({ name, status: "pass", observed, fix: "", required: true }));
  }

  // Trigger functions are left out: they cannot be called, only fired, whatever their EXECUTE grants.
  const executable = (
    await client.query<ExecutableRow>(
      `SELECT r.rolname AS role, format('%I.%I(%s)', n.nspname, p.proname, oidvectortypes(p.proargtypes)) AS fn,
              p.proname AS name, p.prosecdef AS security_definer
         FROM pg_proc p
         JOIN pg_namespace n ON n.oid = p.pronamespace
        CROSS JOIN pg_roles r
        WHERE n.nspname = 'public' AND r.rolname = ANY ($1)
          AND p.prokind = 'f' AND p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype)
          AND has_function_privilege(r.oid, p.oid, 'EXECUTE')
        ORDER BY p.proname, r.rolname`,
      [roles],
    )
  ).rows;
  const ours = executable.filter((r) => SQL_FUNCTIONS.includes(r.name));
  const others = executable.filter((r) => !SQL_FUNCTIONS.includes(r.name) && r.security_definer);

  const tables = (
    await client.query<TableRow>(
      `SELECT c.relname AS table, c.relrowsecurity AS rls,
              ARRAY(SELECT r.rolname || ' ' || pr FROM pg_roles r CROSS JOIN unnest($3::text[]) AS pr
                     WHERE r.rolname = ANY ($2) AND has_table_privilege(r.oid, c.oid, pr)) AS grants
         FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND c.relname = ANY ($1)
        ORDER BY c.relname`,
      [SQL_TABLES, roles, TABLE_PRIVILEGES],
    )
  ).rows;
  const noRls = tables.filter((t) => !t.rls);
  const granted = tables.filter((t) => t.grants.length > 0);

  return [
    ours.length === 0
      ? { name: functionsName, status: "pass", observed: `${roles.join(" and ")} can execute none of them`, fix: "", required: true }
      : { name: functionsName, status: "fail", observed: byRole(ours), fix: revokeFunctions(ours, roles), required: true },
    noRls.length === 0 && granted.length === 0
      ? {
          name: tablesName,
          status: "pass",
          observed: `${tables.length} tables: RLS on, no privileges for ${roles.join(" or ")}`,
          fix: "",
          required: true,
        }
      : {
          name: tablesName,
          status: "fail",
          observed: [...noRls.map((t) => `${t.table}: RLS off`), ...granted.map((t) => `${t.table}: ${t.grants.join(", ")}`)].join("; "),
          fix: [
            ...noRls.map((t) => `ALTER TABLE public.${t.table} ENABLE ROW LEVEL SECURITY;`),
            ...(granted.length
              ? [`REVOKE ALL ON TABLE ${granted.map((t) => `public.${t.table}`).join(", ")} FROM PUBLIC, ${roles.join(", ")};`]
              : []),
          ].join(" "),
          required: true,
        },
    // Another function of the project's own may be meant for browsers; only its author knows, so a warning.
    others.length === 0
      ? { name: othersName, status: "pass", observed: "none in public", fix: "", required: false }
      : {
          name: othersName,
          status: "warn",
          observed: byRole(others),
          fix: `${revokeFunctions(others, roles)} -- unless browsers are meant to call them`,
          required: false,
        },
  ];
}
