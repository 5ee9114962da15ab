-- mode: incremental
-- strategy: merge
-- reason: auto: sources and unique_key given; reads the changed rows of stg_orders (the rows its refreshes recorded); folds them into the stored counts

-- probe (false: no-op)
SELECT EXISTS (SELECT * EXCLUDE ("__incremental_diff") FROM "shop"."_incremental"."changes of ""main"".""stg_orders"" for ""main"".""daily""");

-- share of a source's rows changed (over incremental_full_fraction: the full rebuild instead)
SELECT (SELECT CASE WHEN n < 100000 THEN 0 ELSE CAST(w AS DOUBLE) / n END FROM (SELECT count(*) AS w FROM (SELECT * EXCLUDE ("__incremental_diff") FROM "shop"."_incremental"."changes of ""main"".""stg_orders"" for ""main"".""daily""")), (SELECT count(*) AS n FROM "stg_orders"));

-- step 1 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_delta" AS SELECT day AS "day", sum("__incremental_diff") AS "n", sum(CASE WHEN (amount) IS NOT NULL THEN "__incremental_diff" ELSE 0 END) AS "priced" FROM (SELECT * FROM "shop"."_incremental"."changes of ""main"".""stg_orders"" for ""main"".""daily""") AS stg_orders WHERE amount > 0 GROUP BY day;

-- step 2 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_folded" AS SELECT d."day", CAST(coalesce(t."n", 0) + d."n" AS BIGINT) AS "n", CAST(coalesce(t."priced", 0) + d."priced" AS BIGINT) AS "priced" FROM "temp"."main"."__incremental_delta" AS d LEFT JOIN "shop"."main"."daily" AS t ON d."day" IS NOT DISTINCT FROM t."day" WHERE d."n" <> 0 OR d."priced" <> 0;

-- step 3 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_keys" AS SELECT "day" FROM "temp"."main"."__incremental_folded";

-- step 4 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_new" AS SELECT "day", "n", "priced" FROM "temp"."main"."__incremental_folded" WHERE "n" > 0;

-- step 5 (delete)
DELETE FROM "shop"."main"."daily" AS t USING (SELECT * FROM "temp"."main"."__incremental_keys" AS n WHERE NOT EXISTS (SELECT 1 FROM "temp"."main"."__incremental_new" AS k WHERE k."day" IS NOT DISTINCT FROM n."day")) AS n WHERE n."day" = t."day";

-- step 6 (delete)
DELETE FROM "shop"."main"."daily" AS t USING (SELECT * FROM (SELECT * FROM "temp"."main"."__incremental_keys" AS n WHERE NOT EXISTS (SELECT 1 FROM "temp"."main"."__incremental_new" AS k WHERE k."day" IS NOT DISTINCT FROM n."day")) AS n WHERE n."day" IS NULL) AS n WHERE (t."day" IS NULL) AND n."day" IS NOT DISTINCT FROM t."day";

-- step 7 (delete replaced)
DELETE FROM "shop"."main"."daily" AS t USING (SELECT * FROM "temp"."main"."__incremental_new") AS n WHERE n."day" = t."day";

-- step 8 (delete replaced)
DELETE FROM "shop"."main"."daily" AS t USING (SELECT * FROM (SELECT * FROM "temp"."main"."__incremental_new") AS n WHERE n."day" IS NULL) AS n WHERE (t."day" IS NULL) AND n."day" IS NOT DISTINCT FROM t."day";

-- step 9 (insert)
INSERT INTO "shop"."main"."daily" ("day", "n", "priced") SELECT "day", "n", "priced" FROM "temp"."main"."__incremental_new";

-- step 10 (run)
DROP TABLE "temp"."main"."__incremental_new";

-- step 11 (run)
DROP TABLE "temp"."main"."__incremental_keys";

-- step 12 (run)
DROP TABLE "temp"."main"."__incremental_delta";

-- step 13 (run)
DROP TABLE "temp"."main"."__incremental_folded";

-- step 14 (run)
DELETE FROM "shop"."_incremental"."changes of ""main"".""stg_orders"" for ""main"".""daily""";
