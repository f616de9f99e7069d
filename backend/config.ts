// The target's settings: their defaults, and how a command reads them from its environment, validated,
// so a typo in TARGET_POOL_SIZE or a short JWT_SECRET stops startup with a message naming the variable
// and the fix, instead of failing later mid-load. Only the commands (cli/*.ts)
// call configFromEnv; everything below them takes its settings as arguments and never reads process.env.
import { z } from "zod";
import { LOCAL_API_PORT, LOCAL_DB_PORT, LOCAL_JWT_SECRET, LOCAL_WEBHOOK_SECRET } from "../lib/local-target.ts";

/** The isolation levels a transaction can ask PostgreSQL for; the target and the race lab accept the same ones. */
export const ISOLATIONS = ["read_committed", "repeatable_read", "serializable"] as const;
export type Isolation = (typeof ISOLATIONS)[number];
type LogLevel = "info" | "debug";

export interface TargetConfig {
  /** Use this server (migrated on start) instead of starting the embedded one. */
  databaseUrl: string | undefined;
  port: number;
  dbPort: number;
  dataDir: string;
  isolation: Isolation;
  poolSize: number;
  /** How long a request waits for a connection (a free one, or a new one connecting) before 503. */
  poolTimeoutMs: number;
  maxRetries: number;
  /** Client-side bound of one round trip: past it the connection is destroyed and the request answers 503. */
  queryTimeoutMs: number;
  /** Server-side statement_timeout of every transaction (PostgreSQL cancels, the connection survives). */
  statementTimeoutMs: number;
  /** Server-side lock_timeout of every transaction. */
  lockTimeoutMs: number;
  cleanupIntervalMs: number;
  /** How often that timer also settles bucketed tiers' counters (at its first tick this long after the last settle). */
  settleIntervalMs: number;
  /** Stored Idempotency-Key outcomes older than this are deleted by the cleanup timer. */
  idempotencyTtlSeconds: number;
  logLevel: LogLevel;
  jwtSecret: string;
  webhookSecret: string;
}

export const DEFAULTS: Omit<TargetConfig, "databaseUrl"> = {
  port: LOCAL_API_PORT,
  dbPort: LOCAL_DB_PORT,
  dataDir: ".data/postgres",
  isolation: "read_committed",
  poolSize: 20,
  poolTimeoutMs: 2000,
  maxRetries: 8,
  // Pool wait + one round trip stays under 5 s: what a frozen database costs a request at most.
  queryTimeoutMs: 2500,
  statementTimeoutMs: 2000,
  lockTimeoutMs: 1500,
  cleanupIntervalMs: 10_000,
  // pg_cron's 'liventix-settle-tier-counters' runs every minute: a settle fails the SERIALIZABLE writers of
  // the tier in flight at that instant, so the target settles no more often than a Supabase project does.
  settleIntervalMs: 60_000,
  // The same retention as the pg_cron job's cleanup_idempotency_keys() default.
  idempotencyTtlSeconds: 86_400,
  logLevel: "info",
  jwtSecret: LOCAL_JWT_SECRET,
  webhookSecret: LOCAL_WEBHOOK_SECRET,
};

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

