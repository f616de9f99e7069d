-- Planted fault "expiry_keeps_inventory" (replaces cleanup_expired_holds; same signature). Expired holds
-- are marked expired but their seats are never given back to reserved_quantity: every abandoned cart
-- shrinks the sellable inventory for good, and the event "sells out" with seats nobody holds.
-- No race needed: any workload where holds expire and the cleanup job runs exposes it (the lab uses
-- 1-second holds).
CREATE OR REPLACE FUNCTION public.cleanup_expired_holds()
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, extensions, pg_temp
AS $$
DECLARE
  v_expired integer;
BEGIN
  UPDATE ticket_holds SET status = 'expired', updated_at = now()
   WHERE id IN (SELECT id FROM ticket_holds WHERE status = 'active' AND expires_at <= now()
                 ORDER BY id FOR UPDATE SKIP LOCKED);
  GET DIAGNOSTICS v_expired = ROW_COUNT;
  -- FAULT: no "UPDATE ticket_tiers SET reserved_quantity = reserved_quantity - n" for the expired holds.
  RETURN v_expired;
END
$$;
