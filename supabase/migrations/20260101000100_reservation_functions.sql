-- The reservation system itself: reserve, checkout, pay, release, expire. Race-free under READ COMMITTED
-- (every decision about inventory is made by a guarded UPDATE on the tier row, never by a read followed
-- by a write) and correct under SERIALIZABLE (conflicts surface as 40001, which callers retry).
--
-- Lock order, to rule out deadlocks: event (only when the event has a cap) -> tier; order -> holds -> tiers
-- (tiers in id order); the cleanup job skips holds that someone else has locked.
--
-- Functions that serve HTTP or pgbench return business outcomes as jsonb values ({"ok": false, "error":
-- CODE}) instead of raising: pgbench aborts a client on any non-retryable error, and an idempotency record
-- must commit together with the outcome it stores. reserve_tickets_batch is the raising variant for
-- direct RPC callers. Error codes match lib/errors.ts.

CREATE OR REPLACE FUNCTION public.lt_error(p_code text, p_message text)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object('ok', false, 'error', p_code, 'message', p_message)
$$;

-- Text to uuid without raising 22P02, so malformed ids from JSON become a clean "not found".
CREATE OR REPLACE FUNCTION public.lt_try_uuid(p_text text)
RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_text ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN p_text::uuid END
$$;

-- 122 random bits per code: a repeat is astronomically unlikely, and the unique constraint backs it up.
CREATE OR REPLACE FUNCTION public.new_qr_code()
RETURNS text LANGUAGE sql VOLATILE AS $$
  SELECT 'LTX-' || replace(gen_random_uuid()::text, '-', '')
$$;

