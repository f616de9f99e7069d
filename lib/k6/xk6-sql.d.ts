// Types for the xk6-sql extension (v1 API), which has no published typings; only the calls the SQL
// teardown uses. The driver's type trap: lib/pq hands numeric, uuid,
// json(b) and timestamp columns over as bytes or opaque objects, not text, so every query casts its columns in SQL.
declare module "k6/x/sql" {
  export interface Database {
    query(query: string, ...args: unknown[]): Record<string, unknown>[];
    exec(query: string, ...args: unknown[]): unknown;
    close(): void;
  }
  const sql: { open(driver: unknown, connectionString: string): Database };
  export default sql;
}
declare module "k6/x/sql/driver/postgres" {
  const driver: unknown;
  export default driver;
}
