// Reads the target's environment once, validated, so a typo in TARGET_POOL_SIZE or a short JWT_SECRET
// stops startup with a message naming the variable and the fix, instead of failing later mid-load.
import { z } from "zod";
import { LOCAL_API_PORT, LOCAL_DB_PORT, LOCAL_JWT_SECRET, LOCAL_WEBHOOK_SECRET } from "../lib/local-target.ts";

export type Isolation = "read_committed" | "serializable";

export interface TargetConfig {
  databaseUrl: string | undefined;
  port: number;
  dbPort: number;
  dataDir: string;
  isolation: Isolation;
  poolSize: number;
  poolTimeoutMs: number;
  maxRetries: number;
  cleanupIntervalMs: number;
  jwtSecret: string;
  webhookSecret: string;
}

/** A configuration value the target cannot run with; `message` says which variable and how to fix it. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const wholeNumber = (min: number, max: number, fallback: number) =>
  z.coerce
    .number({ invalid_type_error: `must be a whole number from ${min} to ${max}` })
    .int(`must be a whole number from ${min} to ${max}`)
    .min(min, `must be a whole number from ${min} to ${max}`)
    .max(max, `must be a whole number from ${min} to ${max}`)
    .default(fallback);

const ENV = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/\S+$/, "must be a connection string like postgresql://user:password@host:5432/db")
    .optional(),
  TARGET_PORT: wholeNumber(0, 65535, LOCAL_API_PORT),
  TARGET_DB_PORT: wholeNumber(0, 65535, LOCAL_DB_PORT),
  TARGET_DATA_DIR: z.string().min(1).default(".data/postgres"),
  TARGET_ISOLATION: z
    .enum(["read_committed", "serializable"], {
      errorMap: () => ({ message: 'must be "read_committed" or "serializable"' }),
    })
    .default("read_committed"),
  TARGET_POOL_SIZE: wholeNumber(1, 500, 20),
  TARGET_POOL_TIMEOUT_MS: wholeNumber(10, 600_000, 2000),
  TARGET_MAX_RETRIES: wholeNumber(0, 50, 8),
  TARGET_CLEANUP_INTERVAL_MS: wholeNumber(100, 86_400_000, 10_000),
  JWT_SECRET: z.string().min(32, "must be at least 32 characters (HS256 signing secret)").default(LOCAL_JWT_SECRET),
  WEBHOOK_SECRET: z.string().min(16, "must be at least 16 characters").default(LOCAL_WEBHOOK_SECRET),
});

type EnvName = keyof typeof ENV.shape;

/** Parses the target's variables out of `env`; empty values count as unset. Throws ConfigError. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): TargetConfig {
  const input: Partial<Record<EnvName, string>> = {};
  for (const name of Object.keys(ENV.shape) as EnvName[]) {
    const value = env[name]?.trim();
    if (value) input[name] = value;
  }
  const parsed = ENV.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]) as EnvName;
      // Secrets and connection strings are never echoed back, only named.
      const shown = name === "DATABASE_URL" || name === "JWT_SECRET" || name === "WEBHOOK_SECRET" ? "" : `=${input[name]}`;
      return `  ${name}${shown}: ${issue.message}; fix it or unset it to use the default`;
    });
    throw new ConfigError(`invalid target configuration:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  return {
    databaseUrl: e.DATABASE_URL,
    port: e.TARGET_PORT,
    dbPort: e.TARGET_DB_PORT,
    dataDir: e.TARGET_DATA_DIR,
    isolation: e.TARGET_ISOLATION,
    poolSize: e.TARGET_POOL_SIZE,
    poolTimeoutMs: e.TARGET_POOL_TIMEOUT_MS,
    maxRetries: e.TARGET_MAX_RETRIES,
    cleanupIntervalMs: e.TARGET_CLEANUP_INTERVAL_MS,
    jwtSecret: e.JWT_SECRET,
    webhookSecret: e.WEBHOOK_SECRET,
  };
}
