-- Planted fault "double_checkout" (replaces checkout_holds; same signature). The holds are read without
-- FOR UPDATE, so two concurrent checkouts of one hold (a double-click, a second browser tab) both see
-- "no order yet" and both create a pending order. The hold ends up pointing at the last one; the other
-- order owns nothing, yet has a payment session: a buyer who pays it is charged for no seats.
-- pg_sleep(0.01) between the "already checked out?" check and the insert widens the race window.
-- Simplified: no total-price or multi-event subtleties beyond what the reference checks first.
CREATE OR REPLACE FUNCTION public.checkout_holds(p_hold_ids uuid[], p_session_id text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, extensions, pg_temp
AS $$
DECLARE
  v_wanted integer;
  v_found integer;
  v_event_id uuid;
  v_expired boolean;
  v_inactive boolean;
  v_existing_order uuid;
  v_order_id uuid;
  v_total bigint;
  v_expires_at timestamptz;
BEGIN
  v_wanted := (SELECT count(DISTINCT x) FROM unnest(p_hold_ids) x WHERE x IS NOT NULL);
  IF v_wanted = 0 THEN
    RETURN lt_error('INVALID_REQUEST', 'name at least one hold');
  END IF;
  -- FAULT: no "SELECT ... FOR UPDATE" on the holds before deciding.
  SELECT count(*), min(h.event_id::text)::uuid,
         bool_or(h.status = 'expired' OR (h.status = 'active' AND h.expires_at <= now())),
         bool_or(h.status NOT IN ('active', 'expired')), min(h.order_id::text)::uuid,
         coalesce(sum(h.quantity::bigint * t.price_cents), 0), min(h.expires_at)
    INTO v_found, v_event_id, v_expired, v_inactive, v_existing_order, v_total, v_expires_at
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
  IF v_existing_order IS NOT NULL THEN
    RETURN jsonb_build_object('ok', true, 'order_id', v_existing_order, 'total_cents', v_total, 'expires_at', v_expires_at);
  END IF;

  PERFORM pg_sleep(0.01);  -- FAULT: a concurrent checkout passes the same check meanwhile

  INSERT INTO orders (event_id, session_id, user_id, total_cents)
  SELECT v_event_id, p_session_id, min(user_id::text)::uuid, v_total FROM ticket_holds WHERE id = ANY (p_hold_ids)
  RETURNING id INTO v_order_id;
  UPDATE ticket_holds SET order_id = v_order_id, updated_at = now() WHERE id = ANY (p_hold_ids);
  RETURN jsonb_build_object('ok', true, 'order_id', v_order_id, 'total_cents', v_total, 'expires_at', v_expires_at);
END
$$;
