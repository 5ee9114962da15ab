-- mode: full
-- strategy: full
-- reason: strategy 'full' requested

-- step 1 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_new" AS SELECT q.* FROM (
SELECT order_id, day, amount FROM orders
) AS q;

-- step 2 (count inserted)
SELECT count(*) FROM (SELECT "order_id", "day", "amount" FROM "temp"."main"."__incremental_new" EXCEPT ALL SELECT "order_id", "day", "amount" FROM "shop"."main"."stg_orders" AS t WHERE TRUE);

-- step 3 (count deleted)
SELECT count(*) FROM (SELECT "order_id", "day", "amount" FROM "shop"."main"."stg_orders" AS t WHERE TRUE EXCEPT ALL SELECT "order_id", "day", "amount" FROM "temp"."main"."__incremental_new");

-- step 4 (run)
CREATE OR REPLACE TABLE "shop"."main"."stg_orders" AS SELECT * FROM "temp"."main"."__incremental_new";

-- step 5 (run)
COMMENT ON TABLE "shop"."main"."stg_orders" IS 'incremental model stg_orders: built and refreshed by the incremental extension';

-- step 6 (run)
DROP TABLE "temp"."main"."__incremental_new";
