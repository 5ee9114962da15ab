-- mode: incremental
-- strategy: merge
-- reason: auto: sources and unique_key given; reads the changed rows of orders (its DuckLake changes after snapshot 40), shop.main.products (unchanged in the DuckLake since the last refresh)

-- share of a source's rows changed (over incremental_full_fraction: the full rebuild instead)
SELECT (SELECT CAST(count(*) AS DOUBLE) / 2000000 FROM (SELECT * EXCLUDE (snapshot_id, rowid, change_type) FROM (SELECT * FROM ducklake_table_changes('lake', 'main', 'orders', 41, 44))));

-- step 1 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_keys" AS SELECT DISTINCT o.customer_id AS customer_id, o.product_id AS product_id, p.name AS name FROM (SELECT * EXCLUDE (snapshot_id, rowid, change_type) FROM (SELECT * FROM ducklake_table_changes('lake', 'main', 'orders', 41, 44))) AS o JOIN (SELECT * FROM "shop"."main"."products" UNION ALL SELECT * FROM (SELECT * FROM "shop"."main"."products" LIMIT 0)) AS p USING(product_id)
UNION
SELECT DISTINCT o.customer_id AS customer_id, o.product_id AS product_id, p.name AS name FROM (SELECT * FROM "orders" UNION ALL SELECT * FROM (SELECT * EXCLUDE (snapshot_id, rowid, change_type) FROM (SELECT * FROM ducklake_table_changes('lake', 'main', 'orders', 41, 44)))) AS o JOIN (SELECT * FROM "shop"."main"."products" LIMIT 0) AS p USING(product_id);

-- step 2 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_new" AS SELECT * FROM (SELECT o.customer_id, o.product_id, p.name FROM orders AS o JOIN shop.main.products AS p USING(product_id) SEMI JOIN (SELECT "customer_id" AS "__incremental_k0", "product_id" AS "__incremental_k1", "name" AS "__incremental_k2" FROM "temp"."main"."__incremental_keys" WHERE NOT ("customer_id" IS NULL OR "product_id" IS NULL OR "name" IS NULL)) AS "__incremental_k" ON "__incremental_k"."__incremental_k0" = o.customer_id AND "__incremental_k"."__incremental_k1" = o.product_id AND "__incremental_k"."__incremental_k2" = p.name) AS q UNION ALL SELECT * FROM (SELECT o.customer_id, o.product_id, p.name FROM orders AS o JOIN shop.main.products AS p USING(product_id) SEMI JOIN (SELECT "customer_id" AS "__incremental_k0", "product_id" AS "__incremental_k1", "name" AS "__incremental_k2" FROM "temp"."main"."__incremental_keys" WHERE "customer_id" IS NULL OR "product_id" IS NULL OR "name" IS NULL) AS "__incremental_k" ON "__incremental_k"."__incremental_k0" IS NOT DISTINCT FROM o.customer_id AND "__incremental_k"."__incremental_k1" IS NOT DISTINCT FROM o.product_id AND "__incremental_k"."__incremental_k2" IS NOT DISTINCT FROM p.name) AS q;

-- step 3 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_old" AS SELECT t."customer_id", t."product_id", t."name" FROM "shop"."main"."stg_orders" AS t SEMI JOIN (SELECT * FROM (SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_keys" UNION SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_new") AS n WHERE NOT (n."customer_id" IS NULL OR n."product_id" IS NULL OR n."name" IS NULL)) AS n ON n."customer_id" = t."customer_id" AND n."product_id" = t."product_id" AND n."name" = t."name" UNION ALL SELECT t."customer_id", t."product_id", t."name" FROM "shop"."main"."stg_orders" AS t SEMI JOIN (SELECT * FROM (SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_keys" UNION SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_new") AS n WHERE n."customer_id" IS NULL OR n."product_id" IS NULL OR n."name" IS NULL) AS n ON n."customer_id" IS NOT DISTINCT FROM t."customer_id" AND n."product_id" IS NOT DISTINCT FROM t."product_id" AND n."name" IS NOT DISTINCT FROM t."name" WHERE t."customer_id" IS NULL OR t."product_id" IS NULL OR t."name" IS NULL;

-- step 4 (count inserted)
SELECT count(*) FROM (SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_new" EXCEPT ALL SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_old");

-- step 5 (count deleted)
SELECT count(*) FROM (SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_old" EXCEPT ALL SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_new");

-- step 6 (run)
DELETE FROM "shop"."main"."stg_orders" AS t USING (SELECT DISTINCT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_old") AS n WHERE n."customer_id" = t."customer_id" AND n."product_id" = t."product_id" AND n."name" = t."name";

-- step 7 (run)
DELETE FROM "shop"."main"."stg_orders" AS t USING (SELECT * FROM (SELECT DISTINCT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_old") AS n WHERE n."customer_id" IS NULL OR n."product_id" IS NULL OR n."name" IS NULL) AS n WHERE (t."customer_id" IS NULL OR t."product_id" IS NULL OR t."name" IS NULL) AND n."customer_id" IS NOT DISTINCT FROM t."customer_id" AND n."product_id" IS NOT DISTINCT FROM t."product_id" AND n."name" IS NOT DISTINCT FROM t."name";

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

-- step 13 (source watermark)
SELECT '44';
