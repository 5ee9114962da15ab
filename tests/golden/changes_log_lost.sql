-- mode: full
-- strategy: merge
-- reason: the changes of model stg_orders since the last refresh were not recorded (its table was rebuilt with other columns or replaced), so the model is rebuilt; records the rows it changes for the 1 model(s) reading its changes

-- step 1 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_new" AS SELECT q.* FROM (
SELECT day, sum(amount) AS amount FROM stg_orders GROUP BY day
) AS q;

-- step 2 (check)
SELECT 'day' || ' = ' || coalesce(CAST("day" AS VARCHAR), 'NULL') || ' (' || count(*) || ' rows)' FROM "temp"."main"."__incremental_new" GROUP BY "day" HAVING count(*) > 1 LIMIT 1;

-- step 3 (count inserted)
SELECT count(*) FROM "temp"."main"."__incremental_new" AS n WHERE NOT EXISTS (SELECT 1 FROM "shop"."main"."daily" AS t WHERE n."day" IS NOT DISTINCT FROM t."day");

-- step 4 (count updated)
SELECT count(*) FROM "temp"."main"."__incremental_new" AS n JOIN "shop"."main"."daily" AS t ON n."day" IS NOT DISTINCT FROM t."day" WHERE ROW(n."amount") IS DISTINCT FROM ROW(t."amount");

-- step 5 (count deleted)
SELECT count(*) FROM "shop"."main"."daily" AS t WHERE TRUE AND NOT EXISTS (SELECT 1 FROM "temp"."main"."__incremental_new" AS n WHERE n."day" IS NOT DISTINCT FROM t."day");

-- step 6 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_log" AS SELECT "day", "amount", CAST(NULL AS TINYINT) AS "__incremental_diff" FROM "temp"."main"."__incremental_new" LIMIT 0;

-- step 7 (run)
INSERT INTO "temp"."main"."__incremental_log" SELECT "day", "amount", -1 FROM (SELECT "day", "amount" FROM "shop"."main"."daily" EXCEPT ALL SELECT "day", "amount" FROM "temp"."main"."__incremental_new") AS r;

-- step 8 (run)
INSERT INTO "temp"."main"."__incremental_log" SELECT "day", "amount", 1 FROM (SELECT "day", "amount" FROM "temp"."main"."__incremental_new" EXCEPT ALL SELECT "day", "amount" FROM "shop"."main"."daily") AS r;

-- step 9 (run)
CREATE OR REPLACE TABLE "shop"."main"."daily" AS SELECT * FROM "temp"."main"."__incremental_new";

-- step 10 (run)
COMMENT ON TABLE "shop"."main"."daily" IS 'incremental model daily: built and refreshed by the incremental extension';

-- step 11 (run)
DROP TABLE "temp"."main"."__incremental_new";

-- step 12 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_net" AS SELECT "day", "amount", CAST(sign("__incremental_n") AS TINYINT) AS "__incremental_diff" FROM (SELECT "day", "amount", "__incremental_n", unnest(range(abs("__incremental_n"))) FROM (SELECT "day", "amount", CAST(sum("__incremental_diff") AS BIGINT) AS "__incremental_n" FROM "temp"."main"."__incremental_log" GROUP BY ALL) AS g WHERE "__incremental_n" <> 0) AS u;

-- step 13 (run)
INSERT INTO "shop"."_incremental"."changes of ""main"".""daily"" for ""main"".""weekly""" SELECT * FROM "temp"."main"."__incremental_net";

-- step 14 (run)
DROP TABLE "temp"."main"."__incremental_log";

-- step 15 (run)
DROP TABLE "temp"."main"."__incremental_net";

-- step 16 (run)
CREATE OR REPLACE TABLE "shop"."_incremental"."changes of ""main"".""stg_orders"" for ""main"".""daily""" AS SELECT *, CAST(NULL AS TINYINT) AS "__incremental_diff" FROM "stg_orders" LIMIT 0;
