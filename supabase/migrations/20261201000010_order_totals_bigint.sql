-- Order totals in bigint. A tier price is an integer number of cents (up to 2,147,483,647) and a checkout
-- takes up to 10 seats, so a valid order can total more than an integer holds; the functions already
-- compute totals in bigint, and storing one into orders.total_cents failed with "integer out of range"
-- (a vague 400). Widening the column keeps every valid order and every total exact, and changes no
-- function, so later migrations that replace a function cannot undo it. (A payment provider's own
-- amount limit still applies when the order is paid.)
--
-- The change rewrites public.orders under an ACCESS EXCLUSIVE lock, once: apply it before a sale, not
-- during one. Applied again it does nothing. Like the rest of the schema it assumes public.orders is
-- the suite's own table.
DO $$
BEGIN
  IF (SELECT data_type FROM information_schema.columns
       WHERE table_schema = 'public' AND table_name = 'orders' AND column_name = 'total_cents') = 'integer' THEN
    ALTER TABLE public.orders ALTER COLUMN total_cents TYPE bigint;
  END IF;
END
$$;
