-- mode: full
-- strategy: merge
-- reason: the query cannot be refreshed by key (it combines results (UNION, INTERSECT, EXCEPT or VALUES)), so it is rebuilt

-- step 1 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_new" AS SELECT q.* FROM (
SELECT customer_id, product_id, name FROM orders UNION SELECT 1, 2, 'x'
) AS q;

-- step 2 (check)
SELECT 'customer_id' || ' = ' || coalesce(CAST("customer_id" AS VARCHAR), 'NULL') || ', ' || 'product_id' || ' = ' || coalesce(CAST("product_id" AS VARCHAR), 'NULL') || ' (' || count(*) || ' rows)' FROM "temp"."main"."__incremental_new" GROUP BY "customer_id", "product_id" HAVING count(*) > 1 LIMIT 1;

-- step 3 (count inserted)
SELECT count(*) FROM "temp"."main"."__incremental_new" AS n WHERE NOT EXISTS (SELECT 1 FROM "shop"."main"."stg_orders" AS t WHERE n."customer_id" IS NOT DISTINCT FROM t."customer_id" AND n."product_id" IS NOT DISTINCT FROM t."product_id");

-- step 4 (count updated)
SELECT count(*) FROM "temp"."main"."__incremental_new" AS n JOIN "shop"."main"."stg_orders" AS t ON n."customer_id" IS NOT DISTINCT FROM t."customer_id" AND n."product_id" IS NOT DISTINCT FROM t."product_id" WHERE ROW(n."name") IS DISTINCT FROM ROW(t."name");

-- step 5 (count deleted)
SELECT count(*) FROM "shop"."main"."stg_orders" AS t WHERE TRUE AND NOT EXISTS (SELECT 1 FROM "temp"."main"."__incremental_new" AS n WHERE n."customer_id" IS NOT DISTINCT FROM t."customer_id" AND n."product_id" IS NOT DISTINCT FROM t."product_id");

-- step 6 (run)
CREATE OR REPLACE TABLE "shop"."main"."stg_orders" AS SELECT * FROM "temp"."main"."__incremental_new";

-- step 7 (run)
COMMENT ON TABLE "shop"."main"."stg_orders" IS 'incremental model stg_orders: built and refreshed by the incremental extension';

-- step 8 (run)
DROP TABLE "temp"."main"."__incremental_new";

-- step 9 (source watermark)
SELECT CAST(max("updated_at") AS VARCHAR) FROM (SELECT * FROM "orders") AS s;

-- step 10 (source watermark)
SELECT CAST(max("updated_at") AS VARCHAR) FROM (SELECT * FROM "shop"."main"."products") AS s;
