// Types for the xk6-sql extension (v1 API), which has no published typings; only the calls the SQL
// teardown uses. See /work/shared/k6-runtime.md for the type trap: cast every column in SQL.
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
