-- Planted fault "constraints_dropped" (drops the three CHECK constraints of ticket_tiers; applied on top
-- of check_then_act). Without the safety net the racy reserve's oversell commits: reserved_quantity runs
-- past total_quantity and more holds exist than seats. This is what the Liventix Advanced Load Testing Guide's CHECK constraints are for.
ALTER TABLE public.ticket_tiers DROP CONSTRAINT IF EXISTS check_no_negative_availability;
ALTER TABLE public.ticket_tiers DROP CONSTRAINT IF EXISTS check_reserved_lte_total;
ALTER TABLE public.ticket_tiers DROP CONSTRAINT IF EXISTS check_sold_lte_total;
