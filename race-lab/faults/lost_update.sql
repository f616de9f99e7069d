-- Planted fault "lost_update" (replaces try_reserve; same signature). Read-modify-write with an absolute
-- value: the counter is read, then written back as "what I read + my quantity". Two concurrent buyers
-- both write 5 + 1 = 6, one increment is lost, the counter undercounts the holds and more holds are
-- granted than seats exist. The CHECK constraints never fire (the counter looks fine), so only
-- reserved_quantity = SUM(active holds) and a count of the holds themselves catch it.
-- pg_sleep(0.005) between the read and the write widens the race window.
-- Each fault file stands alone (SQL editor, psql -f), hence the repeated boilerplate across files.
CREATE OR REPLACE FUNCTION public.try_reserve(
  p_tier_id uuid, p_quantity integer, p_session_id text, p_user_id uuid DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, extensions, pg_temp
AS $$
DECLARE
  v_total integer;
  v_sold integer;
  v_reserved integer;
  v_event_id uuid;
  v_hold_seconds integer;
  v_hold_id uuid;
  v_expires_at timestamptz;
BEGIN
  IF p_quantity IS NULL OR p_quantity < 1 OR p_quantity > 10 THEN
    RETURN lt_error('INVALID_REQUEST', 'quantity must be an integer from 1 to 10');
  END IF;
  SELECT t.total_quantity, t.sold_quantity, t.reserved_quantity, e.id, e.hold_seconds
    INTO v_total, v_sold, v_reserved, v_event_id, v_hold_seconds
    FROM ticket_tiers t JOIN events e ON e.id = t.event_id WHERE t.id = p_tier_id;
  IF NOT FOUND THEN
    RETURN lt_error('TIER_NOT_FOUND', 'no ticket tier has this id');
  END IF;
  IF v_total - v_sold - v_reserved < p_quantity THEN
    RETURN lt_error('INSUFFICIENT_INVENTORY', 'sold out');
  END IF;

  PERFORM pg_sleep(0.005);  -- FAULT: others update the counter meanwhile

  v_expires_at := now() + make_interval(secs => v_hold_seconds);
  INSERT INTO ticket_holds (tier_id, event_id, session_id, user_id, quantity, expires_at)
  VALUES (p_tier_id, v_event_id, p_session_id, p_user_id, p_quantity, v_expires_at)
  ON CONFLICT (session_id, tier_id) WHERE status = 'active' AND session_id IS NOT NULL DO NOTHING
  RETURNING id INTO v_hold_id;
  IF v_hold_id IS NULL THEN
    RETURN lt_error('HOLD_EXISTS', 'this session already holds tickets of this tier');
  END IF;
  -- FAULT: an absolute write of a stale read instead of reserved_quantity = reserved_quantity + n.
  UPDATE ticket_tiers SET reserved_quantity = v_reserved + p_quantity, updated_at = now() WHERE id = p_tier_id;
  RETURN jsonb_build_object('ok', true, 'hold_id', v_hold_id, 'tier_id', p_tier_id,
                            'quantity', p_quantity, 'expires_at', v_expires_at);
END
$$;
