// Finds the k6 binary and what it can do, and explains how to get one when it is missing: the load and
// cloud CLIs fail with one clear message and EXIT.MISSING_TOOL instead of a spawn ENOENT.
import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import path from "node:path";

export const XK6_BUILD_LINE =
  "xk6 build v1.8.1 --with github.com/grafana/xk6-sql@v1.0.6 --with github.com/grafana/xk6-sql-driver-postgres@v0.1.2";

export function k6MissingMessage(): string {
  return [
    "liventix-load: k6 is not installed (no `k6` on PATH and K6_BINARY is not set).",
    "Install it, then run the same command again:",
    "  - macOS: brew install k6",
    "  - Debian/Ubuntu: see https://grafana.com/docs/k6/latest/set-up/install-k6/ (apt repository), or",
    "  - any OS: download a release from https://github.com/grafana/k6/releases and put `k6` on PATH.",
    "For the SQL teardown (dist/sql bundles, reads invariants over DATABASE_URL) build k6 with xk6-sql:",
    "  go install go.k6.io/xk6/cmd/xk6@latest",
    `  ${XK6_BUILD_LINE}`,
    "  export K6_BINARY=$PWD/k6",
  ].join("\n");
}

/** The k6 to run: K6_BINARY when set, else the first executable `k6` on PATH; null when none. */
export function findK6(env: NodeJS.ProcessEnv = process.env): string | null {
  const candidates = env.K6_BINARY
    ? [env.K6_BINARY]
    : (env.PATH ?? "")
        .split(path.delimiter)
        .filter(Boolean)
        .map((dir) => path.join(dir, process.platform === "win32" ? "k6.exe" : "k6"));
  for (const file of candidates) {
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here; try the next
    }
  }
  return null;
}

export interface K6Info {
  version: string;
  major: number;
  /** The binary was built with xk6-sql, so dist/sql bundles can run. */
  sql: boolean;
}

export function parseK6Version(output: string): K6Info {
  const m = /\bk6 v?(\d+)\.(\d+)\.(\d+)/.exec(output);
  return {
    version: m ? `${m[1]}.${m[2]}.${m[3]}` : "unknown",
    major: m ? Number(m[1]) : 0,
    sql: /xk6-sql|k6\/x\/sql/i.test(output),
  };
}

export function k6Info(bin: string): K6Info {
  const res = spawnSync(bin, ["version"], { encoding: "utf8", timeout: 15_000 });
  return parseK6Version(`${res.stdout ?? ""}\n${res.stderr ?? ""}`);
}
