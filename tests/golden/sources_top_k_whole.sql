-- mode: incremental
-- strategy: merge
-- reason: auto: sources and unique_key given; reads the changed rows of orders (updated_at beyond its watermark); its rows (ORDER BY ... LIMIT, the empty key) are recomputed from the whole query and written where they differ

-- probe (false: no-op)
SELECT EXISTS (SELECT * FROM "orders" WHERE "updated_at" > CAST('2024-03-10 12:00:00' AS TIMESTAMP));

-- share of a source's rows changed (over incremental_full_fraction: the full rebuild instead)
SELECT (SELECT CASE WHEN n < 100000 THEN 0 ELSE CAST(w AS DOUBLE) / n END FROM (SELECT count(*) AS w FROM (SELECT * FROM "orders" WHERE "updated_at" > CAST('2024-03-10 12:00:00' AS TIMESTAMP))), (SELECT count(*) AS n FROM "orders"));

-- step 1 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_new" AS SELECT customer_id, product_id, name FROM orders ORDER BY product_id DESC LIMIT 3;

-- step 2 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_old" AS SELECT "customer_id", "product_id", "name" FROM "shop"."main"."stg_orders";

-- step 3 (count inserted)
SELECT count(*) FROM (SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_new" EXCEPT ALL SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_old");

-- step 4 (count deleted)
SELECT count(*) FROM (SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_old" EXCEPT ALL SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_new");

-- step 5 (run)
DELETE FROM "shop"."main"."stg_orders" WHERE EXISTS (SELECT * FROM (SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_new" EXCEPT ALL SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_old") UNION ALL SELECT * FROM (SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_old" EXCEPT ALL SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_new"));

-- step 6 (run)
INSERT INTO "shop"."main"."stg_orders" ("customer_id", "product_id", "name") SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_new" WHERE EXISTS (SELECT * FROM (SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_new" EXCEPT ALL SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_old") UNION ALL SELECT * FROM (SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_old" EXCEPT ALL SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_new"));

-- step 7 (run)
DROP TABLE "temp"."main"."__incremental_new";

-- step 8 (run)
DROP TABLE "temp"."main"."__incremental_old";

-- step 9 (source watermark)
SELECT CAST(greatest(coalesce(max("updated_at"), CAST('2024-03-10 12:00:00' AS TIMESTAMP)), CAST('2024-03-10 12:00:00' AS TIMESTAMP)) AS VARCHAR) FROM (SELECT * FROM "orders" WHERE "updated_at" > CAST('2024-03-10 12:00:00' AS TIMESTAMP)) AS s;
