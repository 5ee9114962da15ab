-- mode: incremental
-- strategy: merge
-- reason: strategy 'merge' requested; re-reads rows with day >= watermark 2024-03-10 minus lookback 3 days; records the rows it changes for the 1 model(s) reading its changes

-- share of the table is in the window (over incremental_full_fraction: the full rebuild instead)
SELECT CASE WHEN n < 100000 THEN 0 ELSE CAST(w AS DOUBLE) / n END FROM (SELECT count(*) AS w FROM "shop"."main"."stg_orders" AS t WHERE t."day" >= CAST(CAST('2024-03-10' AS DATE) - CAST('3 days' AS INTERVAL) AS DATE)), (SELECT count(*) AS n FROM "shop"."main"."stg_orders");

-- step 1 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_new" AS SELECT q.* FROM (
SELECT order_id, day, amount FROM orders
) AS q WHERE q."day" >= CAST(CAST('2024-03-10' AS DATE) - CAST('3 days' AS INTERVAL) AS DATE);

-- step 2 (check)
SELECT CAST(count(*) AS VARCHAR) FROM (
SELECT order_id, day, amount FROM orders
) AS q WHERE q."day" IS NULL HAVING count(*) > 0;

-- step 3 (check)
SELECT 'order_id' || ' = ' || coalesce(CAST("order_id" AS VARCHAR), 'NULL') || ' (' || count(*) || ' rows)' FROM "temp"."main"."__incremental_new" GROUP BY "order_id" HAVING count(*) > 1 LIMIT 1;

-- step 4 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_log" AS SELECT "order_id", "day", "amount", CAST(NULL AS TINYINT) AS "__incremental_diff" FROM "temp"."main"."__incremental_new" LIMIT 0;

-- step 5 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_changes" AS SELECT n.*, t."__incremental_present" IS NOT NULL AS "__incremental_present" FROM (SELECT * FROM "temp"."main"."__incremental_new" AS n WHERE NOT (n."order_id" IS NULL)) AS n LEFT JOIN (SELECT *, TRUE AS "__incremental_present" FROM "shop"."main"."stg_orders") AS t ON n."order_id" = t."order_id" WHERE t."__incremental_present" IS NULL OR ROW(n."day", n."amount") IS DISTINCT FROM ROW(t."day", t."amount") UNION ALL SELECT n.*, t."__incremental_present" IS NOT NULL AS "__incremental_present" FROM (SELECT * FROM "temp"."main"."__incremental_new" AS n WHERE n."order_id" IS NULL) AS n LEFT JOIN (SELECT *, TRUE AS "__incremental_present" FROM "shop"."main"."stg_orders") AS t ON n."order_id" IS NOT DISTINCT FROM t."order_id" WHERE t."__incremental_present" IS NULL OR ROW(n."day", n."amount") IS DISTINCT FROM ROW(t."day", t."amount");

-- step 6 (count inserted)
SELECT count(*) FROM "temp"."main"."__incremental_changes" WHERE NOT "__incremental_present";

-- step 7 (count updated)
SELECT count(*) FROM "temp"."main"."__incremental_changes" WHERE "__incremental_present";

-- step 8 (run)
INSERT INTO "temp"."main"."__incremental_log" SELECT "order_id", "day", "amount", -1 FROM (SELECT t.* FROM "shop"."main"."stg_orders" AS t SEMI JOIN (SELECT * FROM (SELECT * FROM "temp"."main"."__incremental_changes" AS n WHERE n."__incremental_present") AS n WHERE NOT (n."order_id" IS NULL)) AS n ON n."order_id" = t."order_id" UNION ALL SELECT t.* FROM "shop"."main"."stg_orders" AS t SEMI JOIN (SELECT * FROM (SELECT * FROM "temp"."main"."__incremental_changes" AS n WHERE n."__incremental_present") AS n WHERE n."order_id" IS NULL) AS n ON n."order_id" IS NOT DISTINCT FROM t."order_id" WHERE t."order_id" IS NULL) AS r;

-- step 9 (run)
INSERT INTO "temp"."main"."__incremental_log" SELECT "order_id", "day", "amount", 1 FROM (SELECT * FROM "temp"."main"."__incremental_changes") AS r;

-- step 10 (run)
INSERT INTO "temp"."main"."__incremental_log" SELECT "order_id", "day", "amount", -1 FROM (SELECT * FROM "shop"."main"."stg_orders" AS t WHERE t."day" >= CAST(CAST('2024-03-10' AS DATE) - CAST('3 days' AS INTERVAL) AS DATE) AND NOT EXISTS (SELECT 1 FROM "temp"."main"."__incremental_new" AS n WHERE n."order_id" IS NOT DISTINCT FROM t."order_id")) AS r;

-- step 11 (delete)
DELETE FROM "shop"."main"."stg_orders" AS t WHERE t."day" >= CAST(CAST('2024-03-10' AS DATE) - CAST('3 days' AS INTERVAL) AS DATE) AND NOT EXISTS (SELECT 1 FROM "temp"."main"."__incremental_new" AS n WHERE n."order_id" IS NOT DISTINCT FROM t."order_id");

-- step 12 (run)
DELETE FROM "shop"."main"."stg_orders" AS t USING (SELECT * FROM "temp"."main"."__incremental_changes" AS n WHERE n."__incremental_present") AS n WHERE n."order_id" = t."order_id";

-- step 13 (run)
DELETE FROM "shop"."main"."stg_orders" AS t USING (SELECT * FROM (SELECT * FROM "temp"."main"."__incremental_changes" AS n WHERE n."__incremental_present") AS n WHERE n."order_id" IS NULL) AS n WHERE (t."order_id" IS NULL) AND n."order_id" IS NOT DISTINCT FROM t."order_id";

-- step 14 (run)
INSERT INTO "shop"."main"."stg_orders" ("order_id", "day", "amount") SELECT "order_id", "day", "amount" FROM "temp"."main"."__incremental_changes";

-- step 15 (run)
DROP TABLE "temp"."main"."__incremental_changes";

-- step 16 (watermark)
SELECT CAST(greatest(CAST('2024-03-10' AS DATE), CAST(max("day") AS DATE)) AS VARCHAR) FROM "temp"."main"."__incremental_new";

-- step 17 (run)
DROP TABLE "temp"."main"."__incremental_new";

-- step 18 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_net" AS SELECT "order_id", "day", "amount", CAST(sign("__incremental_n") AS TINYINT) AS "__incremental_diff" FROM (SELECT "order_id", "day", "amount", "__incremental_n", unnest(range(abs("__incremental_n"))) FROM (SELECT "order_id", "day", "amount", CAST(sum("__incremental_diff") AS BIGINT) AS "__incremental_n" FROM "temp"."main"."__incremental_log" GROUP BY ALL) AS g WHERE "__incremental_n" <> 0) AS u;

-- step 19 (run)
INSERT INTO "shop"."_incremental"."changes of ""main"".""stg_orders"" for ""main"".""daily""" SELECT * FROM "temp"."main"."__incremental_net";

-- step 20 (run)
DROP TABLE "temp"."main"."__incremental_log";

-- step 21 (run)
DROP TABLE "temp"."main"."__incremental_net";
