// Teardown's reader over HTTP: POST /rest/v1/rpc/load_test_invariants and load_test_capacity with the
// service role key. Works against the embedded target and any Supabase project with the migrations.
import { parseCapacity, parseInvariantRows } from "../teardown-checks.ts";
import { replyText, rpc } from "./api.ts";
import type { InvariantSession, InvariantSource } from "./invariant-source.ts";

export const restSource: InvariantSource = (cfg) => {
  let problem: string | null = null;
  const call = (fn: string, eventId: string): unknown => {
    const reply = rpc(cfg, fn, { p_event_id: eventId });
    if (reply.status !== 200) {
      problem = `${fn} answered HTTP ${reply.status}${reply.error ? ` (${reply.error})` : ""}: ${replyText(reply).slice(0, 200)}`;
      return null;
    }
    return reply.body;
  };
  const session: InvariantSession = {
    via: "REST rpc",
    invariants: (eventId) => parseInvariantRows(call("load_test_invariants", eventId)),
    capacity: (eventId) => parseCapacity(call("load_test_capacity", eventId)),
    problem: () => problem,
    close: () => undefined,
  };
  return session;
};
