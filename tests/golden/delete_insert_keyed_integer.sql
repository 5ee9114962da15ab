-- mode: incremental
-- strategy: delete+insert
-- reason: strategy 'delete+insert' requested; re-reads rows with batch >= watermark 41 minus lookback 2

-- share of the table is in the window (over incremental_full_fraction: the full rebuild instead)
SELECT CASE WHEN n < 100000 THEN 0 ELSE CAST(w AS DOUBLE) / n END FROM (SELECT count(*) AS w FROM "shop"."main"."stg_orders" AS t WHERE t."batch" >= CAST(CAST('41' AS INTEGER) - 2 AS INTEGER)), (SELECT count(*) AS n FROM "shop"."main"."stg_orders");

-- step 1 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_new" AS SELECT q.* FROM (
SELECT order_id, day, amount FROM orders
) AS q WHERE q."batch" >= CAST(CAST('41' AS INTEGER) - 2 AS INTEGER);

-- step 2 (check)
SELECT CAST(count(*) AS VARCHAR) FROM (
SELECT order_id, day, amount FROM orders
) AS q WHERE q."batch" IS NULL HAVING count(*) > 0;

-- step 3 (check)
SELECT 'order_id' || ' = ' || coalesce(CAST("order_id" AS VARCHAR), 'NULL') || ' (' || count(*) || ' rows)' FROM "temp"."main"."__incremental_new" GROUP BY "order_id" HAVING count(*) > 1 LIMIT 1;

-- step 4 (count inserted)
SELECT count(*) FROM "temp"."main"."__incremental_new" AS n WHERE NOT EXISTS (SELECT 1 FROM "shop"."main"."stg_orders" AS t WHERE n."order_id" IS NOT DISTINCT FROM t."order_id");

-- step 5 (count updated)
SELECT count(*) FROM "temp"."main"."__incremental_new" AS n JOIN "shop"."main"."stg_orders" AS t ON n."order_id" IS NOT DISTINCT FROM t."order_id" WHERE ROW(n."day", n."amount", n."batch") IS DISTINCT FROM ROW(t."day", t."amount", t."batch");

-- step 6 (count deleted)
SELECT count(*) FROM "shop"."main"."stg_orders" AS t WHERE t."batch" >= CAST(CAST('41' AS INTEGER) - 2 AS INTEGER) AND NOT EXISTS (SELECT 1 FROM "temp"."main"."__incremental_new" AS n WHERE n."order_id" IS NOT DISTINCT FROM t."order_id");

-- step 7 (run)
DELETE FROM "shop"."main"."stg_orders" AS t WHERE t."batch" >= CAST(CAST('41' AS INTEGER) - 2 AS INTEGER);

-- step 8 (run)
DELETE FROM "shop"."main"."stg_orders" AS t USING (SELECT * FROM "temp"."main"."__incremental_new" AS n) AS n WHERE n."order_id" = t."order_id";

-- step 9 (run)
DELETE FROM "shop"."main"."stg_orders" AS t USING (SELECT * FROM (SELECT * FROM "temp"."main"."__incremental_new" AS n) AS n WHERE n."order_id" IS NULL) AS n WHERE (t."order_id" IS NULL) AND n."order_id" IS NOT DISTINCT FROM t."order_id";

-- step 10 (run)
INSERT INTO "shop"."main"."stg_orders" ("order_id", "day", "amount", "batch") SELECT "order_id", "day", "amount", "batch" FROM "temp"."main"."__incremental_new";

-- step 11 (watermark)
SELECT CAST(greatest(CAST('41' AS INTEGER), CAST(max("batch") AS INTEGER)) AS VARCHAR) FROM "temp"."main"."__incremental_new";

-- step 12 (run)
DROP TABLE "temp"."main"."__incremental_new";
