-- mode: incremental
-- strategy: merge
-- reason: strategy 'merge' requested; re-reads rows with day >= watermark 2024-03-10 minus lookback 3 days; the window's filter runs before the row_number() dedup, which keeps the newest row by it

-- share of the table is in the window (over incremental_full_fraction: the full rebuild instead)
SELECT CASE WHEN n < 100000 THEN 0 ELSE CAST(w AS DOUBLE) / n END FROM (SELECT count(*) AS w FROM "shop"."main"."stg_orders" AS t WHERE t."day" >= CAST(CAST('2024-03-10' AS DATE) - CAST('3 days' AS INTERVAL) AS DATE)), (SELECT count(*) AS n FROM "shop"."main"."stg_orders");

-- step 1 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_new" AS SELECT q.* FROM (
SELECT * FROM orders WHERE "day" >= CAST(CAST('2024-03-10' AS DATE) - CAST('3 days' AS INTERVAL) AS DATE) QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY day DESC) = 1
) AS q WHERE q."day" >= CAST(CAST('2024-03-10' AS DATE) - CAST('3 days' AS INTERVAL) AS DATE);

-- step 2 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_changes" AS SELECT n.*, t."__incremental_present" IS NOT NULL AS "__incremental_present" FROM (SELECT * FROM "temp"."main"."__incremental_new" AS n WHERE NOT (n."order_id" IS NULL)) AS n LEFT JOIN (SELECT *, TRUE AS "__incremental_present" FROM "shop"."main"."stg_orders") AS t ON n."order_id" = t."order_id" WHERE t."__incremental_present" IS NULL OR ROW(n."day", n."amount") IS DISTINCT FROM ROW(t."day", t."amount") UNION ALL SELECT n.*, t."__incremental_present" IS NOT NULL AS "__incremental_present" FROM (SELECT * FROM "temp"."main"."__incremental_new" AS n WHERE n."order_id" IS NULL) AS n LEFT JOIN (SELECT *, TRUE AS "__incremental_present" FROM "shop"."main"."stg_orders") AS t ON n."order_id" IS NOT DISTINCT FROM t."order_id" WHERE t."__incremental_present" IS NULL OR ROW(n."day", n."amount") IS DISTINCT FROM ROW(t."day", t."amount");

-- step 3 (count inserted)
SELECT count(*) FROM "temp"."main"."__incremental_changes" WHERE NOT "__incremental_present";

-- step 4 (count updated)
SELECT count(*) FROM "temp"."main"."__incremental_changes" WHERE "__incremental_present";

-- step 5 (delete)
DELETE FROM "shop"."main"."stg_orders" AS t WHERE t."day" >= CAST(CAST('2024-03-10' AS DATE) - CAST('3 days' AS INTERVAL) AS DATE) AND NOT EXISTS (SELECT 1 FROM "temp"."main"."__incremental_new" AS n WHERE n."order_id" IS NOT DISTINCT FROM t."order_id");

-- step 6 (run)
DELETE FROM "shop"."main"."stg_orders" AS t USING (SELECT * FROM "temp"."main"."__incremental_changes" AS n WHERE n."__incremental_present") AS n WHERE n."order_id" = t."order_id";

-- step 7 (run)
DELETE FROM "shop"."main"."stg_orders" AS t USING (SELECT * FROM (SELECT * FROM "temp"."main"."__incremental_changes" AS n WHERE n."__incremental_present") AS n WHERE n."order_id" IS NULL) AS n WHERE (t."order_id" IS NULL) AND n."order_id" IS NOT DISTINCT FROM t."order_id";

-- step 8 (run)
INSERT INTO "shop"."main"."stg_orders" ("order_id", "day", "amount") SELECT "order_id", "day", "amount" FROM "temp"."main"."__incremental_changes";

-- step 9 (run)
DROP TABLE "temp"."main"."__incremental_changes";

-- step 10 (watermark)
SELECT CAST(greatest(CAST('2024-03-10' AS DATE), CAST(max("day") AS DATE)) AS VARCHAR) FROM "temp"."main"."__incremental_new";

-- step 11 (run)
DROP TABLE "temp"."main"."__incremental_new";