const ENV = z
  .object({
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\/\S+$/, "must be a connection string like postgresql://user:password@host:5432/db")
      .optional(),
    TARGET_PORT: wholeNumber(0, 65535, DEFAULTS.port),
    TARGET_DB_PORT: wholeNumber(0, 65535, DEFAULTS.dbPort),
    TARGET_DATA_DIR: z.string().min(1).default(DEFAULTS.dataDir),
    TARGET_ISOLATION: z
      .enum(ISOLATIONS, { errorMap: () => ({ message: `must be one of ${ISOLATIONS.join(", ")}` }) })
      .default(DEFAULTS.isolation),
    TARGET_POOL_SIZE: wholeNumber(1, 500, DEFAULTS.poolSize),
    TARGET_POOL_TIMEOUT_MS: wholeNumber(10, 600_000, DEFAULTS.poolTimeoutMs),
    TARGET_MAX_RETRIES: wholeNumber(0, 50, DEFAULTS.maxRetries),
    TARGET_QUERY_TIMEOUT_MS: wholeNumber(100, 600_000, DEFAULTS.queryTimeoutMs),
    TARGET_STATEMENT_TIMEOUT_MS: wholeNumber(10, 600_000, DEFAULTS.statementTimeoutMs),
    TARGET_LOCK_TIMEOUT_MS: wholeNumber(10, 600_000, DEFAULTS.lockTimeoutMs),
    TARGET_CLEANUP_INTERVAL_MS: wholeNumber(100, 86_400_000, DEFAULTS.cleanupIntervalMs),
    TARGET_SETTLE_INTERVAL_MS: wholeNumber(100, 86_400_000, DEFAULTS.settleIntervalMs),
    TARGET_IDEMPOTENCY_TTL_S: wholeNumber(1, 31_536_000, DEFAULTS.idempotencyTtlSeconds),
    TARGET_LOG_LEVEL: z.enum(["info", "debug"], { errorMap: () => ({ message: 'must be "info" or "debug"' }) }).default(DEFAULTS.logLevel),
    JWT_SECRET: z.string().min(32, "must be at least 32 characters (HS256 signing secret)").default(DEFAULTS.jwtSecret),
    WEBHOOK_SECRET: z.string().min(16, "must be at least 16 characters").default(DEFAULTS.webhookSecret),
  })
  .superRefine((e, ctx) => {
    // The server's own cancel must come first: it leaves the connection usable, the client's bound does not.
    if (e.TARGET_STATEMENT_TIMEOUT_MS >= e.TARGET_QUERY_TIMEOUT_MS) {
      ctx.addIssue({
        code: "custom",
        path: ["TARGET_STATEMENT_TIMEOUT_MS"],
        message: `must be below TARGET_QUERY_TIMEOUT_MS (${e.TARGET_QUERY_TIMEOUT_MS})`,
      });
    }
    if (e.TARGET_LOCK_TIMEOUT_MS > e.TARGET_STATEMENT_TIMEOUT_MS) {
      ctx.addIssue({
        code: "custom",
        path: ["TARGET_LOCK_TIMEOUT_MS"],
        message: `must not exceed TARGET_STATEMENT_TIMEOUT_MS (${e.TARGET_STATEMENT_TIMEOUT_MS})`,
      });
    }
  });

type EnvName = keyof z.infer<typeof ENV>;
const NAMES: EnvName[] = Object.keys(ENV.innerType().shape) as EnvName[];

/** Parses the target's variables out of `env`; empty values count as unset. Throws ConfigError. */
export function configFromEnv(env: NodeJS.ProcessEnv): TargetConfig {
  const input: Partial<Record<EnvName, string>> = {};
  for (const name of NAMES) {
    const value = env[name]?.trim();
    if (value) input[name] = value;
  }
  const parsed = ENV.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]) as EnvName;
      // Secrets and connection strings are never echoed back, only named.
      const shown = name === "DATABASE_URL" || name === "JWT_SECRET" || name === "WEBHOOK_SECRET" ? "" : `=${input[name] ?? "(default)"}`;
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
    queryTimeoutMs: e.TARGET_QUERY_TIMEOUT_MS,
    statementTimeoutMs: e.TARGET_STATEMENT_TIMEOUT_MS,
    lockTimeoutMs: e.TARGET_LOCK_TIMEOUT_MS,
    cleanupIntervalMs: e.TARGET_CLEANUP_INTERVAL_MS,
    settleIntervalMs: e.TARGET_SETTLE_INTERVAL_MS,
    idempotencyTtlSeconds: e.TARGET_IDEMPOTENCY_TTL_S,
    logLevel: e.TARGET_LOG_LEVEL,
    jwtSecret: e.JWT_SECRET,
    webhookSecret: e.WEBHOOK_SECRET,
  };
}

/** The settings that tune a target, without where it lives: for commands that start a private one on free ports. */
export function tuning(config: TargetConfig): Omit<TargetConfig, "port" | "dbPort" | "dataDir"> {
  const { port: _port, dbPort: _dbPort, dataDir: _dataDir, ...rest } = config;
  return rest;
}
