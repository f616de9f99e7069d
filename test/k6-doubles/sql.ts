// Double of xk6-sql v1 (`k6/x/sql`): sql.open(driver, url) → db with query/exec/close, synchronous,
// backed by a real PostgreSQL through the I/O worker. Values come back the way lib/pq hands them to
// xk6-sql (see pq-types.ts), so a missing ::text / ::bigint cast in the suite's SQL fails here too.
import { callSync } from "./sync.ts";
import { POSTGRES_DRIVER } from "./sql-driver-postgres.ts";
import { convertRow } from "./pq-types.ts";
import { runtime } from "./runtime.ts";

let nextDb = 1;

interface Result {
  rowsAffected(): number;
  lastInsertId(): number;
}

function checkArgs(args: unknown[]): void {
  args.forEach((arg, i) => {
    const ok = arg === null || ["string", "number", "boolean"].includes(typeof arg);
    if (!ok) {
      const kind = Array.isArray(arg) ? "[]interface {}" : typeof arg === "object" ? "map[string]interface {}" : typeof arg;
      throw new Error(`sql: converting argument $${i + 1} type: unsupported type ${kind}`);
    }
  });
}

class Database {
  private closed = false;
  private readonly id = nextDb++;

  constructor(private readonly url: string) {}

  private run(text: string, args: unknown[]) {
    if (this.closed) throw new Error("sql: database is closed");
    if (typeof text !== "string") throw new TypeError("query must be a string");
    checkArgs(args);
    const reply = callSync({ op: "sql-query", db: this.id, url: this.url, text, args });
    if (reply.op !== "sql-query") throw new Error("the I/O worker answered a query with " + reply.op);
    if (!reply.ok) throw new Error(reply.message);
    return reply;
  }

  query(text: string, ...args: unknown[]): Record<string, unknown>[] {
    const reply = this.run(text, args);
    return reply.rows.map((row) => convertRow(reply.fields, row));
  }

  exec(text: string, ...args: unknown[]): Result {
    const reply = this.run(text, args);
    return {
      rowsAffected: () => reply.rowCount,
      lastInsertId: () => {
        throw new Error("LastInsertId is not supported by this driver");
      },
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    callSync({ op: "sql-close", db: this.id });
  }
}

function open(driver: unknown, connectionString: string): Database {
  if (driver !== POSTGRES_DRIVER) {
    throw new Error("sql.open(): the first argument must be a driver imported from k6/x/sql/driver/<name>");
  }
  if (runtime.stage === "summary") throw new Error("sql.open() is not available in handleSummary");
  if (typeof connectionString !== "string" || connectionString === "") {
    // lib/pq would try its defaults (localhost:5432, user from the OS); nothing sensible to model.
    throw new Error("sql.open(): the connection string is empty");
  }
  if (!/^postgres(ql)?:\/\//.test(connectionString)) {
    throw new Error(`pq: invalid connection protocol: ${connectionString.split(":")[0]}`);
  }
  // database/sql connects lazily: errors (wrong password, SSL) surface on the first query.
  return new Database(connectionString);
}

export default { open };
export { open };
