-- Planted fault "slow_reserve" (replaces try_reserve; same signature). Reserve locks the tier row first and
-- then does slow work while it holds the lock (pg_sleep(0.25) here; in real systems a slow trigger, an audit
-- write or a call out from inside the transaction): every reservation of a hot tier, sold out or not, queues
-- behind the one before. Nothing is oversold and no invariant breaks: what suffers is latency under
-- contention, which the race bundle must judge (exit 99 on reserve_latency) and the race lab too
-- (latency_under_2000ms). The reference function keeps running after the slow part, under another name.
ALTER FUNCTION public.try_reserve(uuid, integer, text, uuid) RENAME TO lt_try_reserve_reference;

CREATE FUNCTION public.try_reserve(
  p_tier_id uuid, p_quantity integer, p_session_id text, p_user_id uuid DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, extensions, pg_temp
AS $$
BEGIN
  -- FAULT: the tier row is locked up front and slow work happens while it is held.
  PERFORM 1 FROM ticket_tiers WHERE id = p_tier_id FOR UPDATE;
  PERFORM pg_sleep(0.25);
  RETURN lt_try_reserve_reference(p_tier_id, p_quantity, p_session_id, p_user_id);
END
$$;
