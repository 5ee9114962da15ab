-- mode: full
-- strategy: delete+insert
-- reason: first build: the table does not exist yet

-- step 1 (run)
CREATE TABLE "shop"."main"."stg_orders" AS SELECT q.* FROM (
SELECT order_id, day, amount FROM orders WHERE day >= CAST('-infinity' AS DATE) AND day < CAST(now() AS DATE) AND region = 'eu'
) AS q;

-- step 2 (run)
COMMENT ON TABLE "shop"."main"."stg_orders" IS 'incremental model stg_orders: built and refreshed by the incremental extension';

-- step 3 (check)
SELECT CAST(count(*) AS VARCHAR) FROM "shop"."main"."stg_orders" WHERE "day" IS NULL HAVING count(*) > 0;

-- step 4 (check)
SELECT 'order_id' || ' = ' || coalesce(CAST("order_id" AS VARCHAR), 'NULL') || ' (' || count(*) || ' rows)' FROM "shop"."main"."stg_orders" GROUP BY "order_id" HAVING count(*) > 1 LIMIT 1;

-- step 5 (count inserted)
SELECT count(*) FROM "shop"."main"."stg_orders";

-- step 6 (watermark)
SELECT CAST(CAST(max("day") AS DATE) AS VARCHAR) FROM "shop"."main"."stg_orders";
