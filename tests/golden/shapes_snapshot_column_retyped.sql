-- mode: full
-- strategy: merge
-- reason: source orders changed since the last refresh: column amount changed type from INTEGER to BIGINT, so the model is rebuilt

-- step 1 (run)
CREATE TABLE "shop"."main"."__incremental_rebuild of stg_orders" AS SELECT q.* FROM (
SELECT customer_id, sum(amount) AS total FROM orders GROUP BY customer_id
) AS q;

-- step 2 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_counted" AS SELECT count(*) FILTER (WHERE t."__incremental_present" IS NULL) AS "inserted", count(*) FILTER (WHERE n."__incremental_present" AND t."__incremental_present" AND ROW(n."total") IS DISTINCT FROM ROW(t."total")) AS "updated", count(*) FILTER (WHERE n."__incremental_present" IS NULL) AS "deleted" FROM (SELECT *, TRUE AS "__incremental_present" FROM "shop"."main"."__incremental_rebuild of stg_orders") AS n FULL JOIN (SELECT *, TRUE AS "__incremental_present" FROM "shop"."main"."stg_orders") AS t ON n."customer_id" IS NOT DISTINCT FROM t."customer_id";

-- step 3 (count inserted)
SELECT "inserted" FROM "temp"."main"."__incremental_counted";

-- step 4 (count updated)
SELECT "updated" FROM "temp"."main"."__incremental_counted";

-- step 5 (count deleted)
SELECT "deleted" FROM "temp"."main"."__incremental_counted";

-- step 6 (run)
DROP TABLE "temp"."main"."__incremental_counted";

-- step 7 (run)
DROP TABLE "shop"."main"."stg_orders";

-- step 8 (run)
ALTER TABLE "shop"."main"."__incremental_rebuild of stg_orders" RENAME TO "stg_orders";

-- step 9 (run)
COMMENT ON TABLE "shop"."main"."stg_orders" IS 'incremental model stg_orders: built and refreshed by the incremental extension';

-- step 10 (run)
CREATE OR REPLACE TABLE "shop"."_incremental"."snapshot of orders for main.stg_orders" AS SELECT "customer_id", "amount", "note" FROM "orders";

-- step 11 (run)
COMMENT ON TABLE "shop"."_incremental"."snapshot of orders for main.stg_orders" IS 'kept by the incremental extension for model stg_orders';
