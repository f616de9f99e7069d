-- npm run bench:target, database side: the guarded reserve the API runs, one ticket per call, a fresh
-- session each time so "one active hold per session" never refuses it. -D tier='<uuid>'.
SELECT try_reserve(:tier::uuid, 1, 'b' || :client_id || '-' || random());
