-- mode: full
-- strategy: merge
-- reason: snapshot 40 of the DuckLake, where the last refresh stopped reading orders, was expired, so the changes since are unknown and the model is rebuilt

-- step 1 (run)
CREATE TABLE "shop"."main"."__incremental_rebuild of stg_orders" AS SELECT q.* FROM (
SELECT o.customer_id, o.product_id, p.name, count(DISTINCT o.order_id) AS orders FROM orders AS o LEFT JOIN shop.main.products AS p ON p.product_id = o.product_id GROUP BY o.customer_id, o.product_id, p.name
) AS q;

-- step 2 (check)
SELECT 'customer_id' || ' = ' || coalesce(CAST("customer_id" AS VARCHAR), 'NULL') || ', ' || 'product_id' || ' = ' || coalesce(CAST("product_id" AS VARCHAR), 'NULL') || ' (' || count(*) || ' rows)' FROM "shop"."main"."__incremental_rebuild of stg_orders" GROUP BY "customer_id", "product_id" HAVING count(*) > 1 LIMIT 1;

-- step 3 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_counted" AS SELECT count(*) FILTER (WHERE t."__incremental_present" IS NULL) AS "inserted", count(*) FILTER (WHERE n."__incremental_present" AND t."__incremental_present" AND ROW(n."name") IS DISTINCT FROM ROW(t."name")) AS "updated", count(*) FILTER (WHERE n."__incremental_present" IS NULL) AS "deleted" FROM (SELECT *, TRUE AS "__incremental_present" FROM "shop"."main"."__incremental_rebuild of stg_orders") AS n FULL JOIN (SELECT *, TRUE AS "__incremental_present" FROM "shop"."main"."stg_orders") AS t ON n."customer_id" IS NOT DISTINCT FROM t."customer_id" AND n."product_id" IS NOT DISTINCT FROM t."product_id";

-- step 4 (count inserted)
SELECT "inserted" FROM "temp"."main"."__incremental_counted";

-- step 5 (count updated)
SELECT "updated" FROM "temp"."main"."__incremental_counted";

-- step 6 (count deleted)
SELECT "deleted" FROM "temp"."main"."__incremental_counted";

-- step 7 (run)
DROP TABLE "temp"."main"."__incremental_counted";

-- step 8 (run)
DROP TABLE "shop"."main"."stg_orders";

-- step 9 (run)
ALTER TABLE "shop"."main"."__incremental_rebuild of stg_orders" RENAME TO "stg_orders";

-- step 10 (run)
COMMENT ON TABLE "shop"."main"."stg_orders" IS 'incremental model stg_orders: built and refreshed by the incremental extension';

-- step 11 (source watermark)
SELECT '44';

-- step 12 (source watermark)
SELECT '44';
