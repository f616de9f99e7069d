-- Flash-sale reserve: every client asks for one ticket of a random tier of the lab's event, as fast as it
-- can. Isolation comes from the session default (the race lab sets it through PGOPTIONS).
-- try_reserve reports "sold out" as a value, so a sold-out answer never aborts a pgbench client.
-- Variables (-D): tiers='{uuid,...}', ntiers=N, sessions=N (0: a fresh session per transaction; N: a
-- pool of N shared sessions, i.e. buyers who double-click).
\set t random(1, :ntiers)
SELECT try_reserve((:tiers::uuid[])[:t], 1,
                   CASE WHEN :sessions = 0 THEN 'pgb-' || gen_random_uuid()
                        ELSE 'pgb-' || (1 + floor(random() * :sessions))::int END);
