-- mode: incremental
-- strategy: merge
-- reason: auto: sources and unique_key given; reads the changed rows of orders (updated_at beyond its watermark)

-- probe (false: no-op)
SELECT EXISTS (SELECT * FROM "orders" WHERE "updated_at" > CAST('2024-03-10 12:00:00' AS TIMESTAMP));

-- share of a source's rows changed (over incremental_full_fraction: the full rebuild instead)
SELECT (SELECT CASE WHEN n < 100000 THEN 0 ELSE CAST(w AS DOUBLE) / n END FROM (SELECT count(*) AS w FROM (SELECT * FROM "orders" WHERE "updated_at" > CAST('2024-03-10 12:00:00' AS TIMESTAMP))), (SELECT count(*) AS n FROM "orders"));

-- step 1 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_keys" AS SELECT DISTINCT customer_id AS customer_id, product_id AS product_id FROM (SELECT * FROM "orders" WHERE "updated_at" > CAST('2024-03-10 12:00:00' AS TIMESTAMP)) AS orders
UNION
SELECT DISTINCT customer_id AS customer_id, NULL AS product_id FROM (SELECT * FROM "orders" WHERE "updated_at" > CAST('2024-03-10 12:00:00' AS TIMESTAMP)) AS orders
UNION
SELECT DISTINCT NULL AS customer_id, NULL AS product_id FROM (SELECT * FROM "orders" WHERE "updated_at" > CAST('2024-03-10 12:00:00' AS TIMESTAMP)) AS orders;

-- step 2 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_new" AS SELECT * FROM (SELECT * FROM (SELECT customer_id AS "customer_id", product_id AS "product_id", count(*) AS name FROM orders SEMI JOIN (SELECT "customer_id" AS "__incremental_k0", "product_id" AS "__incremental_k1" FROM "temp"."main"."__incremental_keys" WHERE NOT ("customer_id" IS NULL OR "product_id" IS NULL)) AS "__incremental_k" ON "__incremental_k"."__incremental_k0" = customer_id AND "__incremental_k"."__incremental_k1" = product_id GROUP BY customer_id, product_id) AS q UNION ALL SELECT * FROM (SELECT customer_id AS "customer_id", product_id AS "product_id", count(*) AS name FROM orders SEMI JOIN (SELECT "customer_id" AS "__incremental_k0", "product_id" AS "__incremental_k1" FROM "temp"."main"."__incremental_keys" WHERE "customer_id" IS NULL OR "product_id" IS NULL) AS "__incremental_k" ON "__incremental_k"."__incremental_k0" IS NOT DISTINCT FROM customer_id AND "__incremental_k"."__incremental_k1" IS NOT DISTINCT FROM product_id GROUP BY customer_id, product_id) AS q) AS q
UNION ALL
SELECT * FROM (SELECT * FROM (SELECT customer_id AS "customer_id", NULL AS "product_id", count(*) AS name FROM orders SEMI JOIN (SELECT "customer_id" AS "__incremental_k0", "product_id" AS "__incremental_k1" FROM "temp"."main"."__incremental_keys" WHERE NOT ("customer_id" IS NULL OR "product_id" IS NULL)) AS "__incremental_k" ON "__incremental_k"."__incremental_k0" = customer_id AND "__incremental_k"."__incremental_k1" = NULL GROUP BY customer_id) AS q UNION ALL SELECT * FROM (SELECT customer_id AS "customer_id", NULL AS "product_id", count(*) AS name FROM orders SEMI JOIN (SELECT "customer_id" AS "__incremental_k0", "product_id" AS "__incremental_k1" FROM "temp"."main"."__incremental_keys" WHERE "customer_id" IS NULL OR "product_id" IS NULL) AS "__incremental_k" ON "__incremental_k"."__incremental_k0" IS NOT DISTINCT FROM customer_id AND "__incremental_k"."__incremental_k1" IS NOT DISTINCT FROM NULL GROUP BY customer_id) AS q) AS q
UNION ALL
SELECT * FROM (SELECT * FROM (SELECT NULL AS "customer_id", NULL AS "product_id", count(*) AS name FROM orders) AS q WHERE EXISTS (SELECT 1 FROM "temp"."main"."__incremental_keys" AS "__incremental_k" WHERE "__incremental_k"."customer_id" IS NOT DISTINCT FROM q."customer_id" AND "__incremental_k"."product_id" IS NOT DISTINCT FROM q."product_id")) AS q;

-- step 3 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_old" AS SELECT t."customer_id", t."product_id", t."name" FROM "shop"."main"."stg_orders" AS t SEMI JOIN (SELECT * FROM (SELECT "customer_id", "product_id" FROM "temp"."main"."__incremental_keys" UNION SELECT "customer_id", "product_id" FROM "temp"."main"."__incremental_new") AS n WHERE NOT (n."customer_id" IS NULL OR n."product_id" IS NULL)) AS n ON n."customer_id" = t."customer_id" AND n."product_id" = t."product_id" UNION ALL SELECT t."customer_id", t."product_id", t."name" FROM "shop"."main"."stg_orders" AS t SEMI JOIN (SELECT * FROM (SELECT "customer_id", "product_id" FROM "temp"."main"."__incremental_keys" UNION SELECT "customer_id", "product_id" FROM "temp"."main"."__incremental_new") AS n WHERE n."customer_id" IS NULL OR n."product_id" IS NULL) AS n ON n."customer_id" IS NOT DISTINCT FROM t."customer_id" AND n."product_id" IS NOT DISTINCT FROM t."product_id" WHERE t."customer_id" IS NULL OR t."product_id" IS NULL;

-- step 4 (count inserted)
SELECT count(*) FROM (SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_new" EXCEPT ALL SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_old");

-- step 5 (count deleted)
SELECT count(*) FROM (SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_old" EXCEPT ALL SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_new");

-- step 6 (run)
DELETE FROM "shop"."main"."stg_orders" AS t USING (SELECT DISTINCT "customer_id", "product_id" FROM "temp"."main"."__incremental_old") AS n WHERE n."customer_id" = t."customer_id" AND n."product_id" = t."product_id";

-- step 7 (run)
DELETE FROM "shop"."main"."stg_orders" AS t USING (SELECT * FROM (SELECT DISTINCT "customer_id", "product_id" FROM "temp"."main"."__incremental_old") AS n WHERE n."customer_id" IS NULL OR n."product_id" IS NULL) AS n WHERE (t."customer_id" IS NULL OR t."product_id" IS NULL) AND n."customer_id" IS NOT DISTINCT FROM t."customer_id" AND n."product_id" IS NOT DISTINCT FROM t."product_id";

-- step 8 (run)
INSERT INTO "shop"."main"."stg_orders" ("customer_id", "product_id", "name") SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_new";

-- step 9 (run)
DROP TABLE "temp"."main"."__incremental_old";

-- step 10 (run)
DROP TABLE "temp"."main"."__incremental_new";

-- step 11 (run)
DROP TABLE "temp"."main"."__incremental_keys";

-- step 12 (source watermark)
SELECT CAST(greatest(coalesce(max("updated_at"), CAST('2024-03-10 12:00:00' AS TIMESTAMP)), CAST('2024-03-10 12:00:00' AS TIMESTAMP)) AS VARCHAR) FROM (SELECT * FROM "orders" WHERE "updated_at" > CAST('2024-03-10 12:00:00' AS TIMESTAMP)) AS s;
