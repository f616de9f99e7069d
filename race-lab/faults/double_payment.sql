-- Planted fault "double_payment" (replaces complete_payment; same signature). The order's status is read
-- without FOR UPDATE, so two deliveries of the same webhook (providers redeliver, and do so concurrently)
-- both see "pending" and both process the payment. The late one finds the seats already converted,
-- takes them for gone and marks the PAID order "payment_failed": the buyer is charged, ticketed and told
-- to expect a refund, all at once. (Had it read the holds first, it would sell the seats twice; the CHECK
-- constraints would then refuse it as a 23514 server error.)
-- pg_sleep(0.01) between the status check and the rest widens the race window.
-- Simplified: an order whose holds are no longer all active fails as the reference's "seats gone" path.
CREATE OR REPLACE FUNCTION public.complete_payment(p_order_id uuid, p_provider_event_id text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, extensions, pg_temp
AS $$
DECLARE
  v_order orders%ROWTYPE;
  v_hold record;
  v_all_active boolean;
  v_tickets integer;
BEGIN
  SELECT * INTO v_order FROM orders WHERE id = p_order_id;  -- FAULT: no FOR UPDATE
  IF NOT FOUND THEN
    RETURN lt_error('ORDER_NOT_FOUND', 'no order has this id');
  END IF;
  INSERT INTO payment_events (provider_event_id, order_id) VALUES (p_provider_event_id, p_order_id)
  ON CONFLICT (provider_event_id) DO NOTHING;
  IF v_order.status = 'paid' THEN
    SELECT count(*) INTO v_tickets FROM tickets WHERE order_id = p_order_id;
    RETURN jsonb_build_object('ok', true, 'order_id', p_order_id, 'status', 'paid', 'tickets_issued', v_tickets, 'replay', true);
  END IF;
  IF v_order.status <> 'pending' THEN
    RETURN lt_error('ORDER_NOT_PENDING', format('the order is %s', v_order.status));
  END IF;

  PERFORM pg_sleep(0.01);  -- FAULT: another delivery passes the same check meanwhile

  SELECT bool_and(status = 'active') INTO v_all_active FROM ticket_holds WHERE order_id = p_order_id;
  IF v_all_active IS NULL THEN
    RETURN lt_error('HOLD_NOT_FOUND', 'the order has no holds');
  END IF;
  IF NOT v_all_active THEN
    UPDATE orders SET status = 'payment_failed', payment_event_id = p_provider_event_id WHERE id = p_order_id;
    RETURN lt_error('HOLD_EXPIRED', 'the seats were gone when the payment arrived; refund the payment');
  END IF;
  FOR v_hold IN SELECT tier_id, sum(quantity) AS qty FROM ticket_holds WHERE order_id = p_order_id
                GROUP BY tier_id ORDER BY tier_id LOOP
    UPDATE ticket_tiers
       SET sold_quantity = sold_quantity + v_hold.qty, reserved_quantity = reserved_quantity - v_hold.qty, updated_at = now()
     WHERE id = v_hold.tier_id;
  END LOOP;
  UPDATE ticket_holds SET status = 'converted', updated_at = now() WHERE order_id = p_order_id;
  INSERT INTO tickets (order_id, hold_id, tier_id, event_id, seat_number, qr_code)
  SELECT p_order_id, h.id, h.tier_id, h.event_id, seat, new_qr_code()
    FROM ticket_holds h CROSS JOIN LATERAL generate_series(1, h.quantity) AS seat
   WHERE h.order_id = p_order_id;
  GET DIAGNOSTICS v_tickets = ROW_COUNT;
  UPDATE orders SET status = 'paid', paid_at = now(), payment_event_id = p_provider_event_id WHERE id = p_order_id;
  RETURN jsonb_build_object('ok', true, 'order_id', p_order_id, 'status', 'paid', 'tickets_issued', v_tickets, 'replay', false);
END
$$;
