-- Hold expiry that one drifted tier cannot stop. Before this file, cleanup_expired_holds() expired every
-- due hold in one statement and then decremented each tier; a tier whose reserved_quantity had fallen
-- below its holds (a lost update, a hand edit, a restored backup) failed check_no_negative_availability,
-- the whole call rolled back, and no hold of any tier expired again: seats leaked everywhere, silently.
--
-- Now each tier's decrement is guarded. A tier whose counter cannot cover the seats being given back is
-- repaired instead: its reserved_quantity is recomputed from its active holds (as the Liventix Advanced Load Testing Guide's own cron
-- does), never above what the tier can hold, and the repair is recorded in public.hold_cleanup_repairs.
-- A repair is never a quiet success: load_test_invariants reports it as no_counter_repairs for its event,
-- `npm run readiness` fails on it, and the embedded target logs it.
--
-- Projects that pushed the earlier migrations get the fix by pushing this file. Idempotent; PostgreSQL 15
-- and 18; with or without Supabase's roles and pg_cron.

CREATE TABLE IF NOT EXISTS public.hold_cleanup_repairs (
  id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  repaired_at          timestamptz NOT NULL DEFAULT now(),
  tier_id              uuid NOT NULL REFERENCES public.ticket_tiers (id) ON DELETE CASCADE,
  event_id             uuid NOT NULL,
  total_quantity       integer NOT NULL,
  sold_quantity        integer NOT NULL,
  -- The counter as the cleanup found it, and the seats of the holds that run expired.
  reserved_before      integer NOT NULL,
  expired_quantity     bigint NOT NULL,
  -- Seats of the tier's holds still active after the run, and what reserved_quantity was set to: they
  -- differ only when more seats are held than the tier has (then the tier is set to sold out).
  active_hold_quantity bigint NOT NULL,
  reserved_after       integer NOT NULL,
  -- Who ran the cleanup: "pg_cron", "liventix-target-cleanup", psql, ...
  application_name     text NOT NULL DEFAULT current_setting('application_name')
);
CREATE INDEX IF NOT EXISTS idx_hold_cleanup_repairs_tier ON public.hold_cleanup_repairs (tier_id);
CREATE INDEX IF NOT EXISTS idx_hold_cleanup_repairs_event ON public.hold_cleanup_repairs (event_id);

-- Written by the SECURITY DEFINER cleanup only; read by the service role and the database owner. The
-- table follows 20261201000000_api_privileges.sql; its identity sequence, which Supabase's default
-- privileges also grant to the API roles, is closed here.
SELECT liventix_private.restrict_table('public.hold_cleanup_repairs'::regclass);
DO $$
DECLARE
  v_sequence text := pg_get_serial_sequence('public.hold_cleanup_repairs', 'id');
  v_role text;
BEGIN
  EXECUTE format('REVOKE ALL ON SEQUENCE %s FROM PUBLIC', v_sequence);
  FOREACH v_role IN ARRAY ARRAY['anon', 'authenticated'] LOOP
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_role) THEN
      EXECUTE format('REVOKE ALL ON SEQUENCE %s FROM %I', v_sequence, v_role);
    END IF;
  END LOOP;
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
    -- Reading the repairs, and deleting them once their cause is understood.
    GRANT SELECT, DELETE ON TABLE public.hold_cleanup_repairs TO service_role;
  END IF;
END
$$;

-- Same signature as before, so CREATE OR REPLACE keeps its grants, the pg_cron job's command and every
-- caller (RPC, pgbench mix, Level 1 SQL) unchanged. Returns the number of holds expired.
CREATE OR REPLACE FUNCTION public.cleanup_expired_holds()
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, extensions, pg_temp
AS $$
DECLARE
  v_tiers uuid[];
  v_quantities bigint[];
  v_expired integer;
  v_tier ticket_tiers%ROWTYPE;
  v_active bigint;
  v_reserved integer;
