-- Planted fault "qr_repeats" (replaces new_qr_code; same signature). A short random code (the "random
-- 4-digit code" pattern) repeats after a handful of tickets. The unique
-- constraint on tickets.qr_code refuses the repeat (23505), so the payment that hits it fails with a
-- server error; without the constraint two buyers would hold the same ticket.
-- The code space is shrunk to 4 values so even a 10-ticket sale collides.
CREATE OR REPLACE FUNCTION public.new_qr_code()
RETURNS text LANGUAGE sql VOLATILE AS $$
  SELECT 'LTX-' || floor(random() * 4)::int
$$;
