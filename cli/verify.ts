// `npm run verify -- --event <id>`: the run's verdict from Node, for runs whose handleSummary never ran
// (k6 Cloud) or to re-check an event later. Calls load_test_invariants and load_test_capacity over
// PostgREST's RPC endpoint with the service role key, adds the suite's capacity checks, prints the same
// tables as the k6 summary and exits 1 on any violation (cli/exit-codes.ts has the others).
import { parseArgs } from "node:util";
import { configSecrets, redactText } from "../lib/redact.ts";
import { rowsToOutcomes } from "../lib/summary-model.ts";
import { renderCapacitySection, renderInvariantSection } from "../lib/summary-text.ts";
import { capacityChecks, parseCapacity, parseInvariantRows } from "../lib/teardown-checks.ts";
import { UUID_PATTERN as UUID } from "../lib/uuid.ts";
import { CliExit, runCli } from "./exit.ts";
import { EXIT } from "./exit-codes.ts";
import { checkConfig } from "./k6-common.ts";

async function main(): Promise<number> {
  let eventId: string | undefined;
  try {
    eventId = parseArgs({ options: { event: { type: "string" } }, allowPositionals: false }).values.event;
  } catch (e) {
    throw new CliExit(`liventix-load verify: ${(e as Error).message}\nusage: npm run verify -- --event <event uuid>`, EXIT.USAGE);
  }
  if (!eventId || !UUID.test(eventId)) {
    throw new CliExit(
      "liventix-load verify: --event must be the event's uuid (printed by the run's setup/teardown)\nusage: npm run verify -- --event <event uuid>",
      EXIT.USAGE,
    );
  }
  const cfg = checkConfig(process.env, false);
  if (cfg.serviceRoleKey === null)
    throw new CliExit("liventix-load verify: SUPABASE_SERVICE_ROLE_KEY is required to call load_test_invariants", EXIT.USAGE);
  const secrets = configSecrets(cfg);
  const key = cfg.serviceRoleKey;
  const fail = (fn: string, why: string, code: number) =>
    new CliExit(redactText(`liventix-load verify: ${fn} failed: ${why}`, secrets), code);

  const call = async (fn: string): Promise<unknown> => {
    let res: Response;
    try {
      res = await fetch(`${cfg.supabaseUrl}/rest/v1/rpc/${fn}`, {
        method: "POST",
        headers: { apikey: key, Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
        body: JSON.stringify({ p_event_id: eventId }),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      const hint = cfg.loopback ? " Start the embedded target first: npm run target." : "";
      throw fail(fn, `${(err as Error).message}${cause ? ` (${cause})` : ""}.${hint}`, EXIT.UNREACHABLE);
    }
    const body: unknown = await res.json().catch(() => null);
    if (!res.ok) {
      // PostgREST and the embedded target both explain an error in `message`.
      const message = (body as { message?: unknown } | null)?.message;
      // A function that does not exist (PostgREST's PGRST202, the embedded target's NOT_FOUND): the
      // project lacks the suite's migrations. An unknown event is a 404 too, but with its own code.
      const missing = ["PGRST202", "NOT_FOUND"].includes(String((body as { code?: unknown } | null)?.code));
      const code = missing ? EXIT.NOT_SET_UP : EXIT.ERROR;
      throw fail(fn, `${typeof message === "string" ? message : `HTTP ${res.status}`}.`, code);
    }
    return body;
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
