// `npm run target`: the embedded default target in the foreground, with its data kept in
// .data/postgres between runs. Prints the variables every other command reads, and on Ctrl-C or
// SIGTERM takes everything down (HTTP server, cleanup timer, pool, PostgreSQL) before exiting.
import path from "node:path";
import { runCli } from "./exit.ts";
import { EXIT, signalExitCode } from "./exit-codes.ts";
import { redactText } from "../lib/redact.ts";
import { ConfigError, configFromEnv } from "../backend/config.ts";
import { startTarget } from "../backend/index.ts";

async function main(): Promise<number> {
  let config: ReturnType<typeof configFromEnv>;
  try {
    config = configFromEnv(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return EXIT.USAGE;
    }
    throw err;
  }
  const dataDir = path.resolve(config.dataDir);
  console.error(config.databaseUrl ? "target: using the database in DATABASE_URL" : `target: starting PostgreSQL with data in ${dataDir}`);
  const target = await startTarget({
    ...config,
    dataDir: config.databaseUrl ? undefined : dataDir,
    onLog: (line) => console.error(`target: ${line}`),
  });

  console.error(
    `target: API on ${target.url} (isolation ${target.isolation}, expired holds cleaned by ${target.cleanup})\n` +
      "target: paste these lines into the shell that runs the suite:",
  );
  console.log(`export SUPABASE_URL=${target.url}`);
  console.log(`export SUPABASE_ANON_KEY=${target.anonKey}`);
  console.log(`export SUPABASE_SERVICE_ROLE_KEY=${target.serviceRoleKey}`);
  // The local, loopback-only URL is printed on purpose; a DATABASE_URL the user gave stays theirs.
  console.log(
    target.databaseExternal ? `# DATABASE_URL unchanged (${redactText(target.databaseUrl)})` : `export DATABASE_URL=${target.databaseUrl}`,
  );
  console.error("target: ready; Ctrl-C stops it");

  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        console.error(`target: ${signal} again, exiting without waiting`);
        process.exit(signalExitCode(signal));
      }
      stopping = true;
      console.error(`target: ${signal}, stopping`);
      target.stop().then(
        () => {
          console.error("target: stopped");
          resolve(EXIT.OK);
        },
        (err: unknown) => {
          console.error(`target: stop failed: ${(err as Error).message}`);
          resolve(EXIT.ERROR);
        },
      );
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}

await runCli(main, { cliExit: "target: ", other: "target: " });
