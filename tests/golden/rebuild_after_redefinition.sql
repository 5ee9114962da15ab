-- mode: full
-- strategy: merge
-- reason: the definition changed (replace := true), so the table is rebuilt

-- step 1 (run)
CREATE TABLE "shop"."main"."__incremental_rebuild of stg_orders" AS SELECT q.* FROM (
SELECT order_id, day, amount FROM orders
) AS q;

-- step 2 (check)
SELECT CAST(count(*) AS VARCHAR) FROM "shop"."main"."__incremental_rebuild of stg_orders" WHERE "day" IS NULL HAVING count(*) > 0;

-- step 3 (check)
SELECT 'order_id' || ' = ' || coalesce(CAST("order_id" AS VARCHAR), 'NULL') || ' (' || count(*) || ' rows)' FROM "shop"."main"."__incremental_rebuild of stg_orders" GROUP BY "order_id" HAVING count(*) > 1 LIMIT 1;

-- step 4 (count inserted)
SELECT count(*) FROM "shop"."main"."__incremental_rebuild of stg_orders";

-- step 5 (count deleted)
SELECT count(*) FROM "shop"."main"."stg_orders";

-- step 6 (run)
DROP TABLE "shop"."main"."stg_orders";

-- step 7 (run)
ALTER TABLE "shop"."main"."__incremental_rebuild of stg_orders" RENAME TO "stg_orders";

-- step 8 (run)
COMMENT ON TABLE "shop"."main"."stg_orders" IS 'incremental model stg_orders: built and refreshed by the incremental extension';

-- step 9 (watermark)
SELECT CAST(CAST(max("day") AS DATE) AS VARCHAR) FROM "shop"."main"."stg_orders";
