// The k6 modules a script may require(), mapped to the doubles: what a plain k6 v0.49 offers, plus
// xk6-sql's two modules when the run simulates a k6 built with it. As in k6, require() answers a
// module's named exports (with `default`), or its default export alone when it has no other.
import * as k6 from "./k6.ts";
import * as crypto from "./crypto.ts";
import * as encoding from "./encoding.ts";
import * as execution from "./execution.ts";
import * as http from "./http.ts";
import * as metrics from "./metrics.ts";
import * as sql from "./sql.ts";
import { POSTGRES_DRIVER } from "./sql-driver-postgres.ts";

export function k6Modules(xk6Sql: boolean): Record<string, object> {
  return {
    k6,
    "k6/crypto": crypto,
    "k6/encoding": encoding,
    "k6/execution": execution,
    "k6/http": http,
    "k6/metrics": metrics,
    ...(xk6Sql ? { "k6/x/sql": sql, "k6/x/sql/driver/postgres": POSTGRES_DRIVER } : {}),
  };
}
