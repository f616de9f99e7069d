-- Planted fault "slow_reserve" (replaces try_reserve; same signature). Reserve locks the tier row first and
-- then does slow work while it holds the lock (pg_sleep(0.25) here; in real systems a slow trigger, an audit
-- write or a call out from inside the transaction): every reservation of a hot tier, sold out or not, queues
-- behind the one before. Nothing is oversold and no invariant breaks: what suffers is latency under
-- contention, which the race bundle must judge (exit 99 on reserve_latency) and the race lab too
-- (latency_under_2000ms). Each fault file stands alone (SQL editor, psql -f), hence the repeated body.
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

  -- FAULT: the tier row is locked up front and slow work happens while it is held.
  PERFORM 1 FROM ticket_tiers WHERE id = p_tier_id FOR UPDATE;
  PERFORM pg_sleep(0.25);

  -- The reference's unlocked look; here it comes too late, the lock above is already held.
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
