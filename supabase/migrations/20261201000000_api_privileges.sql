-- Who may call what, on a real Supabase project as on plain PostgreSQL.
--
-- Why this file exists: a Supabase project's default privileges grant EXECUTE on every new function in
-- schema public, and ALL on every new table, directly to anon, authenticated and service_role (see the
-- initial schema of github.com/supabase/postgres, migrations/db/init-scripts/00000000000000-initial-
-- schema.sql). `REVOKE ... FROM PUBLIC` does not touch those direct grants. Pushed without this file,
-- anyone holding the public anon key could call complete_payment through /rest/v1/rpc and mark an
-- order paid without paying. This file closes that on projects that already pushed the earlier
-- migrations (supabase db push applies only files it has not applied yet) and on fresh ones.
--
-- The rule: every function and table of the suite belongs to its owner (the role that ran the
-- migrations). anon and authenticated get nothing: buyers reach the functions only through the Edge
-- Functions (server side, with the project's service credentials), never from the browser.
-- service_role may execute only what the API and the suite's tools call through /rest/v1/rpc; its
-- table privileges are left as Supabase sets them (it is the project's admin key and bypasses RLS
-- anyway). Row level security stays on for every table: with no policies, API roles see no rows.
-- Trigger functions are locked down too: a trigger fires without its function's EXECUTE privilege.
--
-- THE PATTERN FOR LATER MIGRATIONS. After creating a function in public (or re-creating one with a new
-- signature: DROP + CREATE drops its privileges and the project's defaults apply again), end the
-- migration with one line per function, true only when service_role must call it over /rest/v1/rpc:
--     SELECT liventix_private.restrict_function('public.my_function(uuid, integer)'::regprocedure, false);
-- and for a new table:
--     SELECT liventix_private.restrict_table('public.my_table'::regclass);
-- then add the function to lib/sql-functions.ts (test/supabase-privileges.test.ts fails until you do).
-- CREATE OR REPLACE with the same signature keeps the privileges already set.
--
-- Idempotent, PostgreSQL 15 and 18, with or without Supabase's roles (missing roles are skipped). It
-- changes no default privileges: other objects of the project keep whatever the project grants.

CREATE SCHEMA IF NOT EXISTS liventix_private;
-- Not in PostgREST's exposed schemas, and no API role may even look inside.
REVOKE ALL ON SCHEMA liventix_private FROM PUBLIC;

-- Every privilege of PUBLIC and of those of `p_roles` that exist, on one object (p_kind FUNCTION or TABLE).
CREATE OR REPLACE FUNCTION liventix_private.revoke_all(p_kind text, p_object text, p_roles text[])
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_role text;
BEGIN
  IF p_kind NOT IN ('FUNCTION', 'TABLE') THEN
    RAISE EXCEPTION 'revoke_all: p_kind must be FUNCTION or TABLE, not %', p_kind;
  END IF;
  EXECUTE format('REVOKE ALL ON %s %s FROM PUBLIC', p_kind, p_object);
  FOREACH v_role IN ARRAY p_roles LOOP
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_role) THEN
      EXECUTE format('REVOKE ALL ON %s %s FROM %I', p_kind, p_object, v_role);
    END IF;
  END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION liventix_private.restrict_function(p_function regprocedure, p_service_role boolean)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM liventix_private.revoke_all('FUNCTION', p_function::text, ARRAY['anon', 'authenticated', 'service_role']);
  IF p_service_role AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
    EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO service_role', p_function);
  END IF;
END
$$;

-- TRUNCATE, REFERENCES and TRIGGER are not governed by RLS, so the grants go, not just the rows.
CREATE OR REPLACE FUNCTION liventix_private.restrict_table(p_table regclass)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM liventix_private.revoke_all('TABLE', p_table::text, ARRAY['anon', 'authenticated']);
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', p_table);
END
$$;

REVOKE ALL ON FUNCTION liventix_private.revoke_all(text, text, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION liventix_private.restrict_function(regprocedure, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION liventix_private.restrict_table(regclass) FROM PUBLIC;

-- Every function of the suite, overloads included. service_role keeps the load-test tools the k6 suite
-- and `npm run verify` call over /rest/v1/rpc, and the three functions behind the Edge Function routes
-- (enhanced-checkout, checkout-session, payment-webhook), for a deployment whose Edge Functions call
-- them through supabase-js with the service-role key rather than over SUPABASE_DB_URL.
SELECT liventix_private.restrict_function(
         p.oid::regprocedure,
         p.proname IN ('load_test_setup', 'load_test_invariants', 'load_test_capacity', 'cleanup_expired_holds',
                       'enhanced_checkout', 'open_checkout_session', 'complete_payment'))
  FROM pg_proc p
 WHERE p.pronamespace = 'public'::regnamespace
   AND p.proname IN ('lt_error', 'lt_try_uuid', 'new_qr_code', 'try_reserve', 'reserve_tickets_batch', 'checkout_holds',
                     'lt_checkout_once', 'enhanced_checkout', 'open_checkout_session', 'complete_payment', 'release_hold',
                     'cleanup_expired_holds', 'cleanup_idempotency_keys', 'load_test_setup', 'load_test_invariants',
                     'load_test_capacity', 'lt_delete_tier_children');

SELECT liventix_private.restrict_table(c.oid::regclass)
  FROM pg_class c
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
   AND c.relname IN ('events', 'ticket_tiers', 'ticket_holds', 'orders', 'tickets', 'idempotency_keys', 'payment_events');
