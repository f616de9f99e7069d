-- Planted fault "duplicate_holds" (replaces the one-hold-per-session guard: drops the partial unique index
-- uniq_active_hold_session_tier and replaces try_reserve, same signature, with an application-level
-- "does this session already hold this tier?" check). Check-then-insert without a unique index lets a
-- double-clicking buyer (two concurrent requests of one session) take two holds on the same tier.
-- pg_sleep(0.005) between the check and the insert widens the race window.
-- Each fault file stands alone (SQL editor, psql -f), hence the repeated boilerplate across files.
DROP INDEX IF EXISTS public.uniq_active_hold_session_tier;

CREATE OR REPLACE FUNCTION public.try_reserve(
  p_tier_id uuid, p_quantity integer, p_session_id text, p_user_id uuid DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, extensions, pg_temp
AS $$
DECLARE
  v_event_id uuid;
  v_hold_seconds integer;
  v_hold_id uuid;
  v_expires_at timestamptz;
BEGIN
  IF p_quantity IS NULL OR p_quantity < 1 OR p_quantity > 10 THEN
    RETURN lt_error('INVALID_REQUEST', 'quantity must be an integer from 1 to 10');
  END IF;
  SELECT e.id, e.hold_seconds INTO v_event_id, v_hold_seconds
    FROM ticket_tiers t JOIN events e ON e.id = t.event_id WHERE t.id = p_tier_id;
  IF NOT FOUND THEN
    RETURN lt_error('TIER_NOT_FOUND', 'no ticket tier has this id');
  END IF;
  -- FAULT: an unlocked existence check stands in for the unique index.
  IF EXISTS (SELECT 1 FROM ticket_holds WHERE session_id = p_session_id AND tier_id = p_tier_id AND status = 'active') THEN
    RETURN lt_error('HOLD_EXISTS', 'this session already holds tickets of this tier');
  END IF;
  PERFORM pg_sleep(0.005);

  v_expires_at := now() + make_interval(secs => v_hold_seconds);
  INSERT INTO ticket_holds (tier_id, event_id, session_id, user_id, quantity, expires_at)
  VALUES (p_tier_id, v_event_id, p_session_id, p_user_id, p_quantity, v_expires_at)
  RETURNING id INTO v_hold_id;
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
