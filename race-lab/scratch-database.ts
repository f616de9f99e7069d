// Disposable databases on one server, cloned from a migrated template in a fraction of a second: how the
// tests give every planted fault a database of its own without starting a server per fault.
import pg from "pg";
import { migrate } from "../backend/migrate.ts";

function withDatabase(serverUrl: string, database: string): string {
  const u = new URL(serverUrl);
  u.pathname = `/${database}`;
  return u.toString();
}

async function admin(serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

/** Creates and migrates `name` once; later clones copy it instead of migrating again. */
export async function createTemplate(serverUrl: string, name: string): Promise<string> {
  if (!IDENT.test(name)) throw new Error(`template name "${name}" must be a lower-case SQL identifier`);
  await admin(serverUrl, `CREATE DATABASE ${name}`);
  const url = withDatabase(serverUrl, name);
  await migrate(url);
  return url;
}

/** A fresh database cloned from the template (which must have no open connections). */
export async function cloneDatabase(serverUrl: string, template: string, name: string): Promise<string> {
  if (!IDENT.test(name) || !IDENT.test(template)) throw new Error("database names must be lower-case SQL identifiers");
  await admin(serverUrl, `CREATE DATABASE ${name} TEMPLATE ${template}`);
  return withDatabase(serverUrl, name);
}
