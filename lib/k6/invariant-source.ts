// How teardown reads the database's verdict: an open session that answers load_test_invariants and
// load_test_capacity for an event. Two implementations, REST (every bundle) and SQL (dist/sql bundles
// only, so plain bundles never import k6/x/sql); build.mjs picks one per flavour.
import type { LoadConfig } from "../config.ts";
import type { InvariantRow } from "../invariants.ts";
import type { Capacity } from "../metric-names.ts";

export interface InvariantSession {
  /** Where the answers come from, for the teardown log. */
  via: string;
  /** null when they could not be read; `problem` says why. */
  invariants(eventId: string): InvariantRow[] | null;
  capacity(eventId: string): Capacity | null;
  problem(): string | null;
  close(): void;
}

export type InvariantSource = (cfg: LoadConfig) => InvariantSession;