CREATE OR REPLACE FUNCTION public.try_reserve(
  p_tier_id uuid, p_quantity integer, p_session_id text, p_user_id uuid DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, extensions, pg_temp
AS $$
DECLARE
  v_available integer;
  v_event_id uuid;
  v_capacity integer;
  v_hold_seconds integer;
  v_committed bigint;
  v_hold_id uuid;
  v_expires_at timestamptz;
BEGIN
  IF p_quantity IS NULL OR p_quantity < 1 OR p_quantity > 10 THEN
    RETURN lt_error('INVALID_REQUEST', 'quantity must be an integer from 1 to 10');
  END IF;

  -- Unlocked look: answers sold out without queueing on the hot row. It decides nothing that the
  -- guarded UPDATE below does not decide again under the row lock.
  SELECT t.total_quantity - t.sold_quantity - t.reserved_quantity, e.id, e.capacity, e.hold_seconds
    INTO v_available, v_event_id, v_capacity, v_hold_seconds
    FROM ticket_tiers t JOIN events e ON e.id = t.event_id
   WHERE t.id = p_tier_id;
  IF NOT FOUND THEN
    RETURN lt_error('TIER_NOT_FOUND', 'no ticket tier has this id');
  END IF;
  IF v_available < p_quantity THEN
    RETURN lt_error('INSUFFICIENT_INVENTORY', format('%s ticket(s) left, %s requested', greatest(v_available, 0), p_quantity));
  END IF;

  IF v_capacity IS NOT NULL THEN
    -- A cap spans tiers, so no single tier row can guard it: serialise the event's reservations on the
    -- event row, then count. A no-op UPDATE rather than SELECT ... FOR UPDATE: under REPEATABLE READ or
    -- SERIALIZABLE it raises 40001 when another reservation committed after our snapshot was taken, so
    -- the count below never comes from a stale snapshot (READ COMMITTED takes a fresh one anyway).
    UPDATE events SET capacity = capacity WHERE id = v_event_id;
    SELECT coalesce(sum(sold_quantity + reserved_quantity), 0) INTO v_committed
      FROM ticket_tiers WHERE event_id = v_event_id;
    IF v_committed + p_quantity > v_capacity THEN
      RETURN lt_error('INSUFFICIENT_INVENTORY', 'the event is at capacity');
    END IF;
  END IF;

  -- The hold goes in before the tier row is locked, so the hot lock is held for the UPDATE and the
  -- commit only.
  v_expires_at := now() + make_interval(secs => v_hold_seconds);
  INSERT INTO ticket_holds (tier_id, event_id, session_id, user_id, quantity, expires_at)
  VALUES (p_tier_id, v_event_id, p_session_id, p_user_id, p_quantity, v_expires_at)
  ON CONFLICT (session_id, tier_id) WHERE status = 'active' AND session_id IS NOT NULL DO NOTHING
  RETURNING id INTO v_hold_id;
  IF v_hold_id IS NULL THEN
    RETURN lt_error('HOLD_EXISTS', 'this session already holds tickets of this tier');
  END IF;

  UPDATE ticket_tiers
     SET reserved_quantity = reserved_quantity + p_quantity, updated_at = now()
   WHERE id = p_tier_id AND total_quantity - sold_quantity - reserved_quantity >= p_quantity;
  IF NOT FOUND THEN
    DELETE FROM ticket_holds WHERE id = v_hold_id;
    RETURN lt_error('INSUFFICIENT_INVENTORY', 'sold out while reserving');
  END IF;

  RETURN jsonb_build_object('ok', true, 'hold_id', v_hold_id, 'tier_id', p_tier_id,
                            'quantity', p_quantity, 'expires_at', v_expires_at);
END
$$;

-- Raising variant for RPC callers: reserves several tiers all-or-nothing. Tiers are taken in id order
-- so two batches over the same tiers cannot deadlock.
CREATE OR REPLACE FUNCTION public.reserve_tickets_batch(
  p_items jsonb, p_session_id text, p_user_id uuid DEFAULT NULL)
RETURNS TABLE (hold_id uuid, tier_id uuid, quantity integer, expires_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, extensions, pg_temp
AS $$
DECLARE
  v_item record;
  v_result jsonb;
  v_sqlstate text;
BEGIN
  IF p_items IS NULL OR jsonb_typeof(p_items) <> 'array' OR jsonb_array_length(p_items) NOT BETWEEN 1 AND 20 THEN
    RAISE EXCEPTION 'INVALID_REQUEST' USING ERRCODE = 'LT400',
      DETAIL = 'p_items must be a JSON array of 1 to 20 objects {"tier_id": uuid, "quantity": 1..10}';
  END IF;
  IF EXISTS (
    SELECT 1 FROM jsonb_array_elements(p_items) e
     WHERE jsonb_typeof(e) <> 'object'
        OR lt_try_uuid(e ->> 'tier_id') IS NULL
        OR jsonb_typeof(e -> 'quantity') IS DISTINCT FROM 'number'
        OR (e ->> 'quantity') !~ '^[0-9]+$'
  ) THEN
    RAISE EXCEPTION 'INVALID_REQUEST' USING ERRCODE = 'LT400',
      DETAIL = 'every item needs "tier_id" (a uuid) and "quantity" (a whole number from 1 to 10)';
  END IF;
  IF (SELECT count(DISTINCT e ->> 'tier_id') <> count(*) FROM jsonb_array_elements(p_items) e) THEN
    RAISE EXCEPTION 'INVALID_REQUEST' USING ERRCODE = 'LT400',
      DETAIL = 'a tier may appear once per batch: add the quantities together';
  END IF;

  FOR v_item IN
    SELECT (e ->> 'tier_id')::uuid AS item_tier, (e ->> 'quantity')::numeric AS item_quantity
      FROM jsonb_array_elements(p_items) e ORDER BY 1
  LOOP
    IF v_item.item_quantity NOT BETWEEN 1 AND 10 THEN
      RAISE EXCEPTION 'INVALID_REQUEST' USING ERRCODE = 'LT400', DETAIL = 'quantity must be from 1 to 10';
    END IF;
    v_result := try_reserve(v_item.item_tier, v_item.item_quantity::integer, p_session_id, p_user_id);
    IF NOT (v_result ->> 'ok')::boolean THEN
      v_sqlstate := CASE v_result ->> 'error'
        WHEN 'INSUFFICIENT_INVENTORY' THEN 'LT409'
        WHEN 'TIER_NOT_FOUND' THEN 'LT404'
        WHEN 'HOLD_EXISTS' THEN 'LT413'
        ELSE 'LT400' END;
      RAISE EXCEPTION '%', v_result ->> 'error' USING ERRCODE = v_sqlstate,
        DETAIL = format('tier %s: %s', v_item.item_tier, v_result ->> 'message');
    END IF;
    hold_id := (v_result ->> 'hold_id')::uuid;
    tier_id := v_item.item_tier;
    quantity := v_item.item_quantity::integer;
    expires_at := (v_result ->> 'expires_at')::timestamptz;
    RETURN NEXT;
  END LOOP;
END
$$;

-- A pending order for active holds of one session. Checking out the same holds again returns their
-- existing pending order rather than a second one.
CREATE OR REPLACE FUNCTION public.checkout_holds(p_hold_ids uuid[], p_session_id text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, extensions, pg_temp
AS $$
DECLARE
  v_wanted integer;
  v_found integer;
  v_events integer;
  v_event_id uuid;
  v_expired boolean;
  v_inactive boolean;
  v_orders integer;
  v_existing_order uuid;
  v_order_id uuid;
  v_total bigint;
  v_expires_at timestamptz;
BEGIN
  v_wanted := (SELECT count(DISTINCT x) FROM unnest(p_hold_ids) x WHERE x IS NOT NULL);
  IF v_wanted = 0 THEN
    RETURN lt_error('INVALID_REQUEST', 'name at least one hold');
  END IF;

  PERFORM 1 FROM ticket_holds WHERE id = ANY (p_hold_ids) ORDER BY id FOR UPDATE;

  SELECT count(*), count(DISTINCT h.event_id), min(h.event_id::text)::uuid,
         bool_or(h.status = 'expired' OR (h.status = 'active' AND h.expires_at <= now())),
         bool_or(h.status NOT IN ('active', 'expired')),
         count(DISTINCT h.order_id), min(h.order_id::text)::uuid,
         coalesce(sum(h.quantity::bigint * t.price_cents), 0), min(h.expires_at)
    INTO v_found, v_events, v_event_id, v_expired, v_inactive, v_orders, v_existing_order, v_total, v_expires_at
    FROM ticket_holds h JOIN ticket_tiers t ON t.id = h.tier_id
   WHERE h.id = ANY (p_hold_ids) AND h.session_id IS NOT DISTINCT FROM p_session_id;

  IF v_found <> v_wanted THEN
    RETURN lt_error('HOLD_NOT_FOUND', 'no active hold of this session has this id');
  END IF;
  IF v_expired THEN
    RETURN lt_error('HOLD_EXPIRED', 'the hold expired before checkout; reserve again');
  END IF;
  IF v_inactive THEN
    RETURN lt_error('HOLD_NOT_ACTIVE', 'the hold was already converted or released');
  END IF;
  IF v_events <> 1 THEN
    RETURN lt_error('INVALID_REQUEST', 'all holds of one checkout must belong to one event');
  END IF;

  IF v_existing_order IS NOT NULL THEN
    IF v_orders = 1 AND (SELECT count(*) FROM ticket_holds WHERE order_id = v_existing_order) = v_wanted
       AND EXISTS (SELECT 1 FROM orders WHERE id = v_existing_order AND status = 'pending') THEN
      RETURN jsonb_build_object('ok', true, 'order_id', v_existing_order, 'total_cents', v_total, 'expires_at', v_expires_at);
    END IF;
    RETURN lt_error('HOLD_NOT_ACTIVE', 'the hold already belongs to another checkout');
  END IF;

  INSERT INTO orders (event_id, session_id, user_id, total_cents)
  SELECT v_event_id, p_session_id, min(user_id::text)::uuid, v_total FROM ticket_holds WHERE id = ANY (p_hold_ids)
  RETURNING id INTO v_order_id;
  UPDATE ticket_holds SET order_id = v_order_id, updated_at = now() WHERE id = ANY (p_hold_ids);

  RETURN jsonb_build_object('ok', true, 'order_id', v_order_id, 'total_cents', v_total, 'expires_at', v_expires_at);
END
$$;

-- One checkout attempt without idempotency: reserve + pending order, or checkout of an existing hold.
-- For a new reservation the order row is written first and the seats last, so that the tier row lock
-- taken by try_reserve is held for as little as possible before commit.
CREATE OR REPLACE FUNCTION public.lt_checkout_once(p_request jsonb)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, extensions, pg_temp
AS $$
DECLARE
  v_event_id uuid := lt_try_uuid(p_request ->> 'event_id');
  v_tier_id uuid := lt_try_uuid(p_request ->> 'tier_id');
  v_hold_id uuid := lt_try_uuid(p_request ->> 'hold_id');
  v_session text := p_request ->> 'session_id';
  v_user_id uuid := lt_try_uuid(p_request ->> 'user_id');
  v_quantity integer;
  v_available integer;
  v_price integer;
  v_order_id uuid;
  v_reserved jsonb;
  v_checkout jsonb;
BEGIN
  IF v_event_id IS NULL OR NOT EXISTS (SELECT 1 FROM events WHERE id = v_event_id) THEN
    RETURN lt_error('EVENT_NOT_FOUND', 'no event has this event_id');
  END IF;
  IF v_session IS NULL OR length(v_session) NOT BETWEEN 1 AND 128 THEN
    RETURN lt_error('INVALID_REQUEST', 'session_id must be a string of 1 to 128 characters');
  END IF;

  IF p_request ? 'hold_id' THEN
    IF v_hold_id IS NULL OR NOT EXISTS (SELECT 1 FROM ticket_holds WHERE id = v_hold_id AND event_id = v_event_id) THEN
      RETURN lt_error('HOLD_NOT_FOUND', 'no hold of this event has this hold_id');
    END IF;
    v_checkout := checkout_holds(ARRAY[v_hold_id], v_session);
    IF NOT (v_checkout ->> 'ok')::boolean THEN
      RETURN v_checkout;
    END IF;
    RETURN jsonb_build_object('ok', true, 'order_id', v_checkout -> 'order_id', 'hold_id', v_hold_id,
                              'expires_at', v_checkout -> 'expires_at', 'total_cents', v_checkout -> 'total_cents');
  END IF;

  IF jsonb_typeof(p_request -> 'quantity') IS DISTINCT FROM 'number' OR (p_request ->> 'quantity') !~ '^[0-9]{1,2}$' THEN
    RETURN lt_error('INVALID_REQUEST', 'quantity must be an integer from 1 to 10');
  END IF;
  v_quantity := (p_request ->> 'quantity')::integer;
  SELECT total_quantity - sold_quantity - reserved_quantity, price_cents INTO v_available, v_price
    FROM ticket_tiers WHERE id = v_tier_id AND event_id = v_event_id;
  IF NOT FOUND THEN
    RETURN lt_error('TIER_NOT_FOUND', 'no tier of this event has this tier_id');
  END IF;
  IF v_available < v_quantity THEN
    -- Sold out is the common answer in a flash sale: give it without writing anything.
    RETURN lt_error('INSUFFICIENT_INVENTORY', format('%s ticket(s) left, %s requested', greatest(v_available, 0), v_quantity));
  END IF;

  INSERT INTO orders (event_id, session_id, user_id, total_cents)
  VALUES (v_event_id, v_session, v_user_id, v_price::bigint * v_quantity)
  RETURNING id INTO v_order_id;
  v_reserved := try_reserve(v_tier_id, v_quantity, v_session, v_user_id);
  IF NOT (v_reserved ->> 'ok')::boolean THEN
    DELETE FROM orders WHERE id = v_order_id;
    RETURN v_reserved;
  END IF;
  v_hold_id := (v_reserved ->> 'hold_id')::uuid;
  UPDATE ticket_holds SET order_id = v_order_id WHERE id = v_hold_id;
  RETURN jsonb_build_object('ok', true, 'order_id', v_order_id, 'hold_id', v_hold_id,
                            'expires_at', v_reserved -> 'expires_at', 'total_cents', v_price::bigint * v_quantity);
END
$$;

-- The enhanced-checkout endpoint in one call. With an idempotency key, the first outcome (success or a
-- business error) is stored in the same transaction; concurrent requests with that key wait on the key's
-- unique index until it commits, then replay it.
CREATE OR REPLACE FUNCTION public.enhanced_checkout(
  p_request jsonb, p_idempotency_key text DEFAULT NULL, p_request_hash text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, extensions, pg_temp
AS $$
DECLARE
  v_scope constant text := 'enhanced-checkout';
  v_hash text := coalesce(p_request_hash, md5(coalesce(p_request, 'null'::jsonb)::text));
  v_stored record;
  v_result jsonb;
BEGIN
  IF p_request IS NULL OR jsonb_typeof(p_request) <> 'object' THEN
    RETURN lt_error('INVALID_REQUEST', 'the request must be a JSON object') || '{"replay": false}';
  END IF;
  IF p_idempotency_key IS NULL THEN
    RETURN lt_checkout_once(p_request) || '{"replay": false}';
  END IF;

  INSERT INTO idempotency_keys (scope, key, request_hash, response)
  VALUES (v_scope, p_idempotency_key, v_hash, '{}')
  ON CONFLICT (scope, key) DO NOTHING;
  IF NOT FOUND THEN
    SELECT request_hash, response INTO v_stored FROM idempotency_keys WHERE scope = v_scope AND key = p_idempotency_key;
    IF v_stored.request_hash <> v_hash THEN
      RETURN lt_error('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was already used with a different request body')
             || '{"replay": false}';
    END IF;
    RETURN v_stored.response || '{"replay": true}';
  END IF;

  v_result := lt_checkout_once(p_request);
  UPDATE idempotency_keys SET response = v_result WHERE scope = v_scope AND key = p_idempotency_key;
  RETURN v_result || '{"replay": false}';
END
$$;

-- What the payment provider's hosted checkout page checks before taking a card.
CREATE OR REPLACE FUNCTION public.open_checkout_session(p_order_id uuid)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, extensions, pg_temp
AS $$
DECLARE
  v_order orders%ROWTYPE;
  v_expired boolean;
  v_expires_at timestamptz;
BEGIN
  SELECT * INTO v_order FROM orders WHERE id = p_order_id;
  IF NOT FOUND THEN
    RETURN lt_error('ORDER_NOT_FOUND', 'no order has this id');
  END IF;
  IF v_order.status <> 'pending' THEN
    RETURN lt_error('ORDER_NOT_PENDING', format('the order is %s', v_order.status));
  END IF;
  SELECT bool_or(status <> 'active' OR expires_at <= now()), min(expires_at) INTO v_expired, v_expires_at
    FROM ticket_holds WHERE order_id = p_order_id;
  IF v_expired IS NULL OR v_expired THEN
    RETURN lt_error('HOLD_EXPIRED', 'the seats of this order are no longer held; reserve again');
  END IF;
  RETURN jsonb_build_object('ok', true, 'order_id', p_order_id, 'status', 'open',
                            'amount_cents', v_order.total_cents, 'expires_at', v_expires_at);
END
$$;

-- Payment completion, exactly once per order however often and however concurrently the provider
-- delivers it: the order row lock serialises deliveries, the status makes later ones replays.
CREATE OR REPLACE FUNCTION public.complete_payment(p_order_id uuid, p_provider_event_id text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, extensions, pg_temp
AS $$
DECLARE
  v_order orders%ROWTYPE;
  v_tickets integer;
BEGIN
  SELECT * INTO v_order FROM orders WHERE id = p_order_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN lt_error('ORDER_NOT_FOUND', 'no order has this id');
  END IF;
  INSERT INTO payment_events (provider_event_id, order_id) VALUES (p_provider_event_id, p_order_id)
  ON CONFLICT (provider_event_id) DO NOTHING;

  IF v_order.status = 'paid' THEN
    SELECT count(*) INTO v_tickets FROM tickets WHERE order_id = p_order_id;
    RETURN jsonb_build_object('ok', true, 'order_id', p_order_id, 'status', 'paid',
                              'tickets_issued', v_tickets, 'replay', true);
  END IF;
  IF v_order.status = 'payment_failed' THEN
    RETURN lt_error('HOLD_EXPIRED', 'the seats were gone when the payment arrived; refund the payment');
  END IF;
  IF v_order.status <> 'pending' THEN
    RETURN lt_error('ORDER_NOT_PENDING', format('the order is %s', v_order.status));
  END IF;

  PERFORM 1 FROM ticket_holds WHERE order_id = p_order_id ORDER BY id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN lt_error('HOLD_NOT_FOUND', 'the order has no holds');
  END IF;
  PERFORM 1 FROM ticket_tiers WHERE id IN (SELECT tier_id FROM ticket_holds WHERE order_id = p_order_id)
   ORDER BY id FOR NO KEY UPDATE;

  -- Paid after expiry (or release): those seats went back to the pool, so they are sold again only if
  -- they are still free; otherwise the order fails as a whole and nothing is half-sold.
  IF EXISTS (
    SELECT 1
      FROM (SELECT tier_id, sum(quantity) AS qty FROM ticket_holds
             WHERE order_id = p_order_id AND status <> 'active' GROUP BY tier_id) returned
      JOIN ticket_tiers t ON t.id = returned.tier_id
     WHERE t.total_quantity - t.sold_quantity - t.reserved_quantity < returned.qty
  ) THEN
    UPDATE orders SET status = 'payment_failed', payment_event_id = p_provider_event_id WHERE id = p_order_id;
    RETURN lt_error('HOLD_EXPIRED', 'the seats were gone when the payment arrived; refund the payment');
  END IF;

  UPDATE ticket_tiers t
     SET sold_quantity = sold_quantity + held.qty, reserved_quantity = reserved_quantity - held.active_qty,
         updated_at = now()
    FROM (SELECT tier_id, sum(quantity) AS qty, coalesce(sum(quantity) FILTER (WHERE status = 'active'), 0) AS active_qty
            FROM ticket_holds WHERE order_id = p_order_id GROUP BY tier_id) held
   WHERE t.id = held.tier_id;

  UPDATE ticket_holds SET status = 'converted', updated_at = now() WHERE order_id = p_order_id;
  INSERT INTO tickets (order_id, hold_id, tier_id, event_id, seat_number, qr_code)
  SELECT p_order_id, h.id, h.tier_id, h.event_id, seat, new_qr_code()
    FROM ticket_holds h CROSS JOIN LATERAL generate_series(1, h.quantity) AS seat
   WHERE h.order_id = p_order_id;
  GET DIAGNOSTICS v_tickets = ROW_COUNT;
  UPDATE orders SET status = 'paid', paid_at = now(), payment_event_id = p_provider_event_id WHERE id = p_order_id;

  RETURN jsonb_build_object('ok', true, 'order_id', p_order_id, 'status', 'paid',
                            'tickets_issued', v_tickets, 'replay', false);
END
$$;

-- The buyer gives seats back before paying.
CREATE OR REPLACE FUNCTION public.release_hold(p_hold_id uuid, p_session_id text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, extensions, pg_temp
AS $$
DECLARE
  v_hold ticket_holds%ROWTYPE;
BEGIN
  SELECT * INTO v_hold FROM ticket_holds
   WHERE id = p_hold_id AND session_id IS NOT DISTINCT FROM p_session_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN lt_error('HOLD_NOT_FOUND', 'no hold of this session has this id');
  END IF;
  IF v_hold.status <> 'active' THEN
    RETURN lt_error('HOLD_NOT_ACTIVE', format('the hold is %s', v_hold.status));
  END IF;
  UPDATE ticket_holds SET status = 'released', updated_at = now() WHERE id = p_hold_id;
  UPDATE ticket_tiers SET reserved_quantity = reserved_quantity - v_hold.quantity, updated_at = now()
   WHERE id = v_hold.tier_id;
  IF v_hold.order_id IS NOT NULL THEN
    UPDATE orders SET status = 'cancelled' WHERE id = v_hold.order_id AND status = 'pending';
  END IF;
  RETURN jsonb_build_object('ok', true, 'hold_id', p_hold_id, 'status', 'released');
END
$$;

-- The Liventix Advanced Load Testing Guide's cron job: expire holds past their time and give their seats back. Holds that a payment is
-- converting right now are locked, and skipped rather than waited for.
CREATE OR REPLACE FUNCTION public.cleanup_expired_holds()
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, extensions, pg_temp
AS $$
DECLARE
  v_tiers uuid[];
  v_quantities bigint[];
  v_expired integer;
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

  FOR i IN 1 .. coalesce(array_length(v_tiers, 1), 0) LOOP
    UPDATE ticket_tiers SET reserved_quantity = reserved_quantity - v_quantities[i], updated_at = now()
     WHERE id = v_tiers[i];
  END LOOP;
  RETURN v_expired;
END
$$;

-- Stored idempotent responses are only needed for as long as clients retry.
CREATE OR REPLACE FUNCTION public.cleanup_idempotency_keys(p_older_than interval DEFAULT interval '24 hours')
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, extensions, pg_temp
AS $$
DECLARE
  v_deleted integer;
BEGIN
  DELETE FROM idempotency_keys WHERE created_at < now() - p_older_than;
  GET DIAGNOSTICS v_deleted = ROW_COUNT;
  RETURN v_deleted;
END
$$;
