// Shared by the race-lab tests: run one of the lab's commands as a user would (a child process, real exit
// code and output), and give each test a disposable database cloned from one migrated template.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { openDatabase, type Database } from "../../backend/database.ts";
import { cloneDatabase, createTemplate } from "../../race-lab/scratch-database.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `node --import tsx cli/<name>.ts args`; the database and project come only from `env` (never inherited). */
export function runCli(name: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): Promise<CliResult> {
  const {
    DATABASE_URL: _db,
    SUPABASE_URL: _url,
    SUPABASE_ANON_KEY: _anon,
    SUPABASE_SERVICE_ROLE_KEY: _service,
    ...inherited
  } = process.env;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", `cli/${name}.ts`, ...args], {
      cwd: ROOT,
      env: { ...inherited, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

export interface LabServer {
  db: Database;
  /** A fresh migrated database of its own; name must be a lower-case identifier, unique per server. */
  scratch(name: string): Promise<string>;
}

const TEMPLATE = "race_lab_template";

export async function startLabServer(): Promise<LabServer> {
  // The lab tests plant faults and drop indexes: on this private server only (openDatabase reads no environment).
  const db = await openDatabase({ port: 0, fast: true, migrate: false });
  await createTemplate(db.url, TEMPLATE);
  return { db, scratch: (name) => cloneDatabase(db.url, TEMPLATE, name) };
}
