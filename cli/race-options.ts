// What `npm run race` was asked to do, checked before anything starts: every flag has a range, and a
// wrong one is named with its fix (exit 2).
import { ISOLATIONS, type Isolation } from "../backend/config.ts";
import { DEFAULT_WORKLOAD, SCRIPTS, type Workload } from "../race-lab/workload.ts";
import { choiceFlag, intFlag, parseFlags, UsageError } from "./cli-kit.ts";

export interface RaceOptions {
  workload: Workload;
  /** Run the Liventix Advanced Load Testing Guide's single-row design and the bucketed one (workload.buckets) side by side. */
  compare: boolean;
  fault: string | null;
  scratchConfirmed: boolean;
  jsonFile: string | null;
  help: boolean;
}

export const RACE_USAGE = `usage: npm run race -- [--clients 50] [--threads 10] [--duration 30] [--script reserve|serializable|mix]
                       [--isolation read_committed|repeatable_read|serializable] [--tickets 10] [--tiers 1]
                       [--capacity N] [--hold-seconds 600] [--sessions 0] [--max-tries 5] [--buckets 1]
                       [--compare] [--fault NAME [--i-know-this-is-scratch]] [--json FILE]
Runs against DATABASE_URL, or a private embedded PostgreSQL when it is unset. See docs/race-lab.md.`;

/** What --compare spreads each tier over unless --buckets says otherwise: under 5 % 40001 at 50 clients. */
export const COMPARE_BUCKETS = 1024;

const FLAGS = {
  clients: { type: "string" },
  threads: { type: "string" },
  duration: { type: "string" },
  script: { type: "string" },
  isolation: { type: "string" },
  tickets: { type: "string" },
  tiers: { type: "string" },
  capacity: { type: "string" },
  "hold-seconds": { type: "string" },
  sessions: { type: "string" },
  "max-tries": { type: "string" },
  buckets: { type: "string" },
  compare: { type: "boolean" },
  fault: { type: "string" },
  "i-know-this-is-scratch": { type: "boolean" },
  json: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export function parseRaceOptions(argv: string[], base: Workload = DEFAULT_WORKLOAD): RaceOptions {
  const v = parseFlags(argv, FLAGS, RACE_USAGE);
  const explicitIsolation = v.isolation === undefined ? null : choiceFlag("isolation", v.isolation, ISOLATIONS, base.isolation);
  // The guide's SERIALIZABLE script carries its own BEGIN ISOLATION LEVEL; asking for it by isolation
  // alone picks that script.
  const script = choiceFlag("script", v.script, SCRIPTS, explicitIsolation === "serializable" ? "serializable" : base.script);
  if (script === "serializable" && explicitIsolation !== null && explicitIsolation !== "serializable") {
    throw new UsageError(`--script serializable always runs SERIALIZABLE; drop --isolation ${explicitIsolation} or use --script reserve`);
  }
  const isolation: Isolation = script === "serializable" ? "serializable" : (explicitIsolation ?? base.isolation);
  const tickets = intFlag("tickets", v.tickets, base.tickets, 0, 10_000_000);
  const tiers = intFlag("tiers", v.tiers, base.tiers, 1, 100);
  const capacity = v.capacity === undefined ? base.capacity : intFlag("capacity", v.capacity, 0, 0, 1_000_000_000);
  const clients = intFlag("clients", v.clients, base.clients, 1, 1000);
  if (v["i-know-this-is-scratch"] && v.fault === undefined) {
    throw new UsageError("--i-know-this-is-scratch only goes with --fault NAME");
  }
  if (v.json !== undefined && v.json.trim() === "") throw new UsageError("--json needs a file name, e.g. --json race.json");
  const compare = v.compare ?? false;
  if (compare && v.fault !== undefined) {
    throw new UsageError("--compare runs the reference designs; plant a fault with --fault NAME alone");
  }
  const buckets = intFlag("buckets", v.buckets, compare ? COMPARE_BUCKETS : base.buckets, 1, 4096);
  if (compare && buckets === 1) throw new UsageError("--compare needs --buckets 2 or more: 1 is the guide's single-row design itself");
  if (buckets > 1 && capacity !== null) {
    throw new UsageError(
      "--buckets needs no --capacity: an event cap serialises every reservation on the event row, which buckets cannot spread",
    );
  }
  return {
    workload: {
      script,
      isolation,
      tickets,
      tiers,
      clients,
      threads: intFlag("threads", v.threads, base.threads, 1, 1000),
      durationSeconds: intFlag("duration", v.duration, base.durationSeconds, 1, 3600),
      maxTries: intFlag("max-tries", v["max-tries"], base.maxTries, 1, 100),
      capacity,
      holdSeconds: intFlag("hold-seconds", v["hold-seconds"], base.holdSeconds, 1, 86_400),
      sessions: intFlag("sessions", v.sessions, base.sessions, 0, 1_000_000_000),
      buckets,
    },
    compare,
    fault: v.fault ?? null,
    scratchConfirmed: v["i-know-this-is-scratch"] ?? false,
    jsonFile: v.json ?? null,
    help: v.help ?? false,
  };
}
