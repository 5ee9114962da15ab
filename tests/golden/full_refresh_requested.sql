-- mode: full
-- strategy: merge
-- reason: full_refresh := true was requested

-- step 1 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_new" AS SELECT q.* FROM (
SELECT order_id, day, amount FROM orders
) AS q;

-- step 2 (check)
SELECT CAST(count(*) AS VARCHAR) FROM "temp"."main"."__incremental_new" WHERE "day" IS NULL HAVING count(*) > 0;

-- step 3 (check)
SELECT 'order_id' || ' = ' || coalesce(CAST("order_id" AS VARCHAR), 'NULL') || ' (' || count(*) || ' rows)' FROM "temp"."main"."__incremental_new" GROUP BY "order_id" HAVING count(*) > 1 LIMIT 1;

-- step 4 (count inserted)
SELECT count(*) FROM "temp"."main"."__incremental_new" AS n WHERE NOT EXISTS (SELECT 1 FROM "shop"."main"."stg_orders" AS t WHERE n."order_id" IS NOT DISTINCT FROM t."order_id");

-- step 5 (count updated)
SELECT count(*) FROM "temp"."main"."__incremental_new" AS n JOIN "shop"."main"."stg_orders" AS t ON n."order_id" IS NOT DISTINCT FROM t."order_id" WHERE ROW(n."day", n."amount") IS DISTINCT FROM ROW(t."day", t."amount");

-- step 6 (count deleted)
SELECT count(*) FROM "shop"."main"."stg_orders" AS t WHERE TRUE AND NOT EXISTS (SELECT 1 FROM "temp"."main"."__incremental_new" AS n WHERE n."order_id" IS NOT DISTINCT FROM t."order_id");

-- step 7 (run)
CREATE OR REPLACE TABLE "shop"."main"."stg_orders" AS SELECT * FROM "temp"."main"."__incremental_new";

-- step 8 (run)
COMMENT ON TABLE "shop"."main"."stg_orders" IS 'incremental model stg_orders: built and refreshed by the incremental extension';

-- step 9 (watermark)
SELECT CAST(CAST(max("day") AS DATE) AS VARCHAR) FROM "shop"."main"."stg_orders";

-- step 10 (run)
DROP TABLE "temp"."main"."__incremental_new";
