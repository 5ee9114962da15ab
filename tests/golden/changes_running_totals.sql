-- mode: incremental
-- strategy: merge
-- reason: auto: sources and unique_key given; reads the changed rows of stg_orders (the rows its refreshes recorded); recomputes from the earliest day they reach on, continuing orders_to_date, largest_to_date from the row before it; records the rows it changes for the 1 model(s) reading its changes

-- probe (false: no-op)
SELECT EXISTS (SELECT * EXCLUDE ("__incremental_diff") FROM "shop"."_incremental"."changes of ""main"".""stg_orders"" for ""main"".""daily""");

-- share of a source's rows changed (over incremental_full_fraction: the full rebuild instead)
SELECT (SELECT CASE WHEN n < 100000 THEN 0 ELSE CAST(w AS DOUBLE) / n END FROM (SELECT count(*) AS w FROM (SELECT * EXCLUDE ("__incremental_diff") FROM "shop"."_incremental"."changes of ""main"".""stg_orders"" for ""main"".""daily""")), (SELECT count(*) AS n FROM "stg_orders"));

-- step 1 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_keys" AS SELECT DISTINCT region AS region, day AS day FROM (SELECT * EXCLUDE ("__incremental_diff") FROM "shop"."_incremental"."changes of ""main"".""stg_orders"" for ""main"".""daily""") AS stg_orders;

-- step 2 (run)
SET VARIABLE __incremental_from = (SELECT min("day") FROM "temp"."main"."__incremental_keys");

-- step 3 (run)
SET VARIABLE __incremental_nulls = (SELECT EXISTS (SELECT 1 FROM "temp"."main"."__incremental_keys" WHERE "day" IS NULL) OR EXISTS (SELECT 1 FROM "shop"."main"."daily" WHERE "day" IS NULL));

-- step 4 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_seed" AS SELECT "region", arg_max_null("orders_to_date", "day") AS "orders_to_date", arg_max_null("largest_to_date", "day") AS "largest_to_date" FROM "shop"."main"."daily" WHERE "day" < getvariable('__incremental_from') OR (getvariable('__incremental_from') IS NULL AND "day" IS NOT NULL) GROUP BY "region";

-- step 5 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_new" AS SELECT q."region", q."day", q."orders", CASE WHEN s."orders_to_date" IS NULL THEN q."orders_to_date" WHEN q."orders_to_date" IS NULL THEN s."orders_to_date" ELSE s."orders_to_date" + q."orders_to_date" END AS "orders_to_date", greatest(s."largest_to_date", q."largest_to_date") AS "largest_to_date" FROM (
SELECT region, day, count(*) AS orders, sum(count(*)) OVER (PARTITION BY region ORDER BY day) AS orders_to_date, max(max(amount)) OVER (PARTITION BY region ORDER BY day) AS largest_to_date FROM stg_orders WHERE (day >= getvariable('__incremental_from') OR (getvariable('__incremental_nulls') AND day IS NULL)) GROUP BY region, day
) AS q LEFT JOIN "temp"."main"."__incremental_seed" AS s ON q."region" IS NOT DISTINCT FROM s."region";

-- step 6 (count updated)
SELECT count(*) FROM "temp"."main"."__incremental_new" AS n SEMI JOIN (SELECT * FROM "shop"."main"."daily" AS t WHERE (t."day" >= getvariable('__incremental_from') OR (getvariable('__incremental_nulls') AND t."day" IS NULL))) AS t ON n."region" IS NOT DISTINCT FROM t."region" AND n."day" IS NOT DISTINCT FROM t."day";

-- step 7 (count inserted)
SELECT count(*) FROM "temp"."main"."__incremental_new" AS n ANTI JOIN (SELECT * FROM "shop"."main"."daily" AS t WHERE (t."day" >= getvariable('__incremental_from') OR (getvariable('__incremental_nulls') AND t."day" IS NULL))) AS t ON n."region" IS NOT DISTINCT FROM t."region" AND n."day" IS NOT DISTINCT FROM t."day";

-- step 8 (count deleted)
SELECT count(*) FROM (SELECT * FROM "shop"."main"."daily" AS t WHERE (t."day" >= getvariable('__incremental_from') OR (getvariable('__incremental_nulls') AND t."day" IS NULL))) AS t ANTI JOIN "temp"."main"."__incremental_new" AS n ON n."region" IS NOT DISTINCT FROM t."region" AND n."day" IS NOT DISTINCT FROM t."day";

-- step 9 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_log" AS SELECT "region", "day", "orders", "orders_to_date", "largest_to_date", CAST(NULL AS TINYINT) AS "__incremental_diff" FROM "temp"."main"."__incremental_new" LIMIT 0;

-- step 10 (run)
INSERT INTO "temp"."main"."__incremental_log" SELECT "region", "day", "orders", "orders_to_date", "largest_to_date", -1 FROM (SELECT * FROM "shop"."main"."daily" AS t WHERE (t."day" >= getvariable('__incremental_from') OR (getvariable('__incremental_nulls') AND t."day" IS NULL))) AS r;

-- step 11 (run)
INSERT INTO "temp"."main"."__incremental_log" SELECT "region", "day", "orders", "orders_to_date", "largest_to_date", 1 FROM (SELECT * FROM "temp"."main"."__incremental_new") AS r;

-- step 12 (run)
DELETE FROM "shop"."main"."daily" AS t WHERE (t."day" >= getvariable('__incremental_from') OR (getvariable('__incremental_nulls') AND t."day" IS NULL));

-- step 13 (run)
INSERT INTO "shop"."main"."daily" ("region", "day", "orders", "orders_to_date", "largest_to_date") SELECT "region", "day", "orders", "orders_to_date", "largest_to_date" FROM "temp"."main"."__incremental_new";

-- step 14 (run)
DROP TABLE "temp"."main"."__incremental_seed";

-- step 15 (run)
DROP TABLE "temp"."main"."__incremental_new";

-- step 16 (run)
DROP TABLE "temp"."main"."__incremental_keys";

-- step 17 (run)
RESET VARIABLE __incremental_from;

-- step 18 (run)
RESET VARIABLE __incremental_nulls;

-- step 19 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_net" AS SELECT "region", "day", "orders", "orders_to_date", "largest_to_date", CAST(sign("__incremental_n") AS TINYINT) AS "__incremental_diff" FROM (SELECT "region", "day", "orders", "orders_to_date", "largest_to_date", "__incremental_n", unnest(range(abs("__incremental_n"))) FROM (SELECT "region", "day", "orders", "orders_to_date", "largest_to_date", CAST(sum("__incremental_diff") AS BIGINT) AS "__incremental_n" FROM "temp"."main"."__incremental_log" GROUP BY ALL) AS g WHERE "__incremental_n" <> 0) AS u;

-- step 20 (run)
INSERT INTO "shop"."_incremental"."changes of ""main"".""daily"" for ""main"".""weekly""" SELECT * FROM "temp"."main"."__incremental_net";

-- step 21 (run)
DROP TABLE "temp"."main"."__incremental_log";

-- step 22 (run)
DROP TABLE "temp"."main"."__incremental_net";

-- step 23 (run)
DELETE FROM "shop"."_incremental"."changes of ""main"".""stg_orders"" for ""main"".""daily""";
