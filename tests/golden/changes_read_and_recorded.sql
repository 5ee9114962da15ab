-- mode: incremental
-- strategy: merge
-- reason: auto: sources and unique_key given; reads the changed rows of stg_orders (the rows its refreshes recorded); records the rows it changes for the 1 model(s) reading its changes

-- probe (false: no-op)
SELECT EXISTS (SELECT * EXCLUDE ("__incremental_diff") FROM "shop"."_incremental"."changes of ""main"".""stg_orders"" for ""main"".""daily""");

-- share of a source's rows changed (over incremental_full_fraction: the full rebuild instead)
SELECT (SELECT CASE WHEN n < 100000 THEN 0 ELSE CAST(w AS DOUBLE) / n END FROM (SELECT count(*) AS w FROM (SELECT * EXCLUDE ("__incremental_diff") FROM "shop"."_incremental"."changes of ""main"".""stg_orders"" for ""main"".""daily""")), (SELECT count(*) AS n FROM "stg_orders"));

-- step 1 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_keys" AS SELECT DISTINCT day AS day FROM (SELECT * EXCLUDE ("__incremental_diff") FROM "shop"."_incremental"."changes of ""main"".""stg_orders"" for ""main"".""daily""") AS stg_orders;

-- step 2 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_new" AS SELECT * FROM (SELECT day, sum(amount) AS amount FROM stg_orders SEMI JOIN (SELECT "day" AS "__incremental_k0" FROM "temp"."main"."__incremental_keys" WHERE NOT ("day" IS NULL)) AS "__incremental_k" ON "__incremental_k"."__incremental_k0" = day GROUP BY day) AS q UNION ALL SELECT * FROM (SELECT day, sum(amount) AS amount FROM stg_orders SEMI JOIN (SELECT "day" AS "__incremental_k0" FROM "temp"."main"."__incremental_keys" WHERE "day" IS NULL) AS "__incremental_k" ON "__incremental_k"."__incremental_k0" IS NOT DISTINCT FROM day GROUP BY day) AS q;

-- step 3 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_log" AS SELECT "day", "amount", CAST(NULL AS TINYINT) AS "__incremental_diff" FROM "temp"."main"."__incremental_new" LIMIT 0;

-- step 4 (run)
INSERT INTO "temp"."main"."__incremental_log" SELECT "day", "amount", -1 FROM (SELECT t.* FROM "shop"."main"."daily" AS t SEMI JOIN (SELECT * FROM (SELECT * FROM "temp"."main"."__incremental_keys") AS n WHERE NOT (n."day" IS NULL)) AS n ON n."day" = t."day" UNION ALL SELECT t.* FROM "shop"."main"."daily" AS t SEMI JOIN (SELECT * FROM (SELECT * FROM "temp"."main"."__incremental_keys") AS n WHERE n."day" IS NULL) AS n ON n."day" IS NOT DISTINCT FROM t."day" WHERE t."day" IS NULL) AS r;

-- step 5 (run)
INSERT INTO "temp"."main"."__incremental_log" SELECT "day", "amount", 1 FROM (SELECT * FROM "temp"."main"."__incremental_new") AS r;

-- step 6 (delete)
DELETE FROM "shop"."main"."daily" AS t USING (SELECT * FROM "temp"."main"."__incremental_keys" AS n WHERE NOT EXISTS (SELECT 1 FROM "temp"."main"."__incremental_new" AS k WHERE k."day" IS NOT DISTINCT FROM n."day")) AS n WHERE n."day" = t."day";

-- step 7 (delete)
DELETE FROM "shop"."main"."daily" AS t USING (SELECT * FROM (SELECT * FROM "temp"."main"."__incremental_keys" AS n WHERE NOT EXISTS (SELECT 1 FROM "temp"."main"."__incremental_new" AS k WHERE k."day" IS NOT DISTINCT FROM n."day")) AS n WHERE n."day" IS NULL) AS n WHERE (t."day" IS NULL) AND n."day" IS NOT DISTINCT FROM t."day";

-- step 8 (delete replaced)
DELETE FROM "shop"."main"."daily" AS t USING (SELECT * FROM "temp"."main"."__incremental_new") AS n WHERE n."day" = t."day";

-- step 9 (delete replaced)
DELETE FROM "shop"."main"."daily" AS t USING (SELECT * FROM (SELECT * FROM "temp"."main"."__incremental_new") AS n WHERE n."day" IS NULL) AS n WHERE (t."day" IS NULL) AND n."day" IS NOT DISTINCT FROM t."day";

-- step 10 (insert)
INSERT INTO "shop"."main"."daily" ("day", "amount") SELECT "day", "amount" FROM "temp"."main"."__incremental_new";

-- step 11 (run)
DROP TABLE "temp"."main"."__incremental_new";

-- step 12 (run)
DROP TABLE "temp"."main"."__incremental_keys";

-- step 13 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_net" AS SELECT "day", "amount", CAST(sign("__incremental_n") AS TINYINT) AS "__incremental_diff" FROM (SELECT "day", "amount", "__incremental_n", unnest(range(abs("__incremental_n"))) FROM (SELECT "day", "amount", CAST(sum("__incremental_diff") AS BIGINT) AS "__incremental_n" FROM "temp"."main"."__incremental_log" GROUP BY ALL) AS g WHERE "__incremental_n" <> 0) AS u;

-- step 14 (run)
INSERT INTO "shop"."_incremental"."changes of ""main"".""daily"" for ""main"".""weekly""" SELECT * FROM "temp"."main"."__incremental_net";

-- step 15 (run)
DROP TABLE "temp"."main"."__incremental_log";

-- step 16 (run)
DROP TABLE "temp"."main"."__incremental_net";

-- step 17 (run)
DELETE FROM "shop"."_incremental"."changes of ""main"".""stg_orders"" for ""main"".""daily""";
