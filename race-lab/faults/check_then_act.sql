-- Planted fault "check_then_act" (replaces try_reserve; same signature). The classic oversell: read the
-- availability, decide, then write an unguarded increment. Under READ COMMITTED two buyers both see the
-- last seat free and both take it. The CHECK constraints still refuse the oversold row, so the losers
-- get a 23514 error (HTTP 500, pgbench aborts the client) instead of a clean "sold out".
-- pg_sleep(0.005) between the check and the write widens the race window so a few seconds expose it.
-- Each fault file stands alone (SQL editor, psql -f), hence the repeated boilerplate across files.
CREATE OR REPLACE FUNCTION public.try_reserve(
  p_tier_id uuid, p_quantity integer, p_session_id text, p_user_id uuid DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, extensions, pg_temp
AS $$
DECLARE
  v_available integer;
  v_event_id uuid;
  v_hold_seconds integer;
  v_hold_id uuid;
  v_expires_at timestamptz;
BEGIN
  IF p_quantity IS NULL OR p_quantity < 1 OR p_quantity > 10 THEN
    RETURN lt_error('INVALID_REQUEST', 'quantity must be an integer from 1 to 10');
  END IF;
  SELECT t.total_quantity - t.sold_quantity - t.reserved_quantity, e.id, e.hold_seconds
    INTO v_available, v_event_id, v_hold_seconds
    FROM ticket_tiers t JOIN events e ON e.id = t.event_id WHERE t.id = p_tier_id;
  IF NOT FOUND THEN
    RETURN lt_error('TIER_NOT_FOUND', 'no ticket tier has this id');
  END IF;
  IF v_available < p_quantity THEN
    RETURN lt_error('INSUFFICIENT_INVENTORY', format('%s ticket(s) left', greatest(v_available, 0)));
  END IF;

  PERFORM pg_sleep(0.005);  -- FAULT: the decision above is stale by the time we write

  v_expires_at := now() + make_interval(secs => v_hold_seconds);
  INSERT INTO ticket_holds (tier_id, event_id, session_id, user_id, quantity, expires_at)
  VALUES (p_tier_id, v_event_id, p_session_id, p_user_id, p_quantity, v_expires_at)
  ON CONFLICT (session_id, tier_id) WHERE status = 'active' AND session_id IS NOT NULL DO NOTHING
  RETURNING id INTO v_hold_id;
  IF v_hold_id IS NULL THEN
    RETURN lt_error('HOLD_EXISTS', 'this session already holds tickets of this tier');
  END IF;
  -- FAULT: no "AND total - sold - reserved >= quantity" guard on the write.
  UPDATE ticket_tiers SET reserved_quantity = reserved_quantity + p_quantity, updated_at = now() WHERE id = p_tier_id;
  RETURN jsonb_build_object('ok', true, 'hold_id', v_hold_id, 'tier_id', p_tier_id,
                            'quantity', p_quantity, 'expires_at', v_expires_at);
END
$$;
