// The race lab's own checks on what a run left behind, computed from the holds and orders themselves
// rather than from the tier counters (a lost update can leave the counters looking fine).
import type pg from "pg";

export interface SaleTally {
  /** Tickets the event can sell: the tier totals, or the event cap when it is lower. */
  ticketsAvailable: number;
  /** Seats that successful reservations still occupy (holds active or converted to tickets). */
  seatsTaken: number;
  /** Tiers (or the event cap) whose seats taken exceed what exists. */
  overfilled: string[];
  holdsCreated: number;
  ordersCreated: number;
  ordersPaid: number;
  ticketsIssued: number;
  /** Orders that own no hold: a hold checked out twice; paying such an order charges for nothing. */
  ordersWithoutHolds: number;
}

export async function tallySale(client: pg.Client, eventId: string): Promise<SaleTally> {
  const tiers = await client.query<{ name: string; total: number; taken: string; created: string }>(
    `SELECT t.name, t.total_quantity AS total,
            coalesce(sum(h.quantity) FILTER (WHERE h.status IN ('active', 'converted')), 0) AS taken,
            count(h.id) AS created
       FROM ticket_tiers t LEFT JOIN ticket_holds h ON h.tier_id = t.id
      WHERE t.event_id = $1 GROUP BY t.id ORDER BY t.name`,
    [eventId],
  );
  const event = await client.query<{ capacity: number | null; orders: string; paid: string; tickets: string; orphans: string }>(
    `SELECT e.capacity,
            (SELECT count(*) FROM orders o WHERE o.event_id = e.id) AS orders,
            (SELECT count(*) FROM orders o WHERE o.event_id = e.id AND o.status = 'paid') AS paid,
            (SELECT count(*) FROM tickets k WHERE k.event_id = e.id) AS tickets,
            (SELECT count(*) FROM orders o WHERE o.event_id = e.id
                AND NOT EXISTS (SELECT 1 FROM ticket_holds h WHERE h.order_id = o.id)) AS orphans
       FROM events e WHERE e.id = $1`,
    [eventId],
  );
  const e = event.rows[0]!;
  const overfilled = tiers.rows.filter((t) => Number(t.taken) > t.total).map((t) => `${t.name}: ${t.taken} seats taken of ${t.total}`);
  const tierTotal = tiers.rows.reduce((s, t) => s + t.total, 0);
  const seatsTaken = tiers.rows.reduce((s, t) => s + Number(t.taken), 0);
  if (e.capacity !== null && seatsTaken > e.capacity) overfilled.push(`event cap: ${seatsTaken} seats taken of ${e.capacity}`);
  return {
    ticketsAvailable: e.capacity === null ? tierTotal : Math.min(tierTotal, e.capacity),
    seatsTaken,
    overfilled,
    holdsCreated: tiers.rows.reduce((s, t) => s + Number(t.created), 0),
    ordersCreated: Number(e.orders),
    ordersPaid: Number(e.paid),
    ticketsIssued: Number(e.tickets),
    ordersWithoutHolds: Number(e.orphans),
  };
}
