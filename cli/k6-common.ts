// What `npm run load` and `npm run cloud` share before k6 starts: reading the bundle argument, checking
// the environment with the same rules the bundle applies at init, and locating k6, each failing with
// one message and its exit code (EXIT.USAGE, EXIT.REFUSED for the guard, EXIT.MISSING_TOOL for no k6).
import { BUNDLE_NAMES, BUNDLES, isBundleName, type BundleName } from "../lib/bundles.ts";
import { formatConfigProblems, parseConfig, type LoadConfig } from "../lib/config.ts";
import { CliExit } from "./exit.ts";
import { EXIT } from "./exit-codes.ts";
import { guardRefusal } from "./k6-guard.ts";
import { findK6, k6Info, k6MissingMessage, type K6Info } from "./k6-binary.ts";

export function usage(command: string): string {
  const lines = BUNDLE_NAMES.map((b) => `  ${b.padEnd(14)} profile ${BUNDLES[b].profile}, scenario ${BUNDLES[b].scenario}`);
  return `usage: npm run ${command} -- <bundle> [extra k6 flags]\nbundles:\n${lines.join("\n")}`;
}

export function parseBundleArg(argv: readonly string[], command: string): { bundle: BundleName; extra: string[] } {
  const [name, ...extra] = argv;
  if (!name || name === "--help" || name === "-h") throw new CliExit(usage(command), EXIT.USAGE);
  if (!isBundleName(name)) throw new CliExit(`liventix-load: unknown bundle "${name}"\n${usage(command)}`, EXIT.USAGE);
  return { bundle: name, extra };
}

export function checkGuard(bundle: BundleName, env: NodeJS.ProcessEnv): void {
  const refusal = guardRefusal(bundle, env.SUPABASE_URL, env.LOAD_ALLOW_HOSTS);
  if (refusal) throw new CliExit(refusal, EXIT.REFUSED);
}

export function checkConfig(env: NodeJS.ProcessEnv, sqlTeardown: boolean): LoadConfig {
  const result = parseConfig(env, { sqlTeardown });
  if (!result.ok) throw new CliExit(formatConfigProblems(result.problems), EXIT.USAGE);
  return result.config;
}

export function requireK6(env: NodeJS.ProcessEnv): { bin: string; info: K6Info } {
  const bin = findK6(env);
  if (bin === null) throw new CliExit(k6MissingMessage(), EXIT.MISSING_TOOL);
  return { bin, info: k6Info(bin) };
}
