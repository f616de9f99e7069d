-- Planted fault "write_skew_event_cap" (replaces try_reserve; same signature). An event cap spans tiers,
-- so no tier row can guard it. This version checks "sold + reserved across all tiers < cap" and then
-- updates only its own tier row, without serialising on the event row (the reference takes
-- SELECT ... FOR UPDATE on events). Two buyers of different tiers each see room for one more and both
-- commit: the cap is exceeded although each transaction was consistent on its own (write skew; under
-- REPEATABLE READ the snapshot makes it certain, under READ COMMITTED the sleep below does).
-- pg_sleep(0.02) between the count and the write widens the race window: wide enough that the bursts
-- racing for the last seats under the cap overlap in it even through a busy 2-core test runner.
-- Each fault file stands alone (SQL editor, psql -f), hence the repeated boilerplate across files.
CREATE OR REPLACE FUNCTION public.try_reserve(
  p_tier_id uuid, p_quantity integer, p_session_id text, p_user_id uuid DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, extensions, pg_temp
AS $$
DECLARE
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
  SELECT e.id, e.capacity, e.hold_seconds INTO v_event_id, v_capacity, v_hold_seconds
    FROM ticket_tiers t JOIN events e ON e.id = t.event_id WHERE t.id = p_tier_id;
  IF NOT FOUND THEN
    RETURN lt_error('TIER_NOT_FOUND', 'no ticket tier has this id');
  END IF;
  IF v_capacity IS NOT NULL THEN
    -- FAULT: no lock on the event row; the count is stale as soon as it is taken.
    SELECT coalesce(sum(sold_quantity + reserved_quantity), 0) INTO v_committed
      FROM ticket_tiers WHERE event_id = v_event_id;
    IF v_committed + p_quantity > v_capacity THEN
      RETURN lt_error('INSUFFICIENT_INVENTORY', 'the event is at capacity');
    END IF;
    PERFORM pg_sleep(0.02);
  END IF;

  v_expires_at := now() + make_interval(secs => v_hold_seconds);
  INSERT INTO ticket_holds (tier_id, event_id, session_id, user_id, quantity, expires_at)
  VALUES (p_tier_id, v_event_id, p_session_id, p_user_id, p_quantity, v_expires_at)
  ON CONFLICT (session_id, tier_id) WHERE status = 'active' AND session_id IS NOT NULL DO NOTHING
  RETURNING id INTO v_hold_id;
  IF v_hold_id IS NULL THEN
    RETURN lt_error('HOLD_EXISTS', 'this session already holds tickets of this tier');
  END IF;
  -- The tier itself stays guarded: only the cross-tier cap is broken.
  UPDATE ticket_tiers SET reserved_quantity = reserved_quantity + p_quantity, updated_at = now()
   WHERE id = p_tier_id AND total_quantity - sold_quantity - reserved_quantity >= p_quantity;
  IF NOT FOUND THEN
    DELETE FROM ticket_holds WHERE id = v_hold_id;
    RETURN lt_error('INSUFFICIENT_INVENTORY', 'sold out while reserving');
  END IF;
  RETURN jsonb_build_object('ok', true, 'hold_id', v_hold_id, 'tier_id', p_tier_id,
                            'quantity', p_quantity, 'expires_at', v_expires_at);
END
$$;
