-- mode: incremental
-- strategy: merge
-- reason: auto: sources and unique_key given; reads the changed rows of orders (only insertions in its DuckLake snapshots after 40)

-- share of a source's rows changed (over incremental_full_fraction: the full rebuild instead)
SELECT (SELECT CAST(count(*) AS DOUBLE) / 2000000 FROM (SELECT * FROM ducklake_table_insertions('lake', 'main', 'orders', 41, 44)));

-- step 1 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_keys" AS SELECT DISTINCT customer_id AS customer_id FROM (SELECT * FROM ducklake_table_insertions('lake', 'main', 'orders', 41, 44)) AS orders;

-- step 2 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_new" AS SELECT * FROM (SELECT customer_id, product_id, rank() OVER (PARTITION BY customer_id ORDER BY product_id) AS name FROM orders SEMI JOIN (SELECT "customer_id" AS "__incremental_k0" FROM "temp"."main"."__incremental_keys" WHERE NOT ("customer_id" IS NULL)) AS "__incremental_k" ON "__incremental_k"."__incremental_k0" = customer_id) AS q UNION ALL SELECT * FROM (SELECT customer_id, product_id, rank() OVER (PARTITION BY customer_id ORDER BY product_id) AS name FROM orders SEMI JOIN (SELECT "customer_id" AS "__incremental_k0" FROM "temp"."main"."__incremental_keys" WHERE "customer_id" IS NULL) AS "__incremental_k" ON "__incremental_k"."__incremental_k0" IS NOT DISTINCT FROM customer_id) AS q;

-- step 3 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_old" AS SELECT t."customer_id", t."product_id", t."name" FROM "shop"."main"."stg_orders" AS t SEMI JOIN (SELECT * FROM (SELECT "customer_id" FROM "temp"."main"."__incremental_keys" UNION SELECT "customer_id" FROM "temp"."main"."__incremental_new") AS n WHERE NOT (n."customer_id" IS NULL)) AS n ON n."customer_id" = t."customer_id" UNION ALL SELECT t."customer_id", t."product_id", t."name" FROM "shop"."main"."stg_orders" AS t SEMI JOIN (SELECT * FROM (SELECT "customer_id" FROM "temp"."main"."__incremental_keys" UNION SELECT "customer_id" FROM "temp"."main"."__incremental_new") AS n WHERE n."customer_id" IS NULL) AS n ON n."customer_id" IS NOT DISTINCT FROM t."customer_id" WHERE t."customer_id" IS NULL;

-- step 4 (count inserted)
SELECT count(*) FROM (SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_new" EXCEPT ALL SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_old");

-- step 5 (count deleted)
SELECT count(*) FROM (SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_old" EXCEPT ALL SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_new");

-- step 6 (run)
DELETE FROM "shop"."main"."stg_orders" AS t USING (SELECT DISTINCT "customer_id" FROM "temp"."main"."__incremental_old") AS n WHERE n."customer_id" = t."customer_id";

-- step 7 (run)
DELETE FROM "shop"."main"."stg_orders" AS t USING (SELECT * FROM (SELECT DISTINCT "customer_id" FROM "temp"."main"."__incremental_old") AS n WHERE n."customer_id" IS NULL) AS n WHERE (t."customer_id" IS NULL) AND n."customer_id" IS NOT DISTINCT FROM t."customer_id";

-- step 8 (run)
INSERT INTO "shop"."main"."stg_orders" ("customer_id", "product_id", "name") SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_new";

-- step 9 (run)
DROP TABLE "temp"."main"."__incremental_old";

-- step 10 (run)
DROP TABLE "temp"."main"."__incremental_new";

-- step 11 (run)
DROP TABLE "temp"."main"."__incremental_keys";

-- step 12 (source watermark)
SELECT '44';
