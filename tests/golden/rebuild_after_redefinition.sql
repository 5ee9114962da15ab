-- mode: full
-- strategy: merge
-- reason: the definition changed (replace := true), so the table is rebuilt

-- step 1 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_new" AS SELECT q.* FROM (
SELECT order_id, day, amount FROM orders
) AS q;

-- step 2 (check)
SELECT CAST(count(*) AS VARCHAR) FROM "temp"."main"."__incremental_new" WHERE "day" IS NULL HAVING count(*) > 0;

-- step 3 (check)
SELECT 'order_id' || ' = ' || coalesce(CAST("order_id" AS VARCHAR), 'NULL') || ' (' || count(*) || ' rows)' FROM "temp"."main"."__incremental_new" GROUP BY "order_id" HAVING count(*) > 1 LIMIT 1;

-- step 4 (count inserted)
SELECT count(*) FROM "temp"."main"."__incremental_new";

-- step 5 (count deleted)
SELECT count(*) FROM "shop"."main"."stg_orders";

-- step 6 (run)
CREATE OR REPLACE TABLE "shop"."main"."stg_orders" AS SELECT * FROM "temp"."main"."__incremental_new";

-- step 7 (run)
COMMENT ON TABLE "shop"."main"."stg_orders" IS 'incremental model stg_orders: built and refreshed by the incremental extension';

-- step 8 (watermark)
SELECT CAST(CAST(max("day") AS DATE) AS VARCHAR) FROM "shop"."main"."stg_orders";

-- step 9 (run)
DROP TABLE "temp"."main"."__incremental_new";