BEGIN
  WITH due AS (
    SELECT id FROM ticket_holds
     WHERE status = 'active' AND expires_at <= now()
     ORDER BY id
     FOR UPDATE SKIP LOCKED
  ), expired AS (
    UPDATE ticket_holds h SET status = 'expired', updated_at = now()
      FROM due WHERE h.id = due.id
    RETURNING h.tier_id, h.quantity
  ), per_tier AS (
    SELECT tier_id, sum(quantity) AS qty, count(*) AS holds FROM expired GROUP BY tier_id
  )
  SELECT coalesce(array_agg(tier_id ORDER BY tier_id), '{}'), coalesce(array_agg(qty ORDER BY tier_id), '{}'),
         coalesce(sum(holds), 0)
    INTO v_tiers, v_quantities, v_expired
    FROM per_tier;

  -- Tiers in id order, like every other writer, so no deadlock.
  FOR i IN 1 .. coalesce(array_length(v_tiers, 1), 0) LOOP
    -- The healthy case, one guarded UPDATE: the counter includes the seats being given back. Lowering
    -- reserved_quantity by no more than it holds keeps every CHECK on ticket_tiers true.
    UPDATE ticket_tiers SET reserved_quantity = reserved_quantity - v_quantities[i], updated_at = now()
     WHERE id = v_tiers[i] AND reserved_quantity >= v_quantities[i];
    CONTINUE WHEN FOUND;

    -- The counter is below the seats of holds that were active (and are locked by this run): it has
    -- drifted. With the tier row locked no writer can move either side, so the active holds are the truth.
    SELECT * INTO v_tier FROM ticket_tiers WHERE id = v_tiers[i] FOR NO KEY UPDATE;
    CONTINUE WHEN NOT FOUND;  -- holds of a deleted tier: no seats to give back
    SELECT coalesce(sum(quantity), 0) INTO v_active FROM ticket_holds WHERE tier_id = v_tiers[i] AND status = 'active';
    -- Never more than the tier can hold, so the repair itself cannot violate a CHECK; a tier with more
    -- seats held than it has ends sold out, and its invariants still fail.
    v_reserved := greatest(0, least(v_active, v_tier.total_quantity - v_tier.sold_quantity, v_tier.total_quantity));
    UPDATE ticket_tiers SET reserved_quantity = v_reserved, updated_at = now() WHERE id = v_tiers[i];
    INSERT INTO hold_cleanup_repairs (tier_id, event_id, total_quantity, sold_quantity, reserved_before, expired_quantity,
                                      active_hold_quantity, reserved_after)
    VALUES (v_tier.id, v_tier.event_id, v_tier.total_quantity, v_tier.sold_quantity, v_tier.reserved_quantity,
            v_quantities[i], v_active, v_reserved);
  END LOOP;
  RETURN v_expired;
END
$$;

