-- mode: full
-- strategy: merge
-- reason: the query cannot be refreshed by key (it combines results with INTERSECT, whose rows depend on every branch at once; make each branch a model of its own and combine them in a plain model), so it is rebuilt

-- step 1 (run)
CREATE TABLE "shop"."main"."__incremental_rebuild of stg_orders" AS SELECT q.* FROM (
SELECT customer_id, product_id, name FROM orders INTERSECT SELECT customer_id, product_id, name FROM products
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
SELECT CAST(max("updated_at") AS VARCHAR) FROM (SELECT * FROM "orders") AS s;

-- step 12 (source watermark)
SELECT CAST(max("updated_at") AS VARCHAR) FROM (SELECT * FROM "shop"."main"."products") AS s;
