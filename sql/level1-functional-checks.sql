-- Level 1: functional checks of the reservation system, one transaction that always rolls back, so it is
-- safe on any database that has the migrations (staging, a Supabase branch, the embedded target).
-- Runs unchanged in the Supabase SQL editor and with psql:
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f sql/level1-functional-checks.sql
-- Each check prints PASS/FAIL with what it saw (NOTICEs; the SQL editor shows the result table instead).
-- Any failure raises an exception at the end, so psql exits non-zero (3) and the editor shows the list.
BEGIN;

CREATE TEMP TABLE level1_results (n serial, check_name text, passed boolean, saw text) ON COMMIT DROP;

-- Records one check; a function so that every check reads as one line below.
CREATE FUNCTION pg_temp.level1_check(p_name text, p_passed boolean, p_saw text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO level1_results (check_name, passed, saw) VALUES (p_name, coalesce(p_passed, false), p_saw);
  RAISE NOTICE '% %: %', CASE WHEN coalesce(p_passed, false) THEN 'PASS' ELSE 'FAIL' END, p_name, p_saw;
END
$$;

DO $$
DECLARE
  v_setup jsonb;
  v_event uuid;
  v_tier uuid;
  r jsonb;
  r2 jsonb;
  v_hold1 uuid;
  v_hold2 uuid;
  v_hold4 uuid;
  v_order uuid;
  v_tier_row record;
  v_status text;
  v_count integer;
  v_failed text;
BEGIN
  -- A private event: one tier of 2 tickets at 50.00.
  v_setup := load_test_setup(1, 2, 600, 5000, NULL, 'level 1 functional checks');
  v_event := (v_setup ->> 'event_id')::uuid;
  v_tier := (v_setup -> 'tier_ids' ->> 0)::uuid;

  -- reserve: a hold is created and the seat is counted as reserved.
  r := try_reserve(v_tier, 1, 'level1-a');
  v_hold1 := (r ->> 'hold_id')::uuid;
  SELECT * INTO v_tier_row FROM ticket_tiers WHERE id = v_tier;
  PERFORM pg_temp.level1_check('reserve', (r ->> 'ok')::boolean AND v_tier_row.reserved_quantity = 1,
    format('try_reserve -> %s; reserved_quantity %s', r, v_tier_row.reserved_quantity));

  -- idempotency (reserve): the same session cannot take a second hold on the tier.
  r := try_reserve(v_tier, 1, 'level1-a');
  SELECT * INTO v_tier_row FROM ticket_tiers WHERE id = v_tier;
  PERFORM pg_temp.level1_check('reserve twice, one hold', r ->> 'error' = 'HOLD_EXISTS' AND v_tier_row.reserved_quantity = 1,
    format('second try_reserve -> %s; reserved_quantity %s', r ->> 'error', v_tier_row.reserved_quantity));

  -- sold out: the last seat goes, the next buyer is told so as a value, nothing is oversold.
  r := try_reserve(v_tier, 1, 'level1-b');
  v_hold2 := (r ->> 'hold_id')::uuid;
  r2 := try_reserve(v_tier, 1, 'level1-c');
  SELECT * INTO v_tier_row FROM ticket_tiers WHERE id = v_tier;
  PERFORM pg_temp.level1_check('sold out', (r ->> 'ok')::boolean AND r2 ->> 'error' = 'INSUFFICIENT_INVENTORY'
                                           AND v_tier_row.reserved_quantity = 2,
    format('last seat -> ok %s; one more -> %s; reserved %s of %s', r ->> 'ok', r2 ->> 'error',
           v_tier_row.reserved_quantity, v_tier_row.total_quantity));

  -- release: the seat comes back, and a second release is refused.
  r := release_hold(v_hold2, 'level1-b');
  r2 := release_hold(v_hold2, 'level1-b');
  SELECT * INTO v_tier_row FROM ticket_tiers WHERE id = v_tier;
  PERFORM pg_temp.level1_check('release', (r ->> 'ok')::boolean AND r2 ->> 'error' = 'HOLD_NOT_ACTIVE'
                                          AND v_tier_row.reserved_quantity = 1,
    format('release -> %s; again -> %s; reserved_quantity %s', r ->> 'status', r2 ->> 'error', v_tier_row.reserved_quantity));

  -- expiry: a hold past its time is expired by the cleanup job and its seat comes back.
  r := try_reserve(v_tier, 1, 'level1-d');
  v_hold4 := (r ->> 'hold_id')::uuid;
  UPDATE ticket_holds SET expires_at = now() - interval '1 second' WHERE id = v_hold4;
  v_count := cleanup_expired_holds();
  SELECT status INTO v_status FROM ticket_holds WHERE id = v_hold4;
  SELECT * INTO v_tier_row FROM ticket_tiers WHERE id = v_tier;
  r2 := checkout_holds(ARRAY[v_hold4], 'level1-d');
  PERFORM pg_temp.level1_check('expiry', v_count >= 1 AND v_status = 'expired' AND v_tier_row.reserved_quantity = 1
                                         AND r2 ->> 'error' = 'HOLD_EXPIRED',
    format('cleanup_expired_holds -> %s; hold %s; reserved_quantity %s; checkout -> %s', v_count, v_status,
           v_tier_row.reserved_quantity, r2 ->> 'error'));

  -- checkout: a pending order for the hold, at the tier's price; checking out again returns the same order.
  r := checkout_holds(ARRAY[v_hold1], 'level1-a');
  v_order := (r ->> 'order_id')::uuid;
  r2 := checkout_holds(ARRAY[v_hold1], 'level1-a');
  SELECT status INTO v_status FROM orders WHERE id = v_order;
  PERFORM pg_temp.level1_check('checkout', (r ->> 'ok')::boolean AND (r ->> 'total_cents')::int = 5000
                                           AND v_status = 'pending' AND (r2 ->> 'order_id')::uuid = v_order,
    format('checkout -> order %s, total %s, %s; again -> same order %s', r ->> 'ok', r ->> 'total_cents', v_status,
           ((r2 ->> 'order_id')::uuid IS NOT DISTINCT FROM v_order)::text));

  -- payment: the order is paid, the seat sold, one ticket issued.
  r := complete_payment(v_order, 'evt_level1');
  SELECT * INTO v_tier_row FROM ticket_tiers WHERE id = v_tier;
  SELECT count(*) INTO v_count FROM tickets WHERE order_id = v_order;
  SELECT status INTO v_status FROM orders WHERE id = v_order;
  PERFORM pg_temp.level1_check('payment', (r ->> 'ok')::boolean AND v_status = 'paid' AND v_count = 1
                                          AND v_tier_row.sold_quantity = 1 AND v_tier_row.reserved_quantity = 0,
    format('complete_payment -> %s; order %s; tickets %s; sold %s, reserved %s', r ->> 'status', v_status, v_count,
           v_tier_row.sold_quantity, v_tier_row.reserved_quantity));

  -- idempotency (payment): a redelivered webhook is a replay, not a second sale.
  r := complete_payment(v_order, 'evt_level1');
  SELECT * INTO v_tier_row FROM ticket_tiers WHERE id = v_tier;
  SELECT count(*) INTO v_count FROM tickets WHERE order_id = v_order;
  PERFORM pg_temp.level1_check('payment twice, one sale', (r ->> 'replay')::boolean AND v_count = 1 AND v_tier_row.sold_quantity = 1,
    format('second complete_payment -> replay %s; tickets %s; sold %s', r ->> 'replay', v_count, v_tier_row.sold_quantity));

  -- idempotency (Idempotency-Key): the same key replays the first outcome; another body with it is refused.
  r := enhanced_checkout(jsonb_build_object('event_id', v_event, 'tier_id', v_tier, 'quantity', 1, 'session_id', 'level1-e'), 'level1-key');
  r2 := enhanced_checkout(jsonb_build_object('event_id', v_event, 'tier_id', v_tier, 'quantity', 1, 'session_id', 'level1-e'), 'level1-key');
  SELECT * INTO v_tier_row FROM ticket_tiers WHERE id = v_tier;
  PERFORM pg_temp.level1_check('idempotency key', (r ->> 'ok')::boolean AND (r2 ->> 'replay')::boolean
                                                  AND r2 ->> 'order_id' = r ->> 'order_id' AND v_tier_row.reserved_quantity = 1,
    format('first -> ok %s; replay %s, same order %s; reserved_quantity %s', r ->> 'ok', r2 ->> 'replay',
           (r2 ->> 'order_id' = r ->> 'order_id')::text, v_tier_row.reserved_quantity));
  r := enhanced_checkout(jsonb_build_object('event_id', v_event, 'tier_id', v_tier, 'quantity', 2, 'session_id', 'level1-e'), 'level1-key');
  PERFORM pg_temp.level1_check('idempotency key reused', r ->> 'error' = 'IDEMPOTENCY_KEY_REUSED',
    format('same key, other body -> %s', coalesce(r ->> 'error', 'ok')));

  -- invariants: the database agrees with itself after all of the above.
  SELECT string_agg(check_name || ' (' || observed || ')', ', ') INTO v_failed
    FROM load_test_invariants(v_event) WHERE NOT passed;
  PERFORM pg_temp.level1_check('invariants', v_failed IS NULL, coalesce('failing: ' || v_failed, 'every load_test_invariants row passed'));

  SELECT string_agg(check_name, ', ' ORDER BY n) INTO v_failed FROM level1_results WHERE NOT passed;
  IF v_failed IS NOT NULL THEN
    RAISE EXCEPTION 'Level 1 FAILED: %', v_failed
      USING DETAIL = (SELECT string_agg(check_name || ': ' || saw, E'\n' ORDER BY n) FROM level1_results WHERE NOT passed);
  END IF;
  RAISE NOTICE 'Level 1: all % checks passed', (SELECT count(*) FROM level1_results);
END
$$;

SELECT CASE WHEN passed THEN 'PASS' ELSE 'FAIL' END AS result, check_name, saw FROM level1_results ORDER BY n;

ROLLBACK;
