-- mode: incremental
-- strategy: merge
-- reason: auto: sources and unique_key given; reads the changed rows of stg_orders (the rows its refreshes recorded); folds them into the stored counts and sums, recomputing only groups whose sum comes to 0

-- probe (false: no-op)
SELECT EXISTS (SELECT * EXCLUDE ("__incremental_diff") FROM "shop"."_incremental"."changes of ""main"".""stg_orders"" for ""main"".""daily""");

-- share of a source's rows changed (over incremental_full_fraction: the full rebuild instead)
SELECT (SELECT CASE WHEN n < 100000 THEN 0 ELSE CAST(w AS DOUBLE) / n END FROM (SELECT count(*) AS w FROM (SELECT * EXCLUDE ("__incremental_diff") FROM "shop"."_incremental"."changes of ""main"".""stg_orders"" for ""main"".""daily""")), (SELECT count(*) AS n FROM "stg_orders"));

-- step 1 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_delta" AS SELECT day AS "day", sum("__incremental_diff") AS "n", sum((amount) * "__incremental_diff") AS "amount" FROM (SELECT * FROM "shop"."_incremental"."changes of ""main"".""stg_orders"" for ""main"".""daily""") AS stg_orders WHERE amount > 0 GROUP BY day;

-- step 2 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_folded" AS SELECT *, "n" > 0 AND (coalesce("amount" = 0, FALSE)) AS "__incremental_zero" FROM (SELECT d."day", CAST(coalesce(t."n", 0) + d."n" AS BIGINT) AS "n", CASE WHEN t."amount" IS NULL AND d."amount" IS NULL THEN NULL ELSE CAST(coalesce(t."amount", 0) + coalesce(d."amount", 0) AS DECIMAL(38,2)) END AS "amount" FROM "temp"."main"."__incremental_delta" AS d LEFT JOIN "shop"."main"."daily" AS t ON d."day" IS NOT DISTINCT FROM t."day" WHERE d."n" <> 0 OR d."amount" <> 0) AS f;

-- step 3 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_zeroed" AS SELECT "day" FROM "temp"."main"."__incremental_folded" WHERE "__incremental_zero";

-- step 4 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_keys" AS SELECT "day" FROM "temp"."main"."__incremental_folded";

-- step 5 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_new" AS SELECT "day", "n", "amount" FROM "temp"."main"."__incremental_folded" WHERE "n" > 0 AND NOT "__incremental_zero" UNION ALL SELECT * FROM (SELECT * FROM (SELECT day, count(*) AS n, sum(amount) AS amount FROM stg_orders SEMI JOIN (SELECT "day" AS "__incremental_k0" FROM "temp"."main"."__incremental_zeroed" WHERE NOT ("day" IS NULL)) AS "__incremental_k" ON "__incremental_k"."__incremental_k0" = day WHERE amount > 0 GROUP BY day) AS q UNION ALL SELECT * FROM (SELECT day, count(*) AS n, sum(amount) AS amount FROM stg_orders SEMI JOIN (SELECT "day" AS "__incremental_k0" FROM "temp"."main"."__incremental_zeroed" WHERE "day" IS NULL) AS "__incremental_k" ON "__incremental_k"."__incremental_k0" IS NOT DISTINCT FROM day WHERE amount > 0 GROUP BY day) AS q) AS z;

-- step 6 (check)
SELECT 'day' || ' = ' || coalesce(CAST("day" AS VARCHAR), 'NULL') || ' (' || count(*) || ' rows)' FROM "temp"."main"."__incremental_new" GROUP BY "day" HAVING count(*) > 1 LIMIT 1;

-- step 7 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_matched" AS SELECT n."day" FROM (SELECT * FROM "temp"."main"."__incremental_new" AS n WHERE NOT (n."day" IS NULL)) AS n JOIN (SELECT "day" FROM "shop"."main"."daily") AS t ON n."day" = t."day" UNION ALL SELECT n."day" FROM (SELECT * FROM "temp"."main"."__incremental_new" AS n WHERE n."day" IS NULL) AS n JOIN (SELECT "day" FROM "shop"."main"."daily") AS t ON n."day" IS NOT DISTINCT FROM t."day";

-- step 8 (count updated)
SELECT count(*) FROM "temp"."main"."__incremental_matched";

-- step 9 (count inserted)
SELECT (SELECT count(*) FROM "temp"."main"."__incremental_new") - (SELECT count(*) FROM "temp"."main"."__incremental_matched");

-- step 10 (delete)
DELETE FROM "shop"."main"."daily" AS t USING (SELECT * FROM "temp"."main"."__incremental_keys" AS n WHERE NOT EXISTS (SELECT 1 FROM "temp"."main"."__incremental_new" AS k WHERE k."day" IS NOT DISTINCT FROM n."day")) AS n WHERE n."day" = t."day";

-- step 11 (delete)
DELETE FROM "shop"."main"."daily" AS t USING (SELECT * FROM (SELECT * FROM "temp"."main"."__incremental_keys" AS n WHERE NOT EXISTS (SELECT 1 FROM "temp"."main"."__incremental_new" AS k WHERE k."day" IS NOT DISTINCT FROM n."day")) AS n WHERE n."day" IS NULL) AS n WHERE n."day" IS NOT DISTINCT FROM t."day";

-- step 12 (run)
DELETE FROM "shop"."main"."daily" AS t USING (SELECT * FROM "temp"."main"."__incremental_matched") AS n WHERE n."day" = t."day";

-- step 13 (run)
DELETE FROM "shop"."main"."daily" AS t USING (SELECT * FROM (SELECT * FROM "temp"."main"."__incremental_matched") AS n WHERE n."day" IS NULL) AS n WHERE n."day" IS NOT DISTINCT FROM t."day";

-- step 14 (run)
INSERT INTO "shop"."main"."daily" ("day", "n", "amount") SELECT "day", "n", "amount" FROM "temp"."main"."__incremental_new";

-- step 15 (run)
DROP TABLE "temp"."main"."__incremental_matched";

-- step 16 (run)
DROP TABLE "temp"."main"."__incremental_new";

-- step 17 (run)
DROP TABLE "temp"."main"."__incremental_keys";

-- step 18 (run)
DROP TABLE "temp"."main"."__incremental_delta";

-- step 19 (run)
DROP TABLE "temp"."main"."__incremental_folded";

-- step 20 (run)
DROP TABLE "temp"."main"."__incremental_zeroed";

-- step 21 (run)
DELETE FROM "shop"."_incremental"."changes of ""main"".""stg_orders"" for ""main"".""daily""";
