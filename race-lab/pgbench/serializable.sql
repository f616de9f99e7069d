-- The Liventix Advanced Load Testing Guide's SERIALIZABLE reserve: the same request as reserve.sql inside an explicit SERIALIZABLE
-- transaction. pgbench retries the whole script on 40001/40P01 (--max-tries) and counts what is left.
-- Variables (-D): tiers='{uuid,...}', ntiers=N, sessions=N (see reserve.sql).
\set t random(1, :ntiers)
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT try_reserve((:tiers::uuid[])[:t], 1,
                   CASE WHEN :sessions = 0 THEN 'pgb-' || gen_random_uuid()
                        ELSE 'pgb-' || (1 + floor(random() * :sessions))::int END);
COMMIT;
