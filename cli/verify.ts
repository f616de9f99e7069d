// `npm run verify -- --event <id>`: the run's verdict from Node, for runs whose handleSummary never ran
// (k6 Cloud) or to re-check an event later. Calls load_test_invariants and load_test_capacity through
// supabase-js rpc() with the service role key, adds the suite's capacity checks, prints the same tables
// as the k6 summary and exits 1 on any violation (cli/exit-codes.ts has the others).
import { createClient } from "@supabase/supabase-js";
import { parseArgs } from "node:util";
import { configSecrets, redactText } from "../lib/redact.ts";
import { rowsToOutcomes } from "../lib/summary-model.ts";
import { renderCapacitySection, renderInvariantSection } from "../lib/summary-text.ts";
import { capacityChecks, parseCapacity, parseInvariantRows } from "../lib/teardown-checks.ts";
import { CliExit, runCli } from "./exit.ts";
import { EXIT } from "./exit-codes.ts";
import { checkConfig } from "./k6-common.ts";

class NeverConnect {
  constructor() {
    throw new Error("verify does not use realtime");
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function main(): Promise<number> {
  let eventId: string | undefined;
  try {
    eventId = parseArgs({ options: { event: { type: "string" } }, allowPositionals: false }).values.event;
  } catch (e) {
    throw new CliExit(`liventix-load verify: ${(e as Error).message}\nusage: npm run verify -- --event <event uuid>`, EXIT.USAGE);
  }
  if (!eventId || !UUID.test(eventId)) {
    throw new CliExit("liventix-load verify: --event must be the event's uuid (printed by the run's setup/teardown)\nusage: npm run verify -- --event <event uuid>", EXIT.USAGE);
  }
  const cfg = checkConfig(process.env, false);
  if (cfg.serviceRoleKey === null) throw new CliExit("liventix-load verify: SUPABASE_SERVICE_ROLE_KEY is required to call load_test_invariants", EXIT.USAGE);
  const secrets = configSecrets(cfg);
  const supabase = createClient(cfg.supabaseUrl, cfg.serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    // supabase-js builds a realtime client eagerly and, on Node 20, refuses to without a WebSocket;
    // verify never subscribes, so a transport that is never constructed satisfies it.
    realtime: { transport: NeverConnect as never },
  });

  const call = async (fn: string) => {
    const { data, error } = await supabase.rpc(fn, { p_event_id: eventId });
    if (error) {
      const unreachable = /fetch failed|ECONNREFUSED|ENOTFOUND|network/i.test(`${error.message} ${error.details ?? ""}`);
      const hint = unreachable && cfg.loopback ? " Start the embedded target first: npm run target." : "";
      throw new CliExit(redactText(`liventix-load verify: ${fn} failed: ${error.message}.${hint}`, secrets), unreachable ? EXIT.UNREACHABLE : EXIT.ERROR);
    }
    return data as unknown;
  };
  const rows = parseInvariantRows(await call("load_test_invariants"));
  const capacity = parseCapacity(await call("load_test_capacity"));
  if (!rows || !capacity) throw new CliExit(`liventix-load verify: unexpected answer for event ${eventId}`, EXIT.ERROR);

  const all = [...rows, ...capacityChecks(capacity)];
  const failed = all.filter((r) => !r.passed);
  console.log(
    redactText(
      [
        `event ${eventId} on ${cfg.supabaseUrl}`,
        ...renderInvariantSection(rowsToOutcomes(all)),
        "",
        ...renderCapacitySection(capacity),
        "",
        failed.length === 0 ? "RESULT: PASSED" : `RESULT: FAILED (${failed.length} check${failed.length === 1 ? "" : "s"} violated)`,
      ].join("\n"),
      secrets,
    ),
  );
  return failed.length === 0 ? 0 : 1;
}

await runCli(main);
