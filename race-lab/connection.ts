// Hands a database URL to the PostgreSQL command-line tools (pgbench, psql) without putting the password
// on their command line, where `ps` and error messages would show it: the password travels in PGPASSWORD.
import { InvalidDatabaseUrlError } from "./errors.ts";

export interface ToolConnection {
  /** The URL minus its password: safe to pass as an argument. */
  url: string;
  env: NodeJS.ProcessEnv;
}

export function toolConnection(databaseUrl: string, extraEnv: NodeJS.ProcessEnv = {}): ToolConnection {
  let parsed: URL;
  try {
    parsed = new URL(databaseUrl);
  } catch {
    throw new InvalidDatabaseUrlError("DATABASE_URL must be a URL like postgresql://user:password@host:5432/postgres");
  }
  if (parsed.protocol !== "postgresql:" && parsed.protocol !== "postgres:") {
    throw new InvalidDatabaseUrlError("DATABASE_URL must start with postgresql:// (or postgres://)");
  }
  const password = decodeURIComponent(parsed.password);
  parsed.password = "";
  const env: NodeJS.ProcessEnv = { ...process.env, ...extraEnv };
  if (password) env.PGPASSWORD = password;
  return { url: parsed.toString(), env };
}
