// pg_stat_user_tables for the tables a sale writes to, before and after a scenario: the difference
// shows how much churn (updates, HOT updates, dead rows) the flash sale caused.
import type pg from "pg";

const WATCHED_TABLES = ["ticket_holds", "ticket_tiers", "inventory_buckets", "orders", "tickets"] as const;

export interface TableStat {
  table: string;
  inserts: number;
  updates: number;
  hotUpdates: number;
  deletes: number;
  liveRows: number;
  deadRows: number;
  seqScans: number;
  indexScans: number;
}

export async function readTableStats(client: pg.Client): Promise<TableStat[]> {
  // Statistics are cached per transaction; clear so a second read in this session sees fresh numbers.
  await client.query("SELECT pg_stat_clear_snapshot()");
  const r = await client.query<Record<string, string>>(
    `SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del, n_live_tup, n_dead_tup,
            coalesce(seq_scan, 0) AS seq_scan, coalesce(idx_scan, 0) AS idx_scan
       FROM pg_stat_user_tables WHERE schemaname = 'public' AND relname = ANY ($1) ORDER BY relname`,
    [WATCHED_TABLES],
  );
  return r.rows.map((row) => ({
    table: row.relname!,
    inserts: Number(row.n_tup_ins),
    updates: Number(row.n_tup_upd),
    hotUpdates: Number(row.n_tup_hot_upd),
    deletes: Number(row.n_tup_del),
    liveRows: Number(row.n_live_tup),
    deadRows: Number(row.n_dead_tup),
    seqScans: Number(row.seq_scan),
    indexScans: Number(row.idx_scan),
  }));
}

/** Activity between two reads; live and dead rows are levels, so they keep the later value. */
export function tableStatsDelta(before: TableStat[], after: TableStat[]): TableStat[] {
  return after.map((a) => {
    const b = before.find((x) => x.table === a.table);
    if (!b) return a;
    return {
      ...a,
      inserts: a.inserts - b.inserts,
      updates: a.updates - b.updates,
      hotUpdates: a.hotUpdates - b.hotUpdates,
      deletes: a.deletes - b.deletes,
      seqScans: a.seqScans - b.seqScans,
      indexScans: a.indexScans - b.indexScans,
    };
  });
}
