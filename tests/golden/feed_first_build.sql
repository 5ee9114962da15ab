-- mode: full
-- strategy: merge
-- reason: first build: the table does not exist yet

-- step 1 (run)
CREATE TABLE "shop"."main"."stg_orders" AS SELECT q.* FROM (
SELECT o.customer_id, o.product_id, p.name, count(DISTINCT o.order_id) AS orders FROM orders AS o LEFT JOIN shop.main.products AS p ON p.product_id = o.product_id GROUP BY o.customer_id, o.product_id, p.name
) AS q;

-- step 2 (run)
COMMENT ON TABLE "shop"."main"."stg_orders" IS 'incremental model stg_orders: built and refreshed by the incremental extension';

-- step 3 (check)
SELECT 'customer_id' || ' = ' || coalesce(CAST("customer_id" AS VARCHAR), 'NULL') || ', ' || 'product_id' || ' = ' || coalesce(CAST("product_id" AS VARCHAR), 'NULL') || ' (' || count(*) || ' rows)' FROM "shop"."main"."stg_orders" GROUP BY "customer_id", "product_id" HAVING count(*) > 1 LIMIT 1;

-- step 4 (count inserted)
SELECT count(*) FROM "shop"."main"."stg_orders";

-- step 5 (source watermark)
SELECT '44';

-- step 6 (source watermark)
SELECT '44';
