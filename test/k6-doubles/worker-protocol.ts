// Messages between the synchronous doubles (main thread of the simulated k6) and io-worker.ts.

export interface HttpRequestSpec {
  method: string;
  url: string;
  headers: Record<string, string>;
  /** Base64 of the request body bytes, or null for none. */
  body: string | null;
  timeoutMs: number;
  binary: boolean;
}

export interface HttpResult {
  status: number;
  statusText: string;
  proto: string;
  headers: [string, string][];
  /** Text, or base64 when the request asked for binary. */
  body: string;
  remoteIp: string;
  remotePort: number;
  error: string;
  errorCode: number;
  timings: { blocked: number; connecting: number; sending: number; waiting: number; receiving: number };
  bytesSent: number;
  bytesReceived: number;
}

export interface SqlField {
  name: string;
  dataTypeID: number;
}

export type WorkerRequest =
  /** limits: http.batch()'s parallelism caps (k6 options batch / batchPerHost; 0 = no cap); absent for one request. */
  | { op: "http"; requests: HttpRequestSpec[]; limits?: { total: number; perHost: number } }
  | { op: "sql-query"; db: number; url: string; text: string; args: unknown[] }
  | { op: "sql-close"; db: number };

export type WorkerReply =
  | { op: "http"; results: HttpResult[] }
  | { op: "sql-query"; ok: true; fields: SqlField[]; rows: (string | null)[][]; rowCount: number; command: string }
  | { op: "sql-query"; ok: false; message: string }
  | { op: "sql-close"; ok: true };
