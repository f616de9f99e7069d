-- Level 1: functional checks of the reservation system, one transaction that always rolls back, so it is
-- safe on any database that has the migrations (staging, a Supabase branch, the embedded target).
-- Runs unchanged in the Supabase SQL editor and with psql:
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f race-lab/level1-functional-checks.sql
-- Each check prints PASS/FAIL with what it saw (NOTICEs; the SQL editor shows the result table instead).
-- Any failure raises an exception at the end, so psql exits non-zero (3) and the editor shows the list.
-- The last checks repeat the purchase on a tier spread over inventory buckets (needs the migration
-- 20261201000200_inventory_buckets.sql).
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
  v_bevent uuid;
  v_btier uuid;
  v_bholds uuid[];
  v_live record;
  v_buckets text;
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

  -- buckets: a tier of 30 seats spread over 3 buckets of 10 (supabase/migrations/20261201000200_inventory_buckets.sql).
  v_setup := load_test_setup(1, 30, 600, 5000, NULL, 'level 1 functional checks', 3);
  v_bevent := (v_setup ->> 'event_id')::uuid;
  v_btier := (v_setup -> 'tier_ids' ->> 0)::uuid;
  -- Three holds of 9: none fits a bucket another took, so each lands in its own, whichever it tries first.
  SELECT array_agg((try_reserve(v_btier, 9, 'level1-b' || n) ->> 'hold_id')::uuid ORDER BY n) INTO v_bholds FROM generate_series(1, 3) n;
  SELECT string_agg(reserved_quantity::text, ',' ORDER BY bucket_no) INTO v_buckets FROM inventory_buckets WHERE tier_id = v_btier;
  SELECT * INTO v_tier_row FROM ticket_tiers WHERE id = v_btier;
  SELECT * INTO v_live FROM tier_inventory(v_bevent);
  PERFORM pg_temp.level1_check('buckets: reserve', cardinality(array_remove(v_bholds, NULL)) = 3 AND v_buckets = '9,9,9'
                                                   AND v_live.reserved_quantity = 27 AND NOT v_tier_row.counters_settled,
    format('3 holds of 9 -> buckets reserved %s; live reserved %s; tier row reserved %s (settled %s)', v_buckets,
           v_live.reserved_quantity, v_tier_row.reserved_quantity, v_tier_row.counters_settled));

  -- buckets, the tail: no bucket has 3 seats but the three together do, so seats move to one of them.
  r := try_reserve(v_btier, 3, 'level1-b4');
  r2 := try_reserve(v_btier, 1, 'level1-b5');
  SELECT string_agg(format('%s/%s', reserved_quantity, total_quantity), ',' ORDER BY bucket_no) INTO v_buckets
    FROM inventory_buckets WHERE tier_id = v_btier;
  PERFORM pg_temp.level1_check('buckets: fragmented tail, then sold out', (r ->> 'ok')::boolean AND r2 ->> 'error' = 'INSUFFICIENT_INVENTORY'
                                                   AND NOT EXISTS (SELECT 1 FROM inventory_buckets WHERE tier_id = v_btier AND is_open)
                                                   AND (SELECT sum(total_quantity) FROM inventory_buckets WHERE tier_id = v_btier) = 30,
    format('3 seats from 1+1+1 -> %s; one more -> %s; buckets reserved/total %s', coalesce(r ->> 'error', 'ok'),
           r2 ->> 'error', v_buckets));

  -- buckets: release, payment, expiry and a payment after expiry all move the bucket the hold names.
  r := release_hold((r ->> 'hold_id')::uuid, 'level1-b4');
  v_order := (checkout_holds(ARRAY[v_bholds[1]], 'level1-b1') ->> 'order_id')::uuid;
  r2 := complete_payment(v_order, 'evt_level1_b1');
  v_order := (checkout_holds(ARRAY[v_bholds[2]], 'level1-b2') ->> 'order_id')::uuid;
  UPDATE ticket_holds SET expires_at = now() - interval '1 second' WHERE id IN (v_bholds[2], v_bholds[3]);
  v_count := cleanup_expired_holds();
  r := complete_payment(v_order, 'evt_level1_b2');
  SELECT * INTO v_live FROM tier_inventory(v_bevent);
  PERFORM pg_temp.level1_check('buckets: release, payment, expiry, paid after expiry',
                               (r2 ->> 'ok')::boolean AND (r ->> 'ok')::boolean AND v_count >= 2
                               AND v_live.sold_quantity = 18 AND v_live.reserved_quantity = 0,
    format('payment -> %s; expired %s; paid after expiry -> %s; live sold %s, reserved %s', r2 ->> 'status', v_count,
           coalesce(r ->> 'status', r ->> 'error'), v_live.sold_quantity, v_live.reserved_quantity));

  -- buckets, the counters' rule: after settle_tier_counters the Liventix Advanced Load Testing Guide's own checks read the tier row.
  r := settle_tier_counters(v_bevent);
  SELECT * INTO v_tier_row FROM ticket_tiers WHERE id = v_btier;
  SELECT count(*) INTO v_count FROM tickets WHERE tier_id = v_btier;
  PERFORM pg_temp.level1_check('buckets: settled counters', v_tier_row.counters_settled AND v_tier_row.sold_quantity = v_count
                                                   AND v_tier_row.reserved_quantity = (SELECT coalesce(sum(quantity), 0) FROM ticket_holds
                                                                                       WHERE tier_id = v_btier AND status = 'active'),
    format('settle -> %s; tier row sold %s (tickets %s), reserved %s', r, v_tier_row.sold_quantity, v_count, v_tier_row.reserved_quantity));

  SELECT string_agg(check_name || ' (' || observed || ')', ', ') INTO v_failed
    FROM load_test_invariants(v_bevent) WHERE NOT passed;
  PERFORM pg_temp.level1_check('buckets: invariants', v_failed IS NULL, coalesce('failing: ' || v_failed, 'every load_test_invariants row passed'));

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
