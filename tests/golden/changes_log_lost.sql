-- mode: full
-- strategy: merge
-- reason: the changes of model stg_orders since the last refresh were not recorded (its table was rebuilt with other columns or replaced), so the model is rebuilt; records the rows it changes for the 1 model(s) reading its changes

-- step 1 (run)
CREATE TABLE "shop"."main"."__incremental_rebuild of daily" AS SELECT q.* FROM (
SELECT day, sum(amount) AS amount FROM stg_orders GROUP BY day
) AS q;

-- step 2 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_counted" AS SELECT count(*) FILTER (WHERE t."__incremental_present" IS NULL) AS "inserted", count(*) FILTER (WHERE n."__incremental_present" AND t."__incremental_present" AND ROW(n."amount") IS DISTINCT FROM ROW(t."amount")) AS "updated", count(*) FILTER (WHERE n."__incremental_present" IS NULL) AS "deleted" FROM (SELECT *, TRUE AS "__incremental_present" FROM "shop"."main"."__incremental_rebuild of daily") AS n FULL JOIN (SELECT *, TRUE AS "__incremental_present" FROM "shop"."main"."daily") AS t ON n."day" IS NOT DISTINCT FROM t."day";

-- step 3 (count inserted)
SELECT "inserted" FROM "temp"."main"."__incremental_counted";

-- step 4 (count updated)
SELECT "updated" FROM "temp"."main"."__incremental_counted";

-- step 5 (count deleted)
SELECT "deleted" FROM "temp"."main"."__incremental_counted";

-- step 6 (run)
DROP TABLE "temp"."main"."__incremental_counted";

-- step 7 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_log" AS SELECT "day", "amount", CAST(NULL AS TINYINT) AS "__incremental_diff" FROM "shop"."main"."__incremental_rebuild of daily" LIMIT 0;

-- step 8 (run)
INSERT INTO "temp"."main"."__incremental_log" SELECT "day", "amount", -1 FROM (SELECT "day", "amount" FROM "shop"."main"."daily" EXCEPT ALL SELECT "day", "amount" FROM "shop"."main"."__incremental_rebuild of daily") AS r;

-- step 9 (run)
INSERT INTO "temp"."main"."__incremental_log" SELECT "day", "amount", 1 FROM (SELECT "day", "amount" FROM "shop"."main"."__incremental_rebuild of daily" EXCEPT ALL SELECT "day", "amount" FROM "shop"."main"."daily") AS r;

-- step 10 (run)
DROP TABLE "shop"."main"."daily";

-- step 11 (run)
ALTER TABLE "shop"."main"."__incremental_rebuild of daily" RENAME TO "daily";

-- step 12 (run)
COMMENT ON TABLE "shop"."main"."daily" IS 'incremental model daily: built and refreshed by the incremental extension';

-- step 13 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_net" AS SELECT "day", "amount", CAST(sign("__incremental_n") AS TINYINT) AS "__incremental_diff" FROM (SELECT "day", "amount", "__incremental_n", unnest(range(abs("__incremental_n"))) FROM (SELECT "day", "amount", CAST(sum("__incremental_diff") AS BIGINT) AS "__incremental_n" FROM "temp"."main"."__incremental_log" GROUP BY ALL) AS g WHERE "__incremental_n" <> 0) AS u;

-- step 14 (run)
INSERT INTO "shop"."_incremental"."changes of ""main"".""daily"" for ""main"".""weekly""" SELECT * FROM "temp"."main"."__incremental_net";

-- step 15 (run)
DROP TABLE "temp"."main"."__incremental_log";

-- step 16 (run)
DROP TABLE "temp"."main"."__incremental_net";

-- step 17 (run)
CREATE OR REPLACE TABLE "shop"."_incremental"."changes of ""main"".""stg_orders"" for ""main"".""daily""" AS SELECT *, CAST(NULL AS TINYINT) AS "__incremental_diff" FROM "stg_orders" LIMIT 0;

-- step 18 (run)
COMMENT ON TABLE "shop"."_incremental"."changes of ""main"".""stg_orders"" for ""main"".""daily""" IS 'kept by the incremental extension for model daily';
