-- A double-clicked "reserve" under SERIALIZABLE: the second click is answered HOLD_EXISTS from the
-- unique index of active holds, not cancelled with 40001. Idempotent; PostgreSQL 15 and 18.
--
-- Why: try_reserve took the hold with INSERT ... ON CONFLICT DO NOTHING. Under REPEATABLE READ and
-- SERIALIZABLE, ON CONFLICT raises 40001 ("could not serialize access due to concurrent update") when the
-- conflicting row was committed after the transaction's snapshot, which is exactly what the second of two
-- clicks sent at once meets: the first click's hold. On the embedded target's k6 spike (500 VUs, 5 % of
-- reserves double-clicked) that was half of the reservations' 40001s, each retried by the server only to
-- end in HOLD_EXISTS. A plain INSERT waits for the first click the same way, then fails the unique index
-- with 23505, which PostgreSQL reports as such unless this transaction had read the conflicting index page
-- (a real read-write conflict, still 40001); the handler below turns it into HOLD_EXISTS as before.
-- Under READ COMMITTED nothing changes: both forms wait for the first click and answer HOLD_EXISTS.
-- The handler is a subtransaction per reservation; docs/inventory-buckets.md gives its measured cost.
--
-- As in 20261201000300_serializable_http_path.sql otherwise (keep `SET enable_seqscan = off`).
CREATE OR REPLACE FUNCTION public.try_reserve(
  p_tier_id uuid, p_quantity integer, p_session_id text, p_user_id uuid DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, extensions, pg_temp SET enable_seqscan = off
AS $$
DECLARE
  v_available integer;
  v_buckets integer;
  v_event_id uuid;
  v_capacity integer;
  v_hold_seconds integer;
  v_committed bigint;
  v_hold_id uuid;
  v_bucket integer;
  v_settled boolean;
  v_expires_at timestamptz;
  v_constraint text;
  v_order_id uuid := nullif(current_setting('liventix.checkout_order_id', true), '')::uuid;
BEGIN
  IF p_quantity IS NULL OR p_quantity < 1 OR p_quantity > 10 THEN
    RETURN lt_error('INVALID_REQUEST', 'quantity must be an integer from 1 to 10');
  END IF;

  SELECT t.total_quantity - t.sold_quantity - t.reserved_quantity, t.bucket_count, e.id, e.capacity, e.hold_seconds
    INTO v_available, v_buckets, v_event_id, v_capacity, v_hold_seconds
    FROM ticket_tiers t JOIN events e ON e.id = t.event_id
   WHERE t.id = p_tier_id;
  IF NOT FOUND THEN
    RETURN lt_error('TIER_NOT_FOUND', 'no ticket tier has this id');
  END IF;
  -- Single row: an unlocked look answers sold out without queueing on the hot row; the guarded UPDATE
  -- below decides again under the lock.
  IF v_buckets = 1 AND v_available < p_quantity THEN
    RETURN lt_error('INSUFFICIENT_INVENTORY', format('%s ticket(s) left, %s requested', greatest(v_available, 0), p_quantity));
  END IF;

  IF v_capacity IS NOT NULL THEN
    -- A cap spans tiers, so no single row can guard it: serialise the event's reservations on the event
    -- row, then count. A no-op UPDATE rather than SELECT ... FOR UPDATE: under REPEATABLE READ or
    -- SERIALIZABLE it raises 40001 when another reservation committed after our snapshot was taken, so
    -- the count never comes from a stale snapshot. Live counts, in case a bucketed tier joined the event.
    UPDATE events SET capacity = capacity WHERE id = v_event_id;
    SELECT coalesce(sum(sold_quantity + reserved_quantity), 0) INTO v_committed FROM tier_inventory(v_event_id);
    IF v_committed + p_quantity > v_capacity THEN
      RETURN lt_error('INSUFFICIENT_INVENTORY', 'the event is at capacity');
    END IF;
  END IF;

  v_expires_at := now() + make_interval(secs => v_hold_seconds);
  IF v_buckets > 1 THEN
    -- The common case, one guarded UPDATE of a random bucket; then the open buckets after it.
    v_bucket := floor(random() * v_buckets)::integer;
    UPDATE inventory_buckets SET reserved_quantity = reserved_quantity + p_quantity
     WHERE tier_id = p_tier_id AND bucket_no = v_bucket AND total_quantity - sold_quantity - reserved_quantity >= p_quantity;
    IF NOT FOUND THEN
      v_bucket := lt_take_seats(p_tier_id, p_quantity, v_bucket, false);
    END IF;
    IF v_bucket IS NULL THEN
      -- Folded back into one row meanwhile (spread_tier_inventory)? Then that row decides.
      IF (SELECT bucket_count FROM ticket_tiers WHERE id = p_tier_id) = 1 THEN
        RETURN try_reserve(p_tier_id, p_quantity, p_session_id, p_user_id);
      END IF;
      RETURN lt_error('INSUFFICIENT_INVENTORY', format('%s ticket(s) requested, fewer are left', p_quantity));
    END IF;
    BEGIN
      INSERT INTO ticket_holds (tier_id, event_id, session_id, user_id, quantity, expires_at, bucket_no, order_id)
      VALUES (p_tier_id, v_event_id, p_session_id, p_user_id, p_quantity, v_expires_at, v_bucket, v_order_id)
      RETURNING id, (SELECT counters_settled FROM ticket_tiers WHERE id = p_tier_id) INTO v_hold_id, v_settled;
    EXCEPTION WHEN unique_violation THEN
      GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
      IF v_constraint IS DISTINCT FROM 'uniq_active_hold_session_tier' THEN
        RAISE;
      END IF;
    END;
    IF v_hold_id IS NULL THEN
      UPDATE inventory_buckets SET reserved_quantity = reserved_quantity - p_quantity
       WHERE tier_id = p_tier_id AND bucket_no = v_bucket;
      RETURN lt_error('HOLD_EXISTS', 'this session already holds tickets of this tier');
    END IF;
    IF v_settled THEN
      UPDATE ticket_tiers SET counters_settled = false, updated_at = now() WHERE id = p_tier_id AND counters_settled;
    END IF;
  ELSE
    -- The hold goes in before the tier row is locked, so the hot lock is held for the UPDATE and the
    -- commit only.
    BEGIN
      INSERT INTO ticket_holds (tier_id, event_id, session_id, user_id, quantity, expires_at, order_id)
      VALUES (p_tier_id, v_event_id, p_session_id, p_user_id, p_quantity, v_expires_at, v_order_id)
      RETURNING id INTO v_hold_id;
    EXCEPTION WHEN unique_violation THEN
      GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
      IF v_constraint IS DISTINCT FROM 'uniq_active_hold_session_tier' THEN
        RAISE;
      END IF;
    END;
    IF v_hold_id IS NULL THEN
      RETURN lt_error('HOLD_EXISTS', 'this session already holds tickets of this tier');
    END IF;
    UPDATE ticket_tiers
       SET reserved_quantity = reserved_quantity + p_quantity, updated_at = now()
     WHERE id = p_tier_id AND bucket_count = 1 AND total_quantity - sold_quantity - reserved_quantity >= p_quantity;
    IF NOT FOUND THEN
      DELETE FROM ticket_holds WHERE id = v_hold_id;
      -- Spread into buckets meanwhile? Then they decide.
      IF (SELECT bucket_count FROM ticket_tiers WHERE id = p_tier_id) > 1 THEN
        RETURN try_reserve(p_tier_id, p_quantity, p_session_id, p_user_id);
      END IF;
      RETURN lt_error('INSUFFICIENT_INVENTORY', 'sold out while reserving');
    END IF;
  END IF;

  RETURN jsonb_build_object('ok', true, 'hold_id', v_hold_id, 'tier_id', p_tier_id,
                            'quantity', p_quantity, 'expires_at', v_expires_at, 'order_id', v_order_id);
END
$$;
