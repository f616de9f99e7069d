// The faults of the fault suite, each against the PostgreSQL server the suite started itself: a busy
// backend killed, every session terminated, the postmaster killed and restarted, the whole server
// frozen and thawed. "Busy" is made certain rather than hoped for: the suite holds the hot tier's row
// lock until a request of the target is seen waiting on it, so the fault always lands mid-request.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import pg from "pg";
import type { EmbeddedServer } from "../backend/database.ts";
import { isAlive } from "../backend/database.ts";
import type { Answer, Load } from "./chaos-load.ts";

const run = promisify(execFile);

interface FaultContext {
  /** Superuser URL of the suite's own server. */
  databaseUrl: string;
  server: EmbeddedServer;
  tierId: string;
  load: Load;
  /** How long the freeze lasts at least: past the target's pool wait plus round-trip bound. */
  minFreezeMs: number;
}

interface Injected {
  /** What was done, for the report. */
  did: string;
  /** When the database was usable again (the clock the recovery time is measured from). */
  backAt: number;
}

export interface Fault {
  name: string;
  inject(ctx: FaultContext): Promise<Injected>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  // The faults below end this very connection too; that must not end the suite.
  client.on("error", () => undefined);
  await client.connect();
  return client;
}

async function poll<T>(what: string, timeoutMs: number, intervalMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

interface Blocked {
  pid: number;
  query: string;
  /** Ends the lock holder's transaction (or what is left of its connection). */
  release(): Promise<void>;
}

/** Takes the tier row's lock and returns once a backend of the target waits on it, mid-request. */
async function blockARequest(ctx: FaultContext): Promise<Blocked> {
  const holder = await connect(ctx.databaseUrl);
  await holder.query("BEGIN");
  await holder.query("SELECT 1 FROM public.ticket_tiers WHERE id = $1 FOR UPDATE", [ctx.tierId]);
  const monitor = await connect(ctx.databaseUrl);
  try {
    const victim = await poll("a request of the target to wait on the tier lock", 10_000, 10, async () => {
      const { rows } = await monitor.query<{ pid: number; query: string }>(
        `SELECT pid, query FROM pg_stat_activity
          WHERE application_name = 'liventix-target' AND state = 'active' AND wait_event_type = 'Lock' LIMIT 1`,
      );
      return rows[0];
    });
    const statement = /public\.(\w+)\(/.exec(victim.query)?.[1] ?? "a statement";
    return {
      pid: victim.pid,
      query: statement,
      release: async () => {
        await holder.query("ROLLBACK").catch(() => undefined);
        await holder.end().catch(() => undefined);
      },
    };
  } finally {
    await monitor.end().catch(() => undefined);
  }
}

/** Returns when a fresh connection runs a query again: the moment the database is back. */
async function databaseBack(url: string): Promise<number> {
  return poll("PostgreSQL to accept connections again", 30_000, 50, async () => {
    const client = await connect(url);
    try {
      await client.query("SELECT 1");
      return Date.now();
    } finally {
      await client.end().catch(() => undefined);
    }
  });
}

async function childPids(parent: number): Promise<number[]> {
  const { stdout } = await run("ps", ["-A", "-o", "pid=,ppid="]);
  return stdout
    .trim()
    .split("\n")
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number])
    .filter(([, ppid]) => ppid === parent)
    .map(([pid]) => pid);
}

const killBusyBackend: Fault = {
  name: "kill -9 of a busy backend",
  async inject(ctx) {
    const blocked = await blockARequest(ctx);
    process.kill(blocked.pid, "SIGKILL");
    // PostgreSQL answers a crashed backend by resetting every session and recovering on its own.
    await blocked.release();
    const backAt = await databaseBack(ctx.databaseUrl);
    return {
      did: `kill -9 of backend ${blocked.pid} while it waited inside ${blocked.query}(); PostgreSQL reset every session and recovered`,
      backAt,
    };
  },
};

const terminateSessions: Fault = {
  name: "pg_terminate_backend of every target session",
  async inject(ctx) {
    const blocked = await blockARequest(ctx);
    const admin = await connect(ctx.databaseUrl);
    try {
      const { rows } = await admin.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'liventix-target') t",
      );
      const backAt = Date.now();
      return { did: `pg_terminate_backend of all ${rows[0]!.n} target sessions, one of them waiting inside ${blocked.query}()`, backAt };
    } finally {
      await admin.end().catch(() => undefined);
      await blocked.release();
    }
  },
};

const killPostmaster: Fault = {
  name: "kill -9 of the postmaster, then a restart",
  async inject(ctx) {
    const blocked = await blockARequest(ctx);
    const postmaster = await ctx.server.postmasterPid();
    const children = await childPids(postmaster);
    process.kill(postmaster, "SIGKILL");
    const killedAt = Date.now();
    // Orphaned backends leave once they notice; until then the old shared memory blocks a new postmaster.
    await poll("the killed postmaster's processes to exit", 30_000, 50, async () => (children.some(isAlive) ? undefined : true));
    await blocked.release();
    const goneMs = Date.now() - killedAt;
    await ctx.server.restart();
    const backAt = Date.now();
    return {
      did:
        `kill -9 of the postmaster (pid ${postmaster}) while a request waited inside ${blocked.query}(); its ` +
        `${children.length} processes gone after ${goneMs} ms; restarted with crash recovery in ${backAt - killedAt - goneMs} ms`,
      backAt,
    };
  },
};

const freeze: Fault = {
  name: "SIGSTOP of the whole server, then SIGCONT",
  async inject(ctx) {
    const postmaster = await ctx.server.postmasterPid();
    // The postmaster first: once it is stopped it forks nothing, so the list of children is complete.
    process.kill(postmaster, "SIGSTOP");
    const frozen = [postmaster];
    const frozenAt = Date.now();
    try {
      for (const pid of await childPids(postmaster)) {
        process.kill(pid, "SIGSTOP");
        frozen.push(pid);
      }
      const probes: Promise<number>[] = [];
      const prober = setInterval(() => probes.push(ctx.load.health()), 250);
      const refused = (route: Answer["route"]) => (a: Answer) => a.route === route && a.startedAt >= frozenAt && a.status === 503;
      try {
        // Frozen until both a checkout and /health were refused in time, and for at least every bound of the target.
        await ctx.load.until(
          "a checkout and a /health answered 503 while frozen",
          (answers) => answers.some(refused("checkout")) && answers.some(refused("health")) && Date.now() - frozenAt >= ctx.minFreezeMs,
          ctx.minFreezeMs + 20_000,
        );
      } finally {
        clearInterval(prober);
      }
      thaw(frozen);
      const backAt = Date.now();
      await Promise.all(probes);
      return {
        did: `SIGSTOP of the postmaster (pid ${postmaster}) and its ${frozen.length - 1} processes for ${backAt - frozenAt} ms, /health probed every 250 ms; then SIGCONT`,
        backAt,
      };
    } finally {
      thaw(frozen);
    }
  },
};

function thaw(pids: number[]): void {
  for (const pid of pids.slice().reverse()) {
    try {
      process.kill(pid, "SIGCONT");
    } catch {
      // Already gone.
    }
  }
}

export const FAULTS: readonly Fault[] = [killBusyBackend, terminateSessions, killPostmaster, freeze];