-- load_test_invariants as before, plus no_counter_repairs (lib/invariants.ts is the list of names, in order).
CREATE OR REPLACE FUNCTION public.load_test_invariants(p_event_id uuid, p_stale_grace_seconds integer DEFAULT 120)
RETURNS TABLE (check_name text, passed boolean, observed text, detail text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, extensions, pg_temp
AS $$
DECLARE
  v_tiers integer;
  v_bad integer;
  v_list text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM events WHERE id = p_event_id) THEN
    RAISE EXCEPTION 'EVENT_NOT_FOUND' USING ERRCODE = 'LT414', DETAIL = 'no event has this id';
  END IF;
  SELECT count(*) INTO v_tiers FROM ticket_tiers WHERE event_id = p_event_id;

  SELECT count(*), string_agg(format('%s: total %s, sold %s, reserved %s', name, total_quantity, sold_quantity,
                                     reserved_quantity), '; ')
    INTO v_bad, v_list
    FROM (SELECT * FROM ticket_tiers WHERE event_id = p_event_id
            AND (sold_quantity < 0 OR reserved_quantity < 0 OR sold_quantity + reserved_quantity > total_quantity)
           ORDER BY name LIMIT 100) x;
  RETURN QUERY SELECT 'no_negative_availability', v_bad = 0, v_bad || ' of ' || v_tiers || ' tiers oversold or negative',
                      coalesce(v_list, 'sold + reserved <= total and both >= 0 on every tier');

  SELECT count(*), string_agg(format('%s: reserved %s > total %s', name, reserved_quantity, total_quantity), '; ')
    INTO v_bad, v_list
    FROM (SELECT * FROM ticket_tiers WHERE event_id = p_event_id AND reserved_quantity > total_quantity
           ORDER BY name LIMIT 100) x;
  RETURN QUERY SELECT 'reserved_lte_total', v_bad = 0, v_bad || ' tiers', coalesce(v_list, 'reserved <= total on every tier');

  SELECT count(*), string_agg(format('%s: sold %s > total %s', name, sold_quantity, total_quantity), '; ')
    INTO v_bad, v_list
    FROM (SELECT * FROM ticket_tiers WHERE event_id = p_event_id AND sold_quantity > total_quantity
           ORDER BY name LIMIT 100) x;
  RETURN QUERY SELECT 'sold_lte_total', v_bad = 0, v_bad || ' tiers', coalesce(v_list, 'sold <= total on every tier');

  SELECT count(*), string_agg(format('%s: reserved_quantity %s, active holds %s', name, reserved_quantity, held), '; ')
    INTO v_bad, v_list
    FROM (SELECT t.name, t.reserved_quantity, coalesce(h.held, 0) AS held
            FROM ticket_tiers t
            LEFT JOIN (SELECT tier_id, sum(quantity) AS held FROM ticket_holds
                        WHERE event_id = p_event_id AND status = 'active' GROUP BY tier_id) h ON h.tier_id = t.id
           WHERE t.event_id = p_event_id AND t.reserved_quantity <> coalesce(h.held, 0)
           ORDER BY t.name LIMIT 100) x;
  RETURN QUERY SELECT 'active_holds_match_reserved', v_bad = 0, v_bad || ' tiers',
                      coalesce(v_list, 'reserved_quantity equals the active holds on every tier');

  SELECT count(*), string_agg(dup, '; ')
    INTO v_bad, v_list
    FROM (SELECT format('QR %s issued %s times', qr_code, n) AS dup
            FROM (SELECT qr_code, count(*) AS n FROM tickets
                   WHERE qr_code IN (SELECT qr_code FROM tickets WHERE event_id = p_event_id)
                   GROUP BY qr_code HAVING count(*) > 1) q
          UNION ALL
          SELECT format('hold %s seat %s ticketed %s times', hold_id, seat_number, n)
            FROM (SELECT hold_id, seat_number, count(*) AS n FROM tickets WHERE event_id = p_event_id
                   GROUP BY hold_id, seat_number HAVING count(*) > 1) s
           LIMIT 100) x;
  RETURN QUERY SELECT 'no_duplicate_tickets', v_bad = 0, v_bad || ' duplicates',
                      coalesce(v_list, 'every QR code and every seat ticketed once');

  SELECT count(*), string_agg(format('%s: sold %s, tickets %s', name, sold_quantity, issued), '; ')
    INTO v_bad, v_list
    FROM (SELECT t.name, t.sold_quantity, coalesce(k.issued, 0) AS issued
            FROM ticket_tiers t
            LEFT JOIN (SELECT tier_id, count(*) AS issued FROM tickets WHERE event_id = p_event_id GROUP BY tier_id) k
              ON k.tier_id = t.id
           WHERE t.event_id = p_event_id AND t.sold_quantity <> coalesce(k.issued, 0)
           ORDER BY t.name LIMIT 100) x;
  RETURN QUERY SELECT 'tickets_match_sold', v_bad = 0, v_bad || ' tiers',
                      coalesce(v_list, 'tickets issued equal sold_quantity on every tier');

  SELECT count(*), string_agg(format('hold %s expired at %s', id, expires_at), '; ')
    INTO v_bad, v_list
    FROM (SELECT id, expires_at FROM ticket_holds
           WHERE event_id = p_event_id AND status = 'active'
             AND expires_at < now() - make_interval(secs => p_stale_grace_seconds)
           ORDER BY expires_at LIMIT 100) x;
  RETURN QUERY SELECT 'no_stale_active_holds', v_bad = 0, v_bad || ' holds',
                      coalesce(v_list, format('no active hold is more than %s s past its expiry', p_stale_grace_seconds));

  SELECT count(*), string_agg(format('order %s (%s): %s seats held, %s tickets', id, status, seats, issued), '; ')
    INTO v_bad, v_list
    FROM (SELECT o.id, o.status,
                 coalesce((SELECT sum(quantity) FROM ticket_holds h WHERE h.order_id = o.id AND h.status = 'converted'), 0) AS seats,
                 (SELECT count(*) FROM tickets k WHERE k.order_id = o.id) AS issued
            FROM orders o WHERE o.event_id = p_event_id) x
   WHERE (status = 'paid' AND (issued <> seats OR seats = 0)) OR (status <> 'paid' AND issued > 0);
  RETURN QUERY SELECT 'paid_orders_fully_ticketed', v_bad = 0, v_bad || ' orders',
                      coalesce(v_list, 'every paid order has one ticket per seat and unpaid orders have none');

  SELECT count(*), string_agg(format('capacity %s, sold + reserved %s', capacity, used), '; ')
    INTO v_bad, v_list
    FROM (SELECT e.capacity, sum(t.sold_quantity + t.reserved_quantity) AS used
            FROM events e JOIN ticket_tiers t ON t.event_id = e.id
           WHERE e.id = p_event_id AND e.capacity IS NOT NULL
           GROUP BY e.capacity HAVING sum(t.sold_quantity + t.reserved_quantity) > e.capacity) x;
  RETURN QUERY SELECT 'event_capacity_respected', v_bad = 0, v_bad || ' events over capacity',
                      coalesce(v_list, 'sold + reserved within the event capacity (or no cap set)');

  SELECT count(*), string_agg(format('session %s holds tier %s %s times', session_id, tier_id, n), '; ')
    INTO v_bad, v_list
    FROM (SELECT session_id, tier_id, count(*) AS n FROM ticket_holds
           WHERE event_id = p_event_id AND status = 'active' AND session_id IS NOT NULL
           GROUP BY session_id, tier_id HAVING count(*) > 1 LIMIT 100) x;
  RETURN QUERY SELECT 'one_active_hold_per_session', v_bad = 0, v_bad || ' session/tier pairs',
                      coalesce(v_list, 'at most one active hold per session and tier');

  SELECT count(*), string_agg(format('%s at %s: reserved %s, but %s seats expiring; %s seats still held -> reserved %s',
                                     name, repaired_at, reserved_before, expired_quantity, active_hold_quantity,
                                     reserved_after), '; ')
    INTO v_bad, v_list
    FROM (SELECT t.name, r.repaired_at, r.reserved_before, r.expired_quantity, r.active_hold_quantity, r.reserved_after
            FROM hold_cleanup_repairs r JOIN ticket_tiers t ON t.id = r.tier_id
           WHERE r.event_id = p_event_id ORDER BY r.id LIMIT 100) x;
  RETURN QUERY SELECT 'no_counter_repairs', v_bad = 0, v_bad || ' repairs',
                      coalesce(v_list, 'the hold cleanup never had to repair a reserved_quantity');
