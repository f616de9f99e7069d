-- Inventory buckets: a tier's seats spread over many rows, so that SERIALIZABLE meets the Liventix Advanced Load Testing Guide's "under 5 %
-- serialization failures" and READ COMMITTED is no longer capped by one hot row. This is the migration a
-- project built on the guide's schema applies as it is: it changes nothing for the tiers it finds.
--
-- Why: in the guide's design every reservation updates its tier's row. Under READ COMMITTED the writers
-- queue on that row's lock; under SERIALIZABLE the first updater wins and every concurrent writer of the
-- row fails with 40001 (measured: 91 % of attempts at 50 clients), however the function is written.
--
-- What changes, per tier and only when asked (ticket_tiers.bucket_count; 1 is the guide's single row):
-- - spread_tier_inventory(tier, n), run before the tier's sale opens, moves its free seats into n rows of
--   public.inventory_buckets (at least 10 free seats each, the largest reservation, so n is capped by the
--   tier's size: a 10-seat tier keeps its single row). Each bucket has the tier's counters and CHECKs.
-- - A reservation takes a random bucket with one guarded UPDATE. A bucket without enough seats sends it
--   to the slow path, one transaction per tier at a time: the next open buckets in bucket order, found
--   through the index of open buckets and locked by waiting (never SKIP LOCKED, which would answer "sold
--   out" while seats are only busy); when no single bucket has the seats but a few together do, seats
--   (bucket totals) move to one of them. Sold out is one unlocked probe of an empty index range, whatever
--   the number of buckets.
-- - Bucket rows are padded to one per heap page (fillfactor 10): SERIALIZABLE's predicate locks then only
--   collide when two transactions pick the same bucket, and every counter update is a HOT update.
-- - ticket_holds.bucket_no says where a hold's seats are counted (NULL on single-row tiers).
--
-- The guide's counters on a bucketed tier, exact by this rule: total_quantity is exact at every commit
-- (seats only move between buckets); sold_quantity and reserved_quantity are the buckets' sums as of the
-- tier's last settle, and counters_settled is true exactly while no bucket changed since (every writer of
-- a bucket clears it, and stamps updated_at, in its own transaction). settle_tier_counters() settles: the
-- embedded target's cleanup timer and, with pg_cron, the job 'liventix-settle-tier-counters' run it every
-- tick; call it before reading the counters at a moment that matters. The three CHECKs hold on the tier
-- row throughout, and tier_inventory(event) gives the live values at any time (load_test_invariants and
-- load_test_capacity read them, and check the rule). docs/inventory-buckets.md explains it all.
--
-- Costs: 8 KB of table per bucket (1,024 buckets: 8 MB per tier); a settle rewrites every bucket of the tier
-- (a few ms per 1,024 buckets, during which its reservations wait); a tier changes design only while none of
-- its seats is held (before its sale opens). An event cap spans tiers and serialises every reservation on
-- the event row, which buckets cannot spread: tiers of capped events are refused buckets.
--
-- Follows 20261201000000_api_privileges.sql: every new function and table is restricted at the end of this
-- file, and listed in lib/sql-functions.ts. Idempotent; PostgreSQL 15 and 18; with or without Supabase's
-- roles and pg_cron.

ALTER TABLE public.ticket_tiers
  ADD COLUMN IF NOT EXISTS bucket_count integer NOT NULL DEFAULT 1
    CONSTRAINT ticket_tiers_bucket_count_check CHECK (bucket_count BETWEEN 1 AND 4096),
  ADD COLUMN IF NOT EXISTS counters_settled boolean NOT NULL DEFAULT true;
ALTER TABLE public.ticket_holds ADD COLUMN IF NOT EXISTS bucket_no integer;
-- A repair of a bucket's counter (NULL: the tier row's, as before).
ALTER TABLE public.hold_cleanup_repairs ADD COLUMN IF NOT EXISTS bucket_no integer;

CREATE TABLE IF NOT EXISTS public.inventory_buckets (
  tier_id           uuid NOT NULL REFERENCES public.ticket_tiers (id) ON DELETE CASCADE,
  bucket_no         integer NOT NULL,
  total_quantity    integer NOT NULL,
  sold_quantity     integer NOT NULL DEFAULT 0,
  reserved_quantity integer NOT NULL DEFAULT 0,
  -- Changes only when the bucket empties or refills, so ordinary counter updates stay HOT.
  is_open           boolean GENERATED ALWAYS AS (total_quantity > sold_quantity + reserved_quantity) STORED,
  -- Fills the row to about 700 bytes: with fillfactor 10 that is one bucket per heap page.
  padding           char(600) NOT NULL DEFAULT '',
  CONSTRAINT inventory_buckets_pkey PRIMARY KEY (tier_id, bucket_no),
  -- The tier's three CHECKs in one: every UPDATE evaluates each CHECK of its table, so one costs less.
  CONSTRAINT bucket_no_negative_availability
    CHECK (bucket_no >= 0 AND sold_quantity >= 0 AND reserved_quantity >= 0 AND sold_quantity + reserved_quantity <= total_quantity)
) WITH (fillfactor = 10);
CREATE INDEX IF NOT EXISTS idx_inventory_buckets_open ON public.inventory_buckets (tier_id, bucket_no) WHERE is_open;

-- Takes p_quantity free seats of a bucketed tier, as held seats or (p_sell) as sold ones, from the open
-- buckets after p_after in bucket order (wrapping around); returns the bucket, or NULL when the tier has
-- fewer free seats. Callers try their first choice with one guarded UPDATE of their own and come here
-- only when it lacks the seats: at the end of a sale, or for a paid-after-expiry hold.
-- Sold out is answered from one unlocked read of the index of open buckets. Otherwise this slow path runs
-- one transaction per tier at a time (a transaction-level advisory lock, which settles take too), waited for
-- holding no bucket lock: it may then wait for and lock any buckets, in any order, without a deadlock.
CREATE OR REPLACE FUNCTION public.lt_take_seats(p_tier_id uuid, p_quantity integer, p_after integer, p_sell boolean)
RETURNS integer
LANGUAGE plpgsql SET search_path = public, extensions, pg_temp
AS $$
DECLARE
  v_reserve constant integer := CASE WHEN p_sell THEN 0 ELSE p_quantity END;
  v_sell constant integer := CASE WHEN p_sell THEN p_quantity ELSE 0 END;
  v_bucket integer;
  v_from integer := p_after;
  v_ids integer[];
  v_free integer[];
  v_target integer;
  v_need integer;
  v_moved integer := 0;
  v_give integer;
  v_locked boolean := false;
BEGIN
  FOR v_round IN 1 .. 64 LOOP
    -- The first p_quantity open buckets after v_from, wrapping around. Each has a free seat, so either one
    -- of them has enough, or together they have enough, or they are all the open buckets there are and
    -- their seats are all the tier has.
    SELECT coalesce(array_agg(bucket_no ORDER BY wrapped, bucket_no), '{}'), coalesce(array_agg(free ORDER BY wrapped, bucket_no), '{}')
      INTO v_ids, v_free
      FROM (SELECT * FROM (SELECT bucket_no, total_quantity - sold_quantity - reserved_quantity AS free, false AS wrapped
                             FROM inventory_buckets WHERE tier_id = p_tier_id AND is_open AND bucket_no > v_from
                            ORDER BY bucket_no LIMIT p_quantity) after_from
            UNION ALL
            SELECT * FROM (SELECT bucket_no, total_quantity - sold_quantity - reserved_quantity, true
                             FROM inventory_buckets WHERE tier_id = p_tier_id AND is_open AND bucket_no <= v_from
                            ORDER BY bucket_no LIMIT p_quantity) up_to_from
            ORDER BY wrapped, bucket_no LIMIT p_quantity) candidates;
    IF (SELECT coalesce(sum(f), 0) FROM unnest(v_free) f) < p_quantity THEN
      RETURN NULL;
    END IF;
    IF NOT v_locked THEN
      -- A first choice changed under the caller's UPDATE was re-checked under its row lock, which
      -- PostgreSQL keeps even when the re-check fails: holding it, take the slow path only if it is free,
      -- and otherwise start over (40001) rather than wait into a deadlock.
      IF EXISTS (SELECT 1 FROM inventory_buckets WHERE tier_id = p_tier_id AND bucket_no = p_after
                                                   AND xmax = pg_current_xact_id_if_assigned()::xid) THEN
        IF NOT pg_try_advisory_xact_lock(7405224, hashtext(p_tier_id::text)) THEN
          RAISE EXCEPTION 'bucket % of tier % changed under this reservation; retry', p_after, p_tier_id
            USING ERRCODE = 'serialization_failure';
        END IF;
      ELSE
        PERFORM pg_advisory_xact_lock(7405224, hashtext(p_tier_id::text));  -- the tier's slow path (lt_settle_tier too)
      END IF;
      v_locked := true;
      CONTINUE;  -- read again, now that no other slow path moves these buckets
    END IF;

    v_bucket := (SELECT v_ids[i] FROM generate_subscripts(v_ids, 1) i WHERE v_free[i] >= p_quantity ORDER BY i LIMIT 1);
    IF v_bucket IS NOT NULL THEN
      UPDATE inventory_buckets
         SET reserved_quantity = reserved_quantity + v_reserve, sold_quantity = sold_quantity + v_sell
       WHERE tier_id = p_tier_id AND bucket_no = v_bucket
         AND total_quantity - sold_quantity - reserved_quantity >= p_quantity;
      IF FOUND THEN
        RETURN v_bucket;
      END IF;
      v_from := v_bucket;  -- taken meanwhile: look further on
      CONTINUE;
    END IF;

    -- Fragmented: no bucket has p_quantity seats but these have them together. Lock them in bucket order,
    -- read their exact free seats and move seats (bucket totals) into the roomiest one.
    SELECT array_agg(bucket_no ORDER BY bucket_no), array_agg(free ORDER BY bucket_no) INTO v_ids, v_free
      FROM (SELECT bucket_no, total_quantity - sold_quantity - reserved_quantity AS free FROM inventory_buckets
             WHERE tier_id = p_tier_id AND bucket_no = ANY (v_ids) ORDER BY bucket_no FOR NO KEY UPDATE) locked;
    IF (SELECT coalesce(sum(f), 0) FROM unnest(v_free) f) < p_quantity THEN
      CONTINUE;  -- others took seats meanwhile
    END IF;
    v_target := (SELECT i FROM generate_subscripts(v_free, 1) i ORDER BY v_free[i] DESC, i LIMIT 1);
    v_need := p_quantity - v_free[v_target];
    FOR i IN 1 .. array_length(v_ids, 1) LOOP
      EXIT WHEN v_need = 0;
      CONTINUE WHEN i = v_target OR v_free[i] = 0;
      v_give := least(v_free[i], v_need);
      UPDATE inventory_buckets SET total_quantity = total_quantity - v_give WHERE tier_id = p_tier_id AND bucket_no = v_ids[i];
      v_moved := v_moved + v_give;
      v_need := v_need - v_give;
    END LOOP;
    UPDATE inventory_buckets
       SET total_quantity = total_quantity + v_moved, reserved_quantity = reserved_quantity + v_reserve,
           sold_quantity = sold_quantity + v_sell
     WHERE tier_id = p_tier_id AND bucket_no = v_ids[v_target];
    RETURN v_ids[v_target];
  END LOOP;
  RAISE EXCEPTION 'the seats of tier % kept moving under concurrent reservations; retry', p_tier_id
    USING ERRCODE = 'serialization_failure';
END
$$;

-- The counters' rule (see the top of this file) for one bucketed tier: sold and reserved become the sums of
-- its buckets and counters_settled true. Every bucket is locked first, in bucket order, and rewritten (a no-op UPDATE):
-- that waits for the transactions still changing one, so the sums include them, and a SERIALIZABLE writer
-- whose snapshot predates this settle then fails with 40001 rather than leaving its change unsettled.
CREATE OR REPLACE FUNCTION public.lt_settle_tier(p_tier_id uuid)
RETURNS void
LANGUAGE plpgsql SET search_path = public, extensions, pg_temp
AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(7405224, hashtext(p_tier_id::text));  -- the tier's slow path (lt_take_seats)
  PERFORM 1 FROM inventory_buckets WHERE tier_id = p_tier_id ORDER BY bucket_no FOR NO KEY UPDATE;
  UPDATE inventory_buckets SET total_quantity = total_quantity WHERE tier_id = p_tier_id;
  UPDATE ticket_tiers t
     SET sold_quantity = s.sold, reserved_quantity = s.reserved, counters_settled = true, updated_at = now()
    FROM (SELECT coalesce(sum(sold_quantity), 0) AS sold, coalesce(sum(reserved_quantity), 0) AS reserved
            FROM inventory_buckets WHERE tier_id = p_tier_id) s
   WHERE t.id = p_tier_id AND t.bucket_count > 1;
END
$$;

-- Settles the bucketed tiers whose buckets changed since their last settle (of one event, or all). A tier
-- whose buckets stay locked for a second, or that conflicts, is left for the next call ("busy"); a tier
-- whose buckets break its CHECKs is named ("failed": load_test_invariants says why) and never stops the others.
CREATE OR REPLACE FUNCTION public.settle_tier_counters(p_event_id uuid DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, extensions, pg_temp SET lock_timeout = '1s'
AS $$
DECLARE
  v_tier uuid;
  v_settled integer := 0;
  v_busy integer := 0;
  v_failed uuid[] := '{}';
BEGIN
  FOR v_tier IN SELECT id FROM ticket_tiers
                 WHERE bucket_count > 1 AND NOT counters_settled AND (p_event_id IS NULL OR event_id = p_event_id)
                 ORDER BY id LOOP
    BEGIN
      PERFORM lt_settle_tier(v_tier);
      v_settled := v_settled + 1;
    EXCEPTION
      WHEN lock_not_available OR deadlock_detected OR serialization_failure THEN v_busy := v_busy + 1;
      WHEN check_violation THEN v_failed := v_failed || v_tier;
    END;
  END LOOP;
  RETURN jsonb_build_object('settled', v_settled, 'busy', v_busy, 'failed', to_jsonb(v_failed));
END
$$;

-- The live counters of an event's tiers: the tier row for the guide's design, the buckets' sums for a
-- bucketed tier (whose row is exact only when settled). What dashboards should read during a sale.
CREATE OR REPLACE FUNCTION public.tier_inventory(p_event_id uuid)
RETURNS TABLE (tier_id uuid, name text, bucket_count integer, total_quantity integer, sold_quantity integer,
               reserved_quantity integer, counters_settled boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, extensions, pg_temp
AS $$
  SELECT t.id, t.name, t.bucket_count, t.total_quantity,
         CASE WHEN t.bucket_count = 1 THEN t.sold_quantity ELSE b.sold END,
         CASE WHEN t.bucket_count = 1 THEN t.reserved_quantity ELSE b.reserved END,
         t.bucket_count = 1 OR t.counters_settled
    FROM ticket_tiers t
    LEFT JOIN LATERAL (SELECT coalesce(sum(k.sold_quantity), 0)::integer AS sold, coalesce(sum(k.reserved_quantity), 0)::integer AS reserved
                         FROM inventory_buckets k WHERE k.tier_id = t.id) b ON t.bucket_count > 1
   WHERE t.event_id = p_event_id
$$;

-- Changes a tier's design: n > 1 spreads its free seats over buckets (capped so each gets at least 10),
-- 1 folds them back into the tier row. Only while none of its seats is held, so it waits for reservations
-- in flight and refuses once one has committed: do it before the sale opens. Sold seats stay counted
-- (in bucket 0), and so do the tickets' holds.
CREATE OR REPLACE FUNCTION public.spread_tier_inventory(p_tier_id uuid, p_bucket_count integer)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, extensions, pg_temp
AS $$
DECLARE
  v_tier ticket_tiers%ROWTYPE;
  v_capacity integer;
  v_held bigint;
  v_free integer;
  v_buckets integer;
BEGIN
  IF p_bucket_count IS NULL OR p_bucket_count NOT BETWEEN 1 AND 4096 THEN
    RAISE EXCEPTION 'INVALID_REQUEST' USING ERRCODE = 'LT400',
      DETAIL = 'p_bucket_count must be from 1 (the single-row design) to 4096';
  END IF;
  SELECT * INTO v_tier FROM ticket_tiers WHERE id = p_tier_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'TIER_NOT_FOUND' USING ERRCODE = 'LT404', DETAIL = 'no ticket tier has this id';
  END IF;
  SELECT capacity INTO v_capacity FROM events WHERE id = v_tier.event_id;
  IF p_bucket_count > 1 AND v_capacity IS NOT NULL THEN
    RAISE EXCEPTION 'INVALID_REQUEST' USING ERRCODE = 'LT400',
      DETAIL = 'the event caps its capacity across tiers, which serialises every reservation on the event row: buckets cannot spread that';
  END IF;
  IF v_tier.bucket_count > 1 THEN
    PERFORM lt_settle_tier(p_tier_id);
  END IF;
  SELECT coalesce(sum(quantity), 0) INTO v_held FROM ticket_holds WHERE tier_id = p_tier_id AND status = 'active';
  IF v_held > 0 THEN
    RAISE EXCEPTION 'HOLD_EXISTS' USING ERRCODE = 'LT413',
      DETAIL = format('%s seats of this tier are held: change its design before its sale opens, or once the holds are paid or expired', v_held);
  END IF;

  IF v_tier.bucket_count > 1 THEN
    DELETE FROM inventory_buckets WHERE tier_id = p_tier_id;
    UPDATE ticket_holds SET bucket_no = NULL WHERE tier_id = p_tier_id AND bucket_no IS NOT NULL;
  END IF;
  SELECT * INTO v_tier FROM ticket_tiers WHERE id = p_tier_id;
  IF v_tier.reserved_quantity <> 0 THEN
    RAISE EXCEPTION 'INVALID_REQUEST' USING ERRCODE = 'LT400',
      DETAIL = format('reserved_quantity is %s with no active hold: the counter drifted; fix it before changing the design', v_tier.reserved_quantity);
  END IF;
  v_free := v_tier.total_quantity - v_tier.sold_quantity;
  v_buckets := greatest(1, least(p_bucket_count, v_free / 10));
  IF v_buckets > 1 THEN
    INSERT INTO inventory_buckets (tier_id, bucket_no, total_quantity, sold_quantity)
    SELECT p_tier_id, n, v_free / v_buckets + (n < v_free % v_buckets)::integer + CASE WHEN n = 0 THEN v_tier.sold_quantity ELSE 0 END,
           CASE WHEN n = 0 THEN v_tier.sold_quantity ELSE 0 END
      FROM generate_series(0, v_buckets - 1) n;
    UPDATE ticket_holds SET bucket_no = 0 WHERE tier_id = p_tier_id AND status = 'converted';
  END IF;
  UPDATE ticket_tiers SET bucket_count = v_buckets, counters_settled = true, updated_at = now() WHERE id = p_tier_id;
  RETURN jsonb_build_object('tier_id', p_tier_id, 'bucket_count', v_buckets, 'free_seats', v_free);
END
$$;

-- try_reserve for both designs. A bucketed tier's row counters trail its buckets, so they answer nothing
-- here: the buckets do. The hold goes in after its bucket is chosen, and its INSERT (a statement that starts
-- after the bucket is locked) also reads counters_settled, so the writer that unsettles the tier is always
-- one that a settle cannot have counted.
CREATE OR REPLACE FUNCTION public.try_reserve(
  p_tier_id uuid, p_quantity integer, p_session_id text, p_user_id uuid DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, extensions, pg_temp
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
    INSERT INTO ticket_holds (tier_id, event_id, session_id, user_id, quantity, expires_at, bucket_no)
    VALUES (p_tier_id, v_event_id, p_session_id, p_user_id, p_quantity, v_expires_at, v_bucket)
    ON CONFLICT (session_id, tier_id) WHERE status = 'active' AND session_id IS NOT NULL DO NOTHING
    RETURNING id, (SELECT counters_settled FROM ticket_tiers WHERE id = p_tier_id) INTO v_hold_id, v_settled;
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
    INSERT INTO ticket_holds (tier_id, event_id, session_id, user_id, quantity, expires_at)
    VALUES (p_tier_id, v_event_id, p_session_id, p_user_id, p_quantity, v_expires_at)
    ON CONFLICT (session_id, tier_id) WHERE status = 'active' AND session_id IS NOT NULL DO NOTHING
    RETURNING id INTO v_hold_id;
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
                            'quantity', p_quantity, 'expires_at', v_expires_at);
END
$$;

-- As before, with the sold-out pre-check of a bucketed tier asking its index of open buckets (one probe)
-- rather than the trailing tier counters.
CREATE OR REPLACE FUNCTION public.lt_checkout_once(p_request jsonb)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, extensions, pg_temp
AS $$
DECLARE
  v_event_id uuid := lt_try_uuid(p_request ->> 'event_id');
  v_tier_id uuid := lt_try_uuid(p_request ->> 'tier_id');
  v_hold_id uuid := lt_try_uuid(p_request ->> 'hold_id');
  v_session text := p_request ->> 'session_id';
  v_user_id uuid := lt_try_uuid(p_request ->> 'user_id');
  v_quantity integer;
  v_available integer;
  v_buckets integer;
  v_price integer;
  v_order_id uuid;
  v_reserved jsonb;
  v_checkout jsonb;
BEGIN
  IF v_event_id IS NULL OR NOT EXISTS (SELECT 1 FROM events WHERE id = v_event_id) THEN
    RETURN lt_error('EVENT_NOT_FOUND', 'no event has this event_id');
  END IF;
  IF v_session IS NULL OR length(v_session) NOT BETWEEN 1 AND 128 THEN
    RETURN lt_error('INVALID_REQUEST', 'session_id must be a string of 1 to 128 characters');
  END IF;

  IF p_request ? 'hold_id' THEN
    IF v_hold_id IS NULL OR NOT EXISTS (SELECT 1 FROM ticket_holds WHERE id = v_hold_id AND event_id = v_event_id) THEN
      RETURN lt_error('HOLD_NOT_FOUND', 'no hold of this event has this hold_id');
    END IF;
    v_checkout := checkout_holds(ARRAY[v_hold_id], v_session);
    IF NOT (v_checkout ->> 'ok')::boolean THEN
      RETURN v_checkout;
    END IF;
    RETURN jsonb_build_object('ok', true, 'order_id', v_checkout -> 'order_id', 'hold_id', v_hold_id,
                              'expires_at', v_checkout -> 'expires_at', 'total_cents', v_checkout -> 'total_cents');
  END IF;

  IF jsonb_typeof(p_request -> 'quantity') IS DISTINCT FROM 'number' OR (p_request ->> 'quantity') !~ '^[0-9]{1,2}$' THEN
    RETURN lt_error('INVALID_REQUEST', 'quantity must be an integer from 1 to 10');
  END IF;
  v_quantity := (p_request ->> 'quantity')::integer;
  SELECT total_quantity - sold_quantity - reserved_quantity, bucket_count, price_cents INTO v_available, v_buckets, v_price
    FROM ticket_tiers WHERE id = v_tier_id AND event_id = v_event_id;
  IF NOT FOUND THEN
    RETURN lt_error('TIER_NOT_FOUND', 'no tier of this event has this tier_id');
  END IF;
  -- Sold out is the common answer in a flash sale: give it without writing anything.
  IF v_buckets = 1 AND v_available < v_quantity THEN
    RETURN lt_error('INSUFFICIENT_INVENTORY', format('%s ticket(s) left, %s requested', greatest(v_available, 0), v_quantity));
  END IF;
  IF v_buckets > 1 AND NOT EXISTS (SELECT 1 FROM inventory_buckets WHERE tier_id = v_tier_id AND is_open) THEN
    RETURN lt_error('INSUFFICIENT_INVENTORY', format('%s ticket(s) requested, fewer are left', v_quantity));
  END IF;

  INSERT INTO orders (event_id, session_id, user_id, total_cents)
  VALUES (v_event_id, v_session, v_user_id, v_price::bigint * v_quantity)
  RETURNING id INTO v_order_id;
  v_reserved := try_reserve(v_tier_id, v_quantity, v_session, v_user_id);
  IF NOT (v_reserved ->> 'ok')::boolean THEN
    DELETE FROM orders WHERE id = v_order_id;
    RETURN v_reserved;
  END IF;
  v_hold_id := (v_reserved ->> 'hold_id')::uuid;
  UPDATE ticket_holds SET order_id = v_order_id WHERE id = v_hold_id;
  RETURN jsonb_build_object('ok', true, 'order_id', v_order_id, 'hold_id', v_hold_id,
                            'expires_at', v_reserved -> 'expires_at', 'total_cents', v_price::bigint * v_quantity);
END
$$;

-- complete_payment for both designs. Locks: order -> holds -> single-row tiers (id order) -> the buckets of
-- the order's holds ((tier, bucket) order) -> bucketed tier rows to unsettle them (id order).
CREATE OR REPLACE FUNCTION public.complete_payment(p_order_id uuid, p_provider_event_id text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, extensions, pg_temp
AS $$
DECLARE
  v_order orders%ROWTYPE;
  v_tickets integer;
  v_hold record;
  v_bucket integer;
  v_tier uuid;
BEGIN
  SELECT * INTO v_order FROM orders WHERE id = p_order_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN lt_error('ORDER_NOT_FOUND', 'no order has this id');
  END IF;
  INSERT INTO payment_events (provider_event_id, order_id) VALUES (p_provider_event_id, p_order_id)
  ON CONFLICT (provider_event_id) DO NOTHING;

  IF v_order.status = 'paid' THEN
    SELECT count(*) INTO v_tickets FROM tickets WHERE order_id = p_order_id;
    RETURN jsonb_build_object('ok', true, 'order_id', p_order_id, 'status', 'paid',
                              'tickets_issued', v_tickets, 'replay', true);
  END IF;
  IF v_order.status = 'payment_failed' THEN
    RETURN lt_error('HOLD_EXPIRED', 'the seats were gone when the payment arrived; refund the payment');
  END IF;
  IF v_order.status <> 'pending' THEN
    RETURN lt_error('ORDER_NOT_PENDING', format('the order is %s', v_order.status));
  END IF;

  PERFORM 1 FROM ticket_holds WHERE order_id = p_order_id ORDER BY id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN lt_error('HOLD_NOT_FOUND', 'the order has no holds');
  END IF;
  PERFORM 1 FROM ticket_tiers WHERE id IN (SELECT tier_id FROM ticket_holds WHERE order_id = p_order_id) AND bucket_count = 1
   ORDER BY id FOR NO KEY UPDATE;
  PERFORM 1 FROM inventory_buckets
   WHERE (tier_id, bucket_no) IN (SELECT tier_id, bucket_no FROM ticket_holds WHERE order_id = p_order_id AND status = 'active')
   ORDER BY tier_id, bucket_no FOR NO KEY UPDATE;

  -- Paid after expiry (or release): those seats went back to the pool, so they are sold again only if
  -- they are still free; otherwise the order fails as a whole and nothing is half-sold.
  IF EXISTS (
    SELECT 1
      FROM (SELECT tier_id, sum(quantity) AS qty FROM ticket_holds
             WHERE order_id = p_order_id AND status <> 'active' GROUP BY tier_id) returned
      JOIN ticket_tiers t ON t.id = returned.tier_id
     WHERE t.bucket_count = 1 AND t.total_quantity - t.sold_quantity - t.reserved_quantity < returned.qty
  ) THEN
    UPDATE orders SET status = 'payment_failed', payment_event_id = p_provider_event_id WHERE id = p_order_id;
    RETURN lt_error('HOLD_EXPIRED', 'the seats were gone when the payment arrived; refund the payment');
  END IF;
  -- On bucketed tiers the seats are taken again (their own bucket first); the block's subtransaction
  -- undoes the ones already taken when another is gone. Entered only when needed: it has a cost.
  IF EXISTS (SELECT 1 FROM ticket_holds h JOIN ticket_tiers t ON t.id = h.tier_id
              WHERE h.order_id = p_order_id AND h.status <> 'active' AND t.bucket_count > 1) THEN
    BEGIN
      FOR v_hold IN SELECT h.id, h.tier_id, h.bucket_no, h.quantity, t.bucket_count
                      FROM ticket_holds h JOIN ticket_tiers t ON t.id = h.tier_id
                     WHERE h.order_id = p_order_id AND h.status <> 'active' AND t.bucket_count > 1
                     ORDER BY h.tier_id, h.id LOOP
        -- Its own bucket first (the open buckets after the one before it).
        v_bucket := lt_take_seats(v_hold.tier_id, v_hold.quantity,
                                  coalesce(v_hold.bucket_no, floor(random() * v_hold.bucket_count)::integer) - 1, true);
        IF v_bucket IS NULL THEN
          RAISE EXCEPTION 'seats gone' USING ERRCODE = 'LT409';
        END IF;
        UPDATE ticket_holds SET bucket_no = v_bucket WHERE id = v_hold.id;
      END LOOP;
    EXCEPTION WHEN SQLSTATE 'LT409' THEN
      UPDATE orders SET status = 'payment_failed', payment_event_id = p_provider_event_id WHERE id = p_order_id;
      RETURN lt_error('HOLD_EXPIRED', 'the seats were gone when the payment arrived; refund the payment');
    END;
  END IF;

  UPDATE ticket_tiers t
     SET sold_quantity = sold_quantity + held.qty, reserved_quantity = reserved_quantity - held.active_qty,
         updated_at = now()
    FROM (SELECT tier_id, sum(quantity) AS qty, coalesce(sum(quantity) FILTER (WHERE status = 'active'), 0) AS active_qty
            FROM ticket_holds WHERE order_id = p_order_id GROUP BY tier_id) held
   WHERE t.id = held.tier_id AND t.bucket_count = 1;
  UPDATE inventory_buckets b
     SET sold_quantity = sold_quantity + held.qty, reserved_quantity = reserved_quantity - held.qty
    FROM (SELECT tier_id, bucket_no, sum(quantity) AS qty FROM ticket_holds
           WHERE order_id = p_order_id AND status = 'active' AND bucket_no IS NOT NULL GROUP BY tier_id, bucket_no) held
   WHERE b.tier_id = held.tier_id AND b.bucket_no = held.bucket_no;
  FOR v_tier IN SELECT DISTINCT tier_id FROM ticket_holds WHERE order_id = p_order_id AND bucket_no IS NOT NULL ORDER BY 1 LOOP
    UPDATE ticket_tiers SET counters_settled = false, updated_at = now() WHERE id = v_tier AND counters_settled;
  END LOOP;

  UPDATE ticket_holds SET status = 'converted', updated_at = now() WHERE order_id = p_order_id;
  INSERT INTO tickets (order_id, hold_id, tier_id, event_id, seat_number, qr_code)
  SELECT p_order_id, h.id, h.tier_id, h.event_id, seat, new_qr_code()
    FROM ticket_holds h CROSS JOIN LATERAL generate_series(1, h.quantity) AS seat
   WHERE h.order_id = p_order_id;
  GET DIAGNOSTICS v_tickets = ROW_COUNT;
  UPDATE orders SET status = 'paid', paid_at = now(), payment_event_id = p_provider_event_id WHERE id = p_order_id;

  RETURN jsonb_build_object('ok', true, 'order_id', p_order_id, 'status', 'paid',
                            'tickets_issued', v_tickets, 'replay', false);
END
$$;

-- The buyer gives seats back before paying: to the tier row, or to the bucket the hold took them from.
CREATE OR REPLACE FUNCTION public.release_hold(p_hold_id uuid, p_session_id text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, extensions, pg_temp
AS $$
DECLARE
  v_hold ticket_holds%ROWTYPE;
BEGIN
  SELECT * INTO v_hold FROM ticket_holds
   WHERE id = p_hold_id AND session_id IS NOT DISTINCT FROM p_session_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN lt_error('HOLD_NOT_FOUND', 'no hold of this session has this id');
  END IF;
  IF v_hold.status <> 'active' THEN
    RETURN lt_error('HOLD_NOT_ACTIVE', format('the hold is %s', v_hold.status));
  END IF;
  UPDATE ticket_holds SET status = 'released', updated_at = now() WHERE id = p_hold_id;
  IF v_hold.bucket_no IS NULL THEN
    UPDATE ticket_tiers SET reserved_quantity = reserved_quantity - v_hold.quantity, updated_at = now()
     WHERE id = v_hold.tier_id;
  ELSE
    UPDATE inventory_buckets SET reserved_quantity = reserved_quantity - v_hold.quantity
     WHERE tier_id = v_hold.tier_id AND bucket_no = v_hold.bucket_no;
    UPDATE ticket_tiers SET counters_settled = false, updated_at = now() WHERE id = v_hold.tier_id AND counters_settled;
  END IF;
  IF v_hold.order_id IS NOT NULL THEN
    UPDATE orders SET status = 'cancelled' WHERE id = v_hold.order_id AND status = 'pending';
  END IF;
  RETURN jsonb_build_object('ok', true, 'hold_id', p_hold_id, 'status', 'released');
END
$$;

-- cleanup_expired_holds as in 20261201000100_hold_expiry.sql, per counter: the tier row of a single-row
-- tier, each bucket of a bucketed one (tiers in id order, buckets in bucket order). A bucket whose counter
-- cannot cover the seats being given back is repaired like a tier row and recorded with its bucket_no.
CREATE OR REPLACE FUNCTION public.cleanup_expired_holds()
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, extensions, pg_temp
AS $$
DECLARE
  v_tiers uuid[];
  v_buckets integer[];
  v_quantities bigint[];
  v_expired integer;
  v_tier ticket_tiers%ROWTYPE;
  v_bucket inventory_buckets%ROWTYPE;
  v_active bigint;
  v_reserved integer;
BEGIN
  WITH due AS (
    SELECT id FROM ticket_holds
     WHERE status = 'active' AND expires_at <= now()
     ORDER BY id
     FOR UPDATE SKIP LOCKED
  ), expired AS (
    UPDATE ticket_holds h SET status = 'expired', updated_at = now()
      FROM due WHERE h.id = due.id
    RETURNING h.tier_id, h.bucket_no, h.quantity
  ), per_counter AS (
    SELECT tier_id, bucket_no, sum(quantity) AS qty, count(*) AS holds FROM expired GROUP BY tier_id, bucket_no
  )
  SELECT coalesce(array_agg(tier_id ORDER BY tier_id, bucket_no NULLS FIRST), '{}'),
         coalesce(array_agg(bucket_no ORDER BY tier_id, bucket_no NULLS FIRST), '{}'),
         coalesce(array_agg(qty ORDER BY tier_id, bucket_no NULLS FIRST), '{}'),
         coalesce(sum(holds), 0)
    INTO v_tiers, v_buckets, v_quantities, v_expired
    FROM per_counter;

  FOR i IN 1 .. coalesce(array_length(v_tiers, 1), 0) LOOP
    IF v_buckets[i] IS NULL THEN
      -- The healthy case, one guarded UPDATE: the counter includes the seats being given back.
      UPDATE ticket_tiers SET reserved_quantity = reserved_quantity - v_quantities[i], updated_at = now()
       WHERE id = v_tiers[i] AND reserved_quantity >= v_quantities[i];
      CONTINUE WHEN FOUND;
      -- Drifted: with the tier row locked no writer can move either side, so the active holds are the truth,
      -- never more than the tier can hold.
      SELECT * INTO v_tier FROM ticket_tiers WHERE id = v_tiers[i] FOR NO KEY UPDATE;
      CONTINUE WHEN NOT FOUND;  -- holds of a deleted tier: no seats to give back
      SELECT coalesce(sum(quantity), 0) INTO v_active FROM ticket_holds WHERE tier_id = v_tiers[i] AND status = 'active';
      v_reserved := greatest(0, least(v_active, v_tier.total_quantity - v_tier.sold_quantity, v_tier.total_quantity));
      UPDATE ticket_tiers SET reserved_quantity = v_reserved, updated_at = now() WHERE id = v_tiers[i];
      INSERT INTO hold_cleanup_repairs (tier_id, event_id, total_quantity, sold_quantity, reserved_before, expired_quantity,
                                        active_hold_quantity, reserved_after)
      VALUES (v_tier.id, v_tier.event_id, v_tier.total_quantity, v_tier.sold_quantity, v_tier.reserved_quantity,
              v_quantities[i], v_active, v_reserved);
    ELSE
      UPDATE inventory_buckets SET reserved_quantity = reserved_quantity - v_quantities[i]
       WHERE tier_id = v_tiers[i] AND bucket_no = v_buckets[i] AND reserved_quantity >= v_quantities[i];
      IF NOT FOUND THEN
        SELECT * INTO v_bucket FROM inventory_buckets WHERE tier_id = v_tiers[i] AND bucket_no = v_buckets[i] FOR NO KEY UPDATE;
        CONTINUE WHEN NOT FOUND;  -- the tier was deleted
        SELECT coalesce(sum(quantity), 0) INTO v_active FROM ticket_holds
         WHERE tier_id = v_tiers[i] AND status = 'active' AND bucket_no = v_buckets[i];
        v_reserved := greatest(0, least(v_active, v_bucket.total_quantity - v_bucket.sold_quantity));
        UPDATE inventory_buckets SET reserved_quantity = v_reserved WHERE tier_id = v_tiers[i] AND bucket_no = v_buckets[i];
        INSERT INTO hold_cleanup_repairs (tier_id, event_id, bucket_no, total_quantity, sold_quantity, reserved_before,
                                          expired_quantity, active_hold_quantity, reserved_after)
        SELECT t.id, t.event_id, v_buckets[i], v_bucket.total_quantity, v_bucket.sold_quantity, v_bucket.reserved_quantity,
               v_quantities[i], v_active, v_reserved
          FROM ticket_tiers t WHERE t.id = v_tiers[i];
      END IF;
      UPDATE ticket_tiers SET counters_settled = false, updated_at = now() WHERE id = v_tiers[i] AND counters_settled;
    END IF;
  END LOOP;
  RETURN v_expired;
END
$$;

-- load_test_setup gains p_buckets_per_tier (1: the guide's single row). A new signature, so the old one is
-- dropped and the new one restricted again at the end of this file.
DROP FUNCTION IF EXISTS public.load_test_setup(integer, integer, integer, integer, integer, text);
CREATE OR REPLACE FUNCTION public.load_test_setup(
  p_tier_count integer DEFAULT 1,
  p_tickets_per_tier integer DEFAULT 100,
  p_hold_seconds integer DEFAULT 600,
  p_price_cents integer DEFAULT 5000,
  p_event_capacity integer DEFAULT NULL,
  p_name text DEFAULT 'load test',
  p_buckets_per_tier integer DEFAULT 1)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, extensions, pg_temp
AS $$
DECLARE
  v_event_id uuid;
  v_tier_ids uuid[];
  v_buckets integer := 1;
BEGIN
  IF p_tier_count IS NULL OR p_tier_count NOT BETWEEN 1 AND 100 THEN
    RAISE EXCEPTION 'INVALID_REQUEST' USING ERRCODE = 'LT400', DETAIL = 'p_tier_count must be from 1 to 100';
  END IF;
  IF p_tickets_per_tier IS NULL OR p_tickets_per_tier NOT BETWEEN 0 AND 10000000 THEN
    RAISE EXCEPTION 'INVALID_REQUEST' USING ERRCODE = 'LT400', DETAIL = 'p_tickets_per_tier must be from 0 to 10000000';
  END IF;
  IF p_hold_seconds IS NULL OR p_hold_seconds NOT BETWEEN 1 AND 86400 THEN
    RAISE EXCEPTION 'INVALID_REQUEST' USING ERRCODE = 'LT400', DETAIL = 'p_hold_seconds must be from 1 to 86400';
  END IF;
  IF p_price_cents IS NULL OR p_price_cents < 0 THEN
    RAISE EXCEPTION 'INVALID_REQUEST' USING ERRCODE = 'LT400', DETAIL = 'p_price_cents must be 0 or more';
  END IF;
  IF p_event_capacity IS NOT NULL AND p_event_capacity < 0 THEN
    RAISE EXCEPTION 'INVALID_REQUEST' USING ERRCODE = 'LT400', DETAIL = 'p_event_capacity must be 0 or more, or null';
  END IF;
  IF p_buckets_per_tier IS NULL OR p_buckets_per_tier NOT BETWEEN 1 AND 4096 THEN
    RAISE EXCEPTION 'INVALID_REQUEST' USING ERRCODE = 'LT400',
      DETAIL = 'p_buckets_per_tier must be from 1 (the guide''s single-row design) to 4096';
  END IF;
  IF p_buckets_per_tier > 1 AND p_event_capacity IS NOT NULL THEN
    RAISE EXCEPTION 'INVALID_REQUEST' USING ERRCODE = 'LT400',
      DETAIL = 'p_buckets_per_tier needs p_event_capacity null: an event cap serialises every reservation on the event row, which buckets cannot spread';
  END IF;

  INSERT INTO events (name, capacity, hold_seconds, is_load_test)
  VALUES (coalesce(nullif(p_name, ''), 'load test'), p_event_capacity, p_hold_seconds, true)
  RETURNING id INTO v_event_id;

  WITH created AS (
    INSERT INTO ticket_tiers (event_id, name, price_cents, total_quantity)
    SELECT v_event_id, 'Tier ' || n, p_price_cents, p_tickets_per_tier FROM generate_series(1, p_tier_count) n
    RETURNING id, name
  )
  SELECT array_agg(id ORDER BY length(name), name) INTO v_tier_ids FROM created;
  IF p_buckets_per_tier > 1 THEN
    SELECT max((spread_tier_inventory(id, p_buckets_per_tier) ->> 'bucket_count')::integer) INTO v_buckets
      FROM unnest(v_tier_ids) id;
  END IF;

  RETURN jsonb_build_object('event_id', v_event_id, 'tier_ids', to_jsonb(v_tier_ids),
                            'tickets_per_tier', p_tickets_per_tier,
                            'total_tickets', p_tickets_per_tier::bigint * p_tier_count,
                            'event_capacity', p_event_capacity, 'hold_seconds', p_hold_seconds,
                            'buckets_per_tier', v_buckets);
END
$$;

-- load_test_invariants as in 20261201000100_hold_expiry.sql, reading every tier's live counters
-- (tier_inventory), plus three checks of the buckets (lib/invariants.ts is the list of names, in order).
CREATE OR REPLACE FUNCTION public.load_test_invariants(p_event_id uuid, p_stale_grace_seconds integer DEFAULT 120)
RETURNS TABLE (check_name text, passed boolean, observed text, detail text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, extensions, pg_temp
AS $$
DECLARE
  v_tiers integer;
  v_bad integer;
  v_list text;
  v_unsettled integer;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM events WHERE id = p_event_id) THEN
    RAISE EXCEPTION 'EVENT_NOT_FOUND' USING ERRCODE = 'LT414', DETAIL = 'no event has this id';
  END IF;
  SELECT count(*) INTO v_tiers FROM ticket_tiers WHERE event_id = p_event_id;

  SELECT count(*), string_agg(format('%s: total %s, sold %s, reserved %s', name, total_quantity, sold_quantity,
                                     reserved_quantity), '; ')
    INTO v_bad, v_list
    FROM (SELECT * FROM tier_inventory(p_event_id)
           WHERE sold_quantity < 0 OR reserved_quantity < 0 OR sold_quantity + reserved_quantity > total_quantity
           ORDER BY name LIMIT 100) x;
  RETURN QUERY SELECT 'no_negative_availability', v_bad = 0, v_bad || ' of ' || v_tiers || ' tiers oversold or negative',
                      coalesce(v_list, 'sold + reserved <= total and both >= 0 on every tier');

  SELECT count(*), string_agg(format('%s: reserved %s > total %s', name, reserved_quantity, total_quantity), '; ')
    INTO v_bad, v_list
    FROM (SELECT * FROM tier_inventory(p_event_id) WHERE reserved_quantity > total_quantity ORDER BY name LIMIT 100) x;
  RETURN QUERY SELECT 'reserved_lte_total', v_bad = 0, v_bad || ' tiers', coalesce(v_list, 'reserved <= total on every tier');

  SELECT count(*), string_agg(format('%s: sold %s > total %s', name, sold_quantity, total_quantity), '; ')
    INTO v_bad, v_list
    FROM (SELECT * FROM tier_inventory(p_event_id) WHERE sold_quantity > total_quantity ORDER BY name LIMIT 100) x;
  RETURN QUERY SELECT 'sold_lte_total', v_bad = 0, v_bad || ' tiers', coalesce(v_list, 'sold <= total on every tier');

  SELECT count(*), string_agg(format('%s: reserved_quantity %s, active holds %s', name, reserved_quantity, held), '; ')
    INTO v_bad, v_list
    FROM (SELECT t.name, t.reserved_quantity, coalesce(h.held, 0) AS held
            FROM tier_inventory(p_event_id) t
            LEFT JOIN (SELECT tier_id, sum(quantity) AS held FROM ticket_holds
                        WHERE event_id = p_event_id AND status = 'active' GROUP BY tier_id) h ON h.tier_id = t.tier_id
           WHERE t.reserved_quantity <> coalesce(h.held, 0)
           ORDER BY t.name LIMIT 100) x;
  RETURN QUERY SELECT 'active_holds_match_reserved', v_bad = 0, v_bad || ' tiers',
                      coalesce(v_list, 'reserved_quantity equals the active holds on every tier');

  SELECT count(*), string_agg(dup, '; ')
    INTO v_bad, v_list
    FROM (SELECT format('QR %s issued %s times', qr_code, n) AS dup
            FROM (SELECT qr_code, count(*) AS n FROM tickets
                   WHERE qr_code IN (SELECT qr_code FROM tickets WHERE event_id = p_event_id)
                   GROUP BY qr_code HAVING count(*) > 1) q
          UNION ALL
          SELECT format('hold %s seat %s ticketed %s times', hold_id, seat_number, n)
            FROM (SELECT hold_id, seat_number, count(*) AS n FROM tickets WHERE event_id = p_event_id
                   GROUP BY hold_id, seat_number HAVING count(*) > 1) s
           LIMIT 100) x;
  RETURN QUERY SELECT 'no_duplicate_tickets', v_bad = 0, v_bad || ' duplicates',
                      coalesce(v_list, 'every QR code and every seat ticketed once');

  SELECT count(*), string_agg(format('%s: sold %s, tickets %s', name, sold_quantity, issued), '; ')
    INTO v_bad, v_list
    FROM (SELECT t.name, t.sold_quantity, coalesce(k.issued, 0) AS issued
            FROM tier_inventory(p_event_id) t
            LEFT JOIN (SELECT tier_id, count(*) AS issued FROM tickets WHERE event_id = p_event_id GROUP BY tier_id) k
              ON k.tier_id = t.tier_id
           WHERE t.sold_quantity <> coalesce(k.issued, 0)
           ORDER BY t.name LIMIT 100) x;
  RETURN QUERY SELECT 'tickets_match_sold', v_bad = 0, v_bad || ' tiers',
                      coalesce(v_list, 'tickets issued equal sold_quantity on every tier');

  SELECT count(*), string_agg(format('hold %s expired at %s', id, expires_at), '; ')
    INTO v_bad, v_list
    FROM (SELECT id, expires_at FROM ticket_holds
           WHERE event_id = p_event_id AND status = 'active'
             AND expires_at < now() - make_interval(secs => p_stale_grace_seconds)
           ORDER BY expires_at LIMIT 100) x;
  RETURN QUERY SELECT 'no_stale_active_holds', v_bad = 0, v_bad || ' holds',
                      coalesce(v_list, format('no active hold is more than %s s past its expiry', p_stale_grace_seconds));

  SELECT count(*), string_agg(format('order %s (%s): %s seats held, %s tickets', id, status, seats, issued), '; ')
    INTO v_bad, v_list
    FROM (SELECT o.id, o.status,
                 coalesce((SELECT sum(quantity) FROM ticket_holds h WHERE h.order_id = o.id AND h.status = 'converted'), 0) AS seats,
                 (SELECT count(*) FROM tickets k WHERE k.order_id = o.id) AS issued
            FROM orders o WHERE o.event_id = p_event_id) x
   WHERE (status = 'paid' AND (issued <> seats OR seats = 0)) OR (status <> 'paid' AND issued > 0);
  RETURN QUERY SELECT 'paid_orders_fully_ticketed', v_bad = 0, v_bad || ' orders',
                      coalesce(v_list, 'every paid order has one ticket per seat and unpaid orders have none');

  SELECT count(*), string_agg(format('capacity %s, sold + reserved %s', capacity, used), '; ')
    INTO v_bad, v_list
    FROM (SELECT e.capacity, sum(t.sold_quantity + t.reserved_quantity) AS used
            FROM events e CROSS JOIN tier_inventory(p_event_id) t
           WHERE e.id = p_event_id AND e.capacity IS NOT NULL
           GROUP BY e.capacity HAVING sum(t.sold_quantity + t.reserved_quantity) > e.capacity) x;
  RETURN QUERY SELECT 'event_capacity_respected', v_bad = 0, v_bad || ' events over capacity',
                      coalesce(v_list, 'sold + reserved within the event capacity (or no cap set)');

  SELECT count(*), string_agg(format('session %s holds tier %s %s times', session_id, tier_id, n), '; ')
    INTO v_bad, v_list
    FROM (SELECT session_id, tier_id, count(*) AS n FROM ticket_holds
           WHERE event_id = p_event_id AND status = 'active' AND session_id IS NOT NULL
           GROUP BY session_id, tier_id HAVING count(*) > 1 LIMIT 100) x;
  RETURN QUERY SELECT 'one_active_hold_per_session', v_bad = 0, v_bad || ' session/tier pairs',
                      coalesce(v_list, 'at most one active hold per session and tier');

  SELECT count(*), string_agg(format('%s%s at %s: reserved %s, but %s seats expiring; %s seats still held -> reserved %s',
                                     name, coalesce(' bucket ' || bucket_no, ''), repaired_at, reserved_before,
                                     expired_quantity, active_hold_quantity, reserved_after), '; ')
    INTO v_bad, v_list
    FROM (SELECT t.name, r.bucket_no, r.repaired_at, r.reserved_before, r.expired_quantity, r.active_hold_quantity, r.reserved_after
            FROM hold_cleanup_repairs r JOIN ticket_tiers t ON t.id = r.tier_id
           WHERE r.event_id = p_event_id ORDER BY r.id LIMIT 100) x;
  RETURN QUERY SELECT 'no_counter_repairs', v_bad = 0, v_bad || ' repairs',
                      coalesce(v_list, 'the hold cleanup never had to repair a reserved_quantity');

  -- A bucketed tier has buckets 0 .. bucket_count - 1 whose totals sum to its total, each within its own
  -- CHECK; a single-row tier has none.
  SELECT count(*), string_agg(problem, '; ')
    INTO v_bad, v_list
    FROM (SELECT format('%s: %s buckets numbered %s..%s for bucket_count %s, totals %s of %s', t.name, coalesce(b.n, 0),
                        b.lo, b.hi, t.bucket_count, coalesce(b.total, 0), t.total_quantity) AS problem
            FROM ticket_tiers t
            LEFT JOIN (SELECT k.tier_id, count(*) AS n, min(k.bucket_no) AS lo, max(k.bucket_no) AS hi, sum(k.total_quantity) AS total
                         FROM inventory_buckets k JOIN ticket_tiers kt ON kt.id = k.tier_id
                        WHERE kt.event_id = p_event_id GROUP BY k.tier_id) b ON b.tier_id = t.id
           WHERE t.event_id = p_event_id
             AND CASE WHEN t.bucket_count = 1 THEN b.n IS NOT NULL
                      ELSE b.n IS DISTINCT FROM t.bucket_count::bigint OR b.lo <> 0 OR b.hi <> t.bucket_count - 1
                           OR b.total <> t.total_quantity END
          UNION ALL
          SELECT format('%s bucket %s: total %s, sold %s, reserved %s', t.name, k.bucket_no, k.total_quantity,
                        k.sold_quantity, k.reserved_quantity)
            FROM inventory_buckets k JOIN ticket_tiers t ON t.id = k.tier_id
           WHERE t.event_id = p_event_id
             AND (k.sold_quantity < 0 OR k.reserved_quantity < 0 OR k.sold_quantity + k.reserved_quantity > k.total_quantity)
           LIMIT 100) x;
  RETURN QUERY SELECT 'buckets_match_tier', v_bad = 0, v_bad || ' problems',
                      coalesce(v_list, 'every bucketed tier''s buckets hold its total, each within sold + reserved <= total');

  -- Per bucket, reserved equals the seats of its active holds and sold those of its converted holds; a hold
  -- names a bucket exactly when its tier is bucketed.
  SELECT count(*), string_agg(problem, '; ')
    INTO v_bad, v_list
    FROM (SELECT format('%s bucket %s: reserved %s, sold %s; holds: active %s, converted %s', t.name,
                        coalesce(k.bucket_no, h.bucket_no), k.reserved_quantity, k.sold_quantity,
                        coalesce(h.active, 0), coalesce(h.converted, 0)) AS problem
            FROM (SELECT k.* FROM inventory_buckets k JOIN ticket_tiers kt ON kt.id = k.tier_id WHERE kt.event_id = p_event_id) k
            FULL JOIN (SELECT tier_id, bucket_no, sum(quantity) FILTER (WHERE status = 'active') AS active,
                              sum(quantity) FILTER (WHERE status = 'converted') AS converted
                         FROM ticket_holds
                        WHERE event_id = p_event_id AND bucket_no IS NOT NULL AND status IN ('active', 'converted')
                        GROUP BY tier_id, bucket_no) h ON h.tier_id = k.tier_id AND h.bucket_no = k.bucket_no
            JOIN ticket_tiers t ON t.id = coalesce(k.tier_id, h.tier_id)
           WHERE k.reserved_quantity IS DISTINCT FROM coalesce(h.active, 0)
              OR k.sold_quantity IS DISTINCT FROM coalesce(h.converted, 0)
          UNION ALL
          SELECT format('%s: %s %s holds %s', t.name, count(*), h.status,
                        CASE WHEN t.bucket_count = 1 THEN 'name a bucket of a single-row tier' ELSE 'name no bucket' END)
            FROM ticket_holds h JOIN ticket_tiers t ON t.id = h.tier_id
           WHERE h.event_id = p_event_id AND h.status IN ('active', 'converted')
             AND (h.bucket_no IS NULL) = (t.bucket_count > 1)
           GROUP BY t.name, t.bucket_count, h.status
           LIMIT 100) x;
  RETURN QUERY SELECT 'bucket_counters_match_holds', v_bad = 0, v_bad || ' problems',
                      coalesce(v_list, 'every bucket''s reserved and sold equal the seats of its active and converted holds');

  -- The counters' rule: a settled bucketed tier carries its buckets' sums.
  SELECT count(*), string_agg(format('%s: sold %s, reserved %s; buckets: sold %s, reserved %s', t.name, t.sold_quantity,
                                     t.reserved_quantity, i.sold_quantity, i.reserved_quantity), '; ')
    INTO v_bad, v_list
    FROM ticket_tiers t JOIN tier_inventory(p_event_id) i ON i.tier_id = t.id
   WHERE t.bucket_count > 1 AND t.counters_settled
     AND (t.sold_quantity, t.reserved_quantity) IS DISTINCT FROM (i.sold_quantity, i.reserved_quantity);
  SELECT count(*) INTO v_unsettled FROM ticket_tiers WHERE event_id = p_event_id AND bucket_count > 1 AND NOT counters_settled;
  RETURN QUERY SELECT 'settled_counters_match_buckets', v_bad = 0, v_bad || ' tiers',
                      coalesce(v_list, format('every settled bucketed tier''s sold and reserved equal its buckets'' sums (%s tiers changed since their last settle_tier_counters)', v_unsettled));
END
$$;

-- load_test_capacity as in 20261201000100_hold_expiry.sql, with every tier's live counters.
CREATE OR REPLACE FUNCTION public.load_test_capacity(p_event_id uuid)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, extensions, pg_temp
AS $$
DECLARE
  v_total bigint;
  v_sold bigint;
  v_reserved bigint;
  v_holds record;
  v_paid bigint;
  v_minutes double precision;
  v_overdue bigint;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM events WHERE id = p_event_id) THEN
    RAISE EXCEPTION 'EVENT_NOT_FOUND' USING ERRCODE = 'LT414', DETAIL = 'no event has this id';
  END IF;
  SELECT coalesce(sum(total_quantity), 0), coalesce(sum(sold_quantity), 0), coalesce(sum(reserved_quantity), 0)
    INTO v_total, v_sold, v_reserved FROM tier_inventory(p_event_id);
  SELECT count(*) AS total,
         count(*) FILTER (WHERE status = 'active') AS active,
         count(*) FILTER (WHERE status = 'converted') AS converted,
         count(*) FILTER (WHERE status = 'expired') AS expired,
         count(*) FILTER (WHERE status = 'released') AS released,
         min(created_at) AS first_at
    INTO v_holds FROM ticket_holds WHERE event_id = p_event_id;
  SELECT count(*) INTO v_paid FROM orders WHERE event_id = p_event_id AND status = 'paid';
  -- Uses idx_ticket_holds_expiry (active holds by expiry): cheap while the cleanup keeps up.
  SELECT count(*) INTO v_overdue FROM ticket_holds WHERE status = 'active' AND expires_at < now() - interval '120 seconds';
  -- The window runs from the first hold to now; at least one second so a rate is always finite.
  v_minutes := greatest(extract(epoch FROM now() - coalesce(v_holds.first_at, now())), 1) / 60.0;

  RETURN jsonb_build_object(
    'total_tickets', v_total, 'sold', v_sold, 'reserved', v_reserved,
    'inventory_utilisation', CASE WHEN v_total = 0 THEN 0 ELSE (v_sold + v_reserved)::float8 / v_total END,
    'holds_total', v_holds.total, 'holds_active', v_holds.active, 'holds_converted', v_holds.converted,
    'holds_expired', v_holds.expired, 'holds_released', v_holds.released,
    'window_minutes', round(v_minutes::numeric, 3)::float8,
    'holds_expired_per_minute', round((v_holds.expired / v_minutes)::numeric, 3)::float8,
    'reservations', v_holds.total, 'orders_paid', v_paid,
    'conversion_rate', CASE WHEN v_holds.total = 0 THEN 0 ELSE v_paid::float8 / v_holds.total END,
    'cart_abandonment_rate', CASE WHEN v_holds.total = 0 THEN 0 ELSE v_holds.expired::float8 / v_holds.total END,
    'project_overdue_holds', v_overdue);
END
$$;

-- The pattern of 20261201000000_api_privileges.sql. service_role: the new signature of load_test_setup,
-- and the settle and live counters a deployment's tools read over /rest/v1/rpc.
SELECT liventix_private.restrict_table('public.inventory_buckets'::regclass);
SELECT liventix_private.restrict_function('public.load_test_setup(integer, integer, integer, integer, integer, text, integer)'::regprocedure, true);
SELECT liventix_private.restrict_function('public.settle_tier_counters(uuid)'::regprocedure, true);
SELECT liventix_private.restrict_function('public.tier_inventory(uuid)'::regprocedure, true);
SELECT liventix_private.restrict_function('public.spread_tier_inventory(uuid, integer)'::regprocedure, false);
SELECT liventix_private.restrict_function('public.lt_take_seats(uuid, integer, integer, boolean)'::regprocedure, false);
SELECT liventix_private.restrict_function('public.lt_settle_tier(uuid)'::regprocedure, false);

-- With pg_cron the database settles bucketed tiers itself every minute, next to the hold cleanup; without
-- it the embedded target's timer does. cron.schedule with a job name replaces that job.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
    PERFORM cron.schedule('liventix-settle-tier-counters', '* * * * *', 'SELECT public.settle_tier_counters()');
  END IF;
END
$$;
