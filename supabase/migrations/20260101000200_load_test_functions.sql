-- What the load-test suite needs from the database: an isolated event to hammer, the Liventix Advanced Load Testing Guide's invariant
-- checks and capacity metrics for it, who may call what, and the cleanup schedule where pg_cron exists.
-- The invariant names are the contract in lib/invariants.ts.

CREATE OR REPLACE FUNCTION public.load_test_setup(
  p_tier_count integer DEFAULT 1,
  p_tickets_per_tier integer DEFAULT 100,
  p_hold_seconds integer DEFAULT 600,
  p_price_cents integer DEFAULT 5000,
  p_event_capacity integer DEFAULT NULL,
  p_name text DEFAULT 'load test')
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, extensions, pg_temp
AS $$
DECLARE
  v_event_id uuid;
  v_tier_ids uuid[];
BEGIN
  IF p_tier_count IS NULL OR p_tier_count NOT BETWEEN 1 AND 100 THEN
    RAISE EXCEPTION 'INVALID_REQUEST' USING ERRCODE = 'LT400', DETAIL = 'p_tier_count must be from 1 to 100';
  END IF;
  IF p_tickets_per_tier IS NULL OR p_tickets_per_tier NOT BETWEEN 0 AND 10000000 THEN
    RAISE EXCEPTION 'INVALID_REQUEST' USING ERRCODE = 'LT400', DETAIL = 'p_tickets_per_tier must be from 0 to 10000000';
  END IF;
  IF p_hold_seconds IS NULL OR p_hold_seconds NOT BETWEEN 1 AND 86400 THEN
    RAISE EXCEPTION 'INVALID_REQUEST' USING ERRCODE = 'LT400', DETAIL = 'p_hold_seconds must be from 1 to 86400';
  END IF;
  IF p_price_cents IS NULL OR p_price_cents < 0 THEN
    RAISE EXCEPTION 'INVALID_REQUEST' USING ERRCODE = 'LT400', DETAIL = 'p_price_cents must be 0 or more';
  END IF;
  IF p_event_capacity IS NOT NULL AND p_event_capacity < 0 THEN
    RAISE EXCEPTION 'INVALID_REQUEST' USING ERRCODE = 'LT400', DETAIL = 'p_event_capacity must be 0 or more, or null';
  END IF;

  INSERT INTO events (name, capacity, hold_seconds, is_load_test)
  VALUES (coalesce(nullif(p_name, ''), 'load test'), p_event_capacity, p_hold_seconds, true)
  RETURNING id INTO v_event_id;

  WITH created AS (
    INSERT INTO ticket_tiers (event_id, name, price_cents, total_quantity)
    SELECT v_event_id, 'Tier ' || n, p_price_cents, p_tickets_per_tier FROM generate_series(1, p_tier_count) n
    RETURNING id, name
  )
  SELECT array_agg(id ORDER BY length(name), name) INTO v_tier_ids FROM created;

  RETURN jsonb_build_object('event_id', v_event_id, 'tier_ids', to_jsonb(v_tier_ids),
                            'tickets_per_tier', p_tickets_per_tier,
                            'total_tickets', p_tickets_per_tier::bigint * p_tier_count,
                            'event_capacity', p_event_capacity, 'hold_seconds', p_hold_seconds);
END
$$;

-- One row per check, in the order of lib/invariants.ts. Read-only, so it can run on every k6-operator
-- pod and again from `npm run verify` with the same answer.
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
END
$$;

-- The guide's capacity metrics for one event; rates are fractions from 0 to 1.
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
    'cart_abandonment_rate', CASE WHEN v_holds.total = 0 THEN 0 ELSE v_holds.expired::float8 / v_holds.total END);
END
$$;

-- Nothing is executable by PUBLIC. Who else may call what (anon and authenticated: nothing) is set by
-- 20261201000000_api_privileges.sql, which also undoes the grants a Supabase project's default
-- privileges give every new function. On plain PostgreSQL (no Supabase roles) the grants are skipped.
DO $$
DECLARE
  v_fn text;
BEGIN
  FOR v_fn IN SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
               WHERE n.nspname = 'public'
                 AND p.proname IN ('lt_error', 'lt_try_uuid', 'new_qr_code', 'try_reserve', 'reserve_tickets_batch',
                                   'checkout_holds', 'lt_checkout_once', 'enhanced_checkout', 'open_checkout_session',
                                   'complete_payment', 'release_hold', 'cleanup_expired_holds', 'cleanup_idempotency_keys',
                                   'load_test_setup', 'load_test_invariants', 'load_test_capacity') LOOP
    EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', v_fn);
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
      EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO service_role', v_fn);
    END IF;
  END LOOP;
END
$$;

-- On Supabase (pg_cron enabled) the database expires holds itself every minute; elsewhere the embedded
-- target runs cleanup_expired_holds() on its own timer. cron.schedule with a job name replaces the job,
-- so applying this twice keeps one job.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
    PERFORM cron.schedule('liventix-cleanup-expired-holds', '* * * * *', 'SELECT public.cleanup_expired_holds()');
    PERFORM cron.schedule('liventix-cleanup-idempotency-keys', '17 * * * *', 'SELECT public.cleanup_idempotency_keys()');
  END IF;
END
$$;