END
$$;

-- load_test_capacity as before, plus project_overdue_holds: active holds of ANY event more than 120 s
-- (no_stale_active_holds' default grace) past their expiry. A k6 teardown prints it as a warning: a
-- cleanup that stopped elsewhere in the project shows up even when the run's own event is fine.
CREATE OR REPLACE FUNCTION public.load_test_capacity(p_event_id uuid)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, extensions, pg_temp
AS $$
DECLARE
  v_total bigint;
  v_sold bigint;
  v_reserved bigint;
  v_holds record;
  v_paid bigint;
  v_minutes double precision;
  v_overdue bigint;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM events WHERE id = p_event_id) THEN
    RAISE EXCEPTION 'EVENT_NOT_FOUND' USING ERRCODE = 'LT414', DETAIL = 'no event has this id';
  END IF;
  SELECT coalesce(sum(total_quantity), 0), coalesce(sum(sold_quantity), 0), coalesce(sum(reserved_quantity), 0)
    INTO v_total, v_sold, v_reserved FROM ticket_tiers WHERE event_id = p_event_id;
  SELECT count(*) AS total,
         count(*) FILTER (WHERE status = 'active') AS active,
         count(*) FILTER (WHERE status = 'converted') AS converted,
         count(*) FILTER (WHERE status = 'expired') AS expired,
         count(*) FILTER (WHERE status = 'released') AS released,
         min(created_at) AS first_at
    INTO v_holds FROM ticket_holds WHERE event_id = p_event_id;
  SELECT count(*) INTO v_paid FROM orders WHERE event_id = p_event_id AND status = 'paid';
  -- Uses idx_ticket_holds_expiry (active holds by expiry): cheap while the cleanup keeps up.
  SELECT count(*) INTO v_overdue FROM ticket_holds WHERE status = 'active' AND expires_at < now() - interval '120 seconds';
  -- The window runs from the first hold to now; at least one second so a rate is always finite.
  v_minutes := greatest(extract(epoch FROM now() - coalesce(v_holds.first_at, now())), 1) / 60.0;

  RETURN jsonb_build_object(
    'total_tickets', v_total, 'sold', v_sold, 'reserved', v_reserved,
    'inventory_utilisation', CASE WHEN v_total = 0 THEN 0 ELSE (v_sold + v_reserved)::float8 / v_total END,
    'holds_total', v_holds.total, 'holds_active', v_holds.active, 'holds_converted', v_holds.converted,
    'holds_expired', v_holds.expired, 'holds_released', v_holds.released,
    'window_minutes', round(v_minutes::numeric, 3)::float8,
    'holds_expired_per_minute', round((v_holds.expired / v_minutes)::numeric, 3)::float8,
    'reservations', v_holds.total, 'orders_paid', v_paid,
    'conversion_rate', CASE WHEN v_holds.total = 0 THEN 0 ELSE v_paid::float8 / v_holds.total END,
    'cart_abandonment_rate', CASE WHEN v_holds.total = 0 THEN 0 ELSE v_holds.expired::float8 / v_holds.total END,
    'project_overdue_holds', v_overdue);
END
$$;

-- A project that enabled pg_cron after pushing the earlier migrations gets its jobs by pushing this one
-- (or running it again). cron.schedule with a job name replaces that job, so there is only ever one.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
    PERFORM cron.schedule('liventix-cleanup-expired-holds', '* * * * *', 'SELECT public.cleanup_expired_holds()');
    PERFORM cron.schedule('liventix-cleanup-idempotency-keys', '17 * * * *', 'SELECT public.cleanup_idempotency_keys()');
  END IF;
END
$$;
