-- The whole purchase under contention: reserve -> checkout -> payment webhook -> cleanup job, each step
-- its own transaction as it is behind the HTTP API. Steps 3 and 4 deliberately act on other buyers'
-- rows (a second browser tab, a webhook delivered more than once) so that concurrent duplicates happen.
-- Every function returns outcomes as values and every \gset query returns exactly one row, so no
-- business outcome aborts a client.
-- Variables (-D): event='uuid', tiers='{uuid,...}', ntiers=N, sessions=N (see reserve.sql).
\set t random(1, :ntiers)
\set roll random(1, 100)
-- 1. A buyer reserves one ticket.
SELECT (r ->> 'ok')::boolean::int AS ok,
       coalesce(r ->> 'hold_id', '00000000-0000-0000-0000-000000000000') AS hold, s AS sess
  FROM (SELECT try_reserve((:tiers::uuid[])[:t], 1, s) AS r, s
          FROM (SELECT CASE WHEN :roll > 80 THEN 'pgb-away-' ELSE 'pgb-' END
                       || CASE WHEN :sessions = 0 THEN gen_random_uuid()::text
                               ELSE (1 + floor(random() * :sessions))::int::text END AS s) x) y \gset
-- 2. Four buyers in five go on to checkout; the fifth ("pgb-away-") abandons the hold, which expires.
\if :ok = 1 and :roll <= 80
SELECT checkout_holds(ARRAY[':hold'::uuid], ':sess');
\endif
-- 3. A second browser tab: the freshest hold without an order (abandoned ones aside) is checked out
--    again, concurrently with its owner.
SELECT checkout_holds(ARRAY[id], session_id) FROM ticket_holds
 WHERE event_id = :event::uuid AND status = 'active' AND order_id IS NULL
   AND session_id NOT LIKE 'pgb-away-%'
   AND created_at > now() - interval '1 second'
 ORDER BY created_at DESC LIMIT 1;
-- 4. The provider delivers the webhook for the oldest pending order; deliveries overlap and repeat.
SELECT complete_payment(id, 'evt_' || id) FROM orders
 WHERE event_id = :event::uuid AND status = 'pending'
 ORDER BY created_at LIMIT 1;
-- 5. The cleanup job (pg_cron's minute, compressed: one transaction in twenty).
\if :roll > 95
SELECT cleanup_expired_holds();
\endif
