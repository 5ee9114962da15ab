-- mode: incremental
-- strategy: merge
-- reason: auto: sources and unique_key given; reads the changed rows of orders (its DuckLake changes after snapshot 40), shop.main.products (unchanged in the DuckLake since the last refresh)

-- share of a source's rows changed (over incremental_full_fraction: the full rebuild instead)
SELECT (SELECT CAST(count(*) AS DOUBLE) / 2000000 FROM (SELECT * EXCLUDE (snapshot_id, rowid, change_type) FROM (SELECT * FROM ducklake_table_changes('lake', 'main', 'orders', 41, 44))));

-- step 1 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_keys" AS SELECT DISTINCT o.customer_id AS customer_id, o.product_id AS product_id FROM (SELECT * EXCLUDE (snapshot_id, rowid, change_type) FROM (SELECT * FROM ducklake_table_changes('lake', 'main', 'orders', 41, 44))) AS o
UNION
SELECT DISTINCT o.customer_id AS customer_id, o.product_id AS product_id FROM (SELECT * FROM "orders" UNION ALL SELECT * FROM (SELECT * EXCLUDE (snapshot_id, rowid, change_type) FROM (SELECT * FROM ducklake_table_changes('lake', 'main', 'orders', 41, 44)))) AS o INNER JOIN (SELECT * FROM "shop"."main"."products" LIMIT 0) AS p ON p.product_id = o.product_id;

-- step 2 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_new" AS SELECT * FROM (SELECT o.customer_id, o.product_id, p.name, count(DISTINCT o.order_id) AS orders FROM orders AS o LEFT JOIN shop.main.products AS p ON p.product_id = o.product_id SEMI JOIN (SELECT "customer_id" AS "__incremental_k0", "product_id" AS "__incremental_k1" FROM "temp"."main"."__incremental_keys" WHERE NOT ("customer_id" IS NULL OR "product_id" IS NULL)) AS "__incremental_k" ON "__incremental_k"."__incremental_k0" = o.customer_id AND "__incremental_k"."__incremental_k1" = o.product_id GROUP BY o.customer_id, o.product_id, p.name) AS q UNION ALL SELECT * FROM (SELECT o.customer_id, o.product_id, p.name, count(DISTINCT o.order_id) AS orders FROM orders AS o LEFT JOIN shop.main.products AS p ON p.product_id = o.product_id SEMI JOIN (SELECT "customer_id" AS "__incremental_k0", "product_id" AS "__incremental_k1" FROM "temp"."main"."__incremental_keys" WHERE "customer_id" IS NULL OR "product_id" IS NULL) AS "__incremental_k" ON "__incremental_k"."__incremental_k0" IS NOT DISTINCT FROM o.customer_id AND "__incremental_k"."__incremental_k1" IS NOT DISTINCT FROM o.product_id GROUP BY o.customer_id, o.product_id, p.name) AS q;

-- step 3 (check)
SELECT 'customer_id' || ' = ' || coalesce(CAST("customer_id" AS VARCHAR), 'NULL') || ', ' || 'product_id' || ' = ' || coalesce(CAST("product_id" AS VARCHAR), 'NULL') || ' (' || count(*) || ' rows)' FROM "temp"."main"."__incremental_new" GROUP BY "customer_id", "product_id" HAVING count(*) > 1 LIMIT 1;

-- step 4 (only if)
SELECT EXISTS (SELECT 1 FROM (SELECT * FROM "temp"."main"."__incremental_keys" AS n WHERE NOT EXISTS (SELECT 1 FROM "temp"."main"."__incremental_new" AS k WHERE k."customer_id" IS NOT DISTINCT FROM n."customer_id" AND k."product_id" IS NOT DISTINCT FROM n."product_id")) AS n WHERE NOT (n."customer_id" IS NULL OR n."product_id" IS NULL));

-- step 5 (delete)
DELETE FROM "shop"."main"."stg_orders" AS t USING (SELECT * FROM "temp"."main"."__incremental_keys" AS n WHERE NOT EXISTS (SELECT 1 FROM "temp"."main"."__incremental_new" AS k WHERE k."customer_id" IS NOT DISTINCT FROM n."customer_id" AND k."product_id" IS NOT DISTINCT FROM n."product_id")) AS n WHERE n."customer_id" = t."customer_id" AND n."product_id" = t."product_id";

-- step 6 (only if)
SELECT EXISTS (SELECT 1 FROM (SELECT * FROM "temp"."main"."__incremental_keys" AS n WHERE NOT EXISTS (SELECT 1 FROM "temp"."main"."__incremental_new" AS k WHERE k."customer_id" IS NOT DISTINCT FROM n."customer_id" AND k."product_id" IS NOT DISTINCT FROM n."product_id")) AS n WHERE n."customer_id" IS NULL OR n."product_id" IS NULL);

-- step 7 (delete)
DELETE FROM "shop"."main"."stg_orders" AS t USING (SELECT * FROM (SELECT * FROM "temp"."main"."__incremental_keys" AS n WHERE NOT EXISTS (SELECT 1 FROM "temp"."main"."__incremental_new" AS k WHERE k."customer_id" IS NOT DISTINCT FROM n."customer_id" AND k."product_id" IS NOT DISTINCT FROM n."product_id")) AS n WHERE n."customer_id" IS NULL OR n."product_id" IS NULL) AS n WHERE (t."customer_id" IS NULL OR t."product_id" IS NULL) AND n."customer_id" IS NOT DISTINCT FROM t."customer_id" AND n."product_id" IS NOT DISTINCT FROM t."product_id";

-- step 8 (only if)
SELECT EXISTS (SELECT 1 FROM (SELECT * FROM "temp"."main"."__incremental_new") AS n WHERE NOT (n."customer_id" IS NULL OR n."product_id" IS NULL));

-- step 9 (delete replaced)
DELETE FROM "shop"."main"."stg_orders" AS t USING (SELECT * FROM "temp"."main"."__incremental_new") AS n WHERE n."customer_id" = t."customer_id" AND n."product_id" = t."product_id";

-- step 10 (only if)
SELECT EXISTS (SELECT 1 FROM (SELECT * FROM "temp"."main"."__incremental_new") AS n WHERE n."customer_id" IS NULL OR n."product_id" IS NULL);

-- step 11 (delete replaced)
DELETE FROM "shop"."main"."stg_orders" AS t USING (SELECT * FROM (SELECT * FROM "temp"."main"."__incremental_new") AS n WHERE n."customer_id" IS NULL OR n."product_id" IS NULL) AS n WHERE (t."customer_id" IS NULL OR t."product_id" IS NULL) AND n."customer_id" IS NOT DISTINCT FROM t."customer_id" AND n."product_id" IS NOT DISTINCT FROM t."product_id";

-- step 12 (insert)
INSERT INTO "shop"."main"."stg_orders" ("customer_id", "product_id", "name") SELECT "customer_id", "product_id", "name" FROM "temp"."main"."__incremental_new";

-- step 13 (run)
DROP TABLE "temp"."main"."__incremental_new";

-- step 14 (run)
DROP TABLE "temp"."main"."__incremental_keys";

-- step 15 (source watermark)
SELECT '44';

-- step 16 (source watermark)
SELECT '44';
