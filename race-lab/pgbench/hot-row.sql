-- npm run bench:target, the ceiling: the cheapest write that still takes the tier row's lock, so its tps
-- is the most any reserve on one hot tier can reach. -D tier='<uuid>'.
UPDATE ticket_tiers SET reserved_quantity = reserved_quantity WHERE id = :tier::uuid;
