-- mode: incremental
-- strategy: merge
-- reason: auto: sources and unique_key given; reads the changed rows of orders (against its copy from the last refresh)

-- probe (false: no-op)
SELECT EXISTS (SELECT * FROM (SELECT "customer_id", "amount" FROM "orders" EXCEPT ALL SELECT "customer_id", "amount" FROM "shop"."_incremental"."snapshot of orders for main.stg_orders") UNION ALL SELECT * FROM (SELECT "customer_id", "amount" FROM "shop"."_incremental"."snapshot of orders for main.stg_orders" EXCEPT ALL SELECT "customer_id", "amount" FROM "orders"));

-- share of a source's rows changed (over incremental_full_fraction: the full rebuild instead)
SELECT (SELECT CASE WHEN n < 100000 THEN 0 ELSE CAST(w AS DOUBLE) / n END FROM (SELECT count(*) AS w FROM (SELECT * FROM (SELECT "customer_id", "amount" FROM "orders" EXCEPT ALL SELECT "customer_id", "amount" FROM "shop"."_incremental"."snapshot of orders for main.stg_orders") UNION ALL SELECT * FROM (SELECT "customer_id", "amount" FROM "shop"."_incremental"."snapshot of orders for main.stg_orders" EXCEPT ALL SELECT "customer_id", "amount" FROM "orders"))), (SELECT count(*) AS n FROM "orders"));

-- step 1 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_keys" AS SELECT DISTINCT customer_id AS customer_id FROM (SELECT * FROM (SELECT "customer_id", "amount" FROM "orders" EXCEPT ALL SELECT "customer_id", "amount" FROM "shop"."_incremental"."snapshot of orders for main.stg_orders") UNION ALL SELECT * FROM (SELECT "customer_id", "amount" FROM "shop"."_incremental"."snapshot of orders for main.stg_orders" EXCEPT ALL SELECT "customer_id", "amount" FROM "orders")) AS orders;

-- step 2 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_new" AS SELECT * FROM (SELECT customer_id, sum(amount) AS total FROM orders SEMI JOIN (SELECT "customer_id" AS "__incremental_k0" FROM "temp"."main"."__incremental_keys" WHERE NOT ("customer_id" IS NULL)) AS "__incremental_k" ON "__incremental_k"."__incremental_k0" = customer_id GROUP BY customer_id) AS q UNION ALL SELECT * FROM (SELECT customer_id, sum(amount) AS total FROM orders SEMI JOIN (SELECT "customer_id" AS "__incremental_k0" FROM "temp"."main"."__incremental_keys" WHERE "customer_id" IS NULL) AS "__incremental_k" ON "__incremental_k"."__incremental_k0" IS NOT DISTINCT FROM customer_id GROUP BY customer_id) AS q;

-- step 3 (delete)
DELETE FROM "shop"."main"."stg_orders" AS t USING (SELECT * FROM "temp"."main"."__incremental_keys" AS n WHERE NOT EXISTS (SELECT 1 FROM "temp"."main"."__incremental_new" AS k WHERE k."customer_id" IS NOT DISTINCT FROM n."customer_id")) AS n WHERE n."customer_id" = t."customer_id";

-- step 4 (delete)
DELETE FROM "shop"."main"."stg_orders" AS t USING (SELECT * FROM (SELECT * FROM "temp"."main"."__incremental_keys" AS n WHERE NOT EXISTS (SELECT 1 FROM "temp"."main"."__incremental_new" AS k WHERE k."customer_id" IS NOT DISTINCT FROM n."customer_id")) AS n WHERE n."customer_id" IS NULL) AS n WHERE (t."customer_id" IS NULL) AND n."customer_id" IS NOT DISTINCT FROM t."customer_id";

-- step 5 (delete replaced)
DELETE FROM "shop"."main"."stg_orders" AS t USING (SELECT * FROM "temp"."main"."__incremental_new") AS n WHERE n."customer_id" = t."customer_id";

-- step 6 (delete replaced)
DELETE FROM "shop"."main"."stg_orders" AS t USING (SELECT * FROM (SELECT * FROM "temp"."main"."__incremental_new") AS n WHERE n."customer_id" IS NULL) AS n WHERE (t."customer_id" IS NULL) AND n."customer_id" IS NOT DISTINCT FROM t."customer_id";

-- step 7 (insert)
INSERT INTO "shop"."main"."stg_orders" ("customer_id", "total") SELECT "customer_id", "total" FROM "temp"."main"."__incremental_new";

-- step 8 (run)
DROP TABLE "temp"."main"."__incremental_new";

-- step 9 (run)
DROP TABLE "temp"."main"."__incremental_keys";

-- step 10 (run)
CREATE OR REPLACE TABLE "shop"."_incremental"."snapshot of orders for main.stg_orders" AS SELECT "customer_id", "amount" FROM "orders";

-- step 11 (run)
COMMENT ON TABLE "shop"."_incremental"."snapshot of orders for main.stg_orders" IS 'kept by the incremental extension for model stg_orders';
