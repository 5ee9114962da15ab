-- mode: full
-- strategy: full
-- reason: strategy 'full' requested

-- step 1 (run)
CREATE TABLE "shop"."main"."__incremental_rebuild of stg_orders" AS SELECT q.* FROM (
SELECT order_id, day, amount FROM orders
) AS q;

-- step 2 (count inserted)
SELECT count(*) FROM (SELECT "order_id", "day", "amount" FROM "shop"."main"."__incremental_rebuild of stg_orders" EXCEPT ALL SELECT "order_id", "day", "amount" FROM "shop"."main"."stg_orders" AS t WHERE TRUE);

-- step 3 (count deleted)
SELECT count(*) FROM (SELECT "order_id", "day", "amount" FROM "shop"."main"."stg_orders" AS t WHERE TRUE EXCEPT ALL SELECT "order_id", "day", "amount" FROM "shop"."main"."__incremental_rebuild of stg_orders");

-- step 4 (run)
DROP TABLE "shop"."main"."stg_orders";

-- step 5 (run)
ALTER TABLE "shop"."main"."__incremental_rebuild of stg_orders" RENAME TO "stg_orders";

-- step 6 (run)
COMMENT ON TABLE "shop"."main"."stg_orders" IS 'incremental model stg_orders: built and refreshed by the incremental extension';
