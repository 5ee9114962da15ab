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
CREATE TEMP TABLE "temp"."main"."__incremental_old" AS SELECT t."day" FROM "shop"."main"."daily" AS t SEMI JOIN (SELECT * FROM (SELECT "day" FROM "temp"."main"."__incremental_keys" UNION SELECT "day" FROM "temp"."main"."__incremental_new") AS n WHERE NOT (n."day" IS NULL)) AS n ON n."day" = t."day" UNION ALL SELECT t."day" FROM "shop"."main"."daily" AS t SEMI JOIN (SELECT * FROM (SELECT "day" FROM "temp"."main"."__incremental_keys" UNION SELECT "day" FROM "temp"."main"."__incremental_new") AS n WHERE n."day" IS NULL) AS n ON n."day" IS NOT DISTINCT FROM t."day" WHERE t."day" IS NULL;

-- step 4 (count deleted)
SELECT count(*) FROM "temp"."main"."__incremental_old" AS n WHERE NOT EXISTS (SELECT 1 FROM "temp"."main"."__incremental_new" AS k WHERE k."day" IS NOT DISTINCT FROM n."day");

-- step 5 (count replaced)
SELECT count(*) FROM "temp"."main"."__incremental_old" AS n WHERE EXISTS (SELECT 1 FROM "temp"."main"."__incremental_new" AS k WHERE k."day" IS NOT DISTINCT FROM n."day");

-- step 6 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_log" AS SELECT "day", "amount", CAST(NULL AS TINYINT) AS "__incremental_diff" FROM "temp"."main"."__incremental_new" LIMIT 0;

-- step 7 (run)
INSERT INTO "temp"."main"."__incremental_log" SELECT "day", "amount", -1 FROM (SELECT t.* FROM "shop"."main"."daily" AS t SEMI JOIN (SELECT * FROM (SELECT * FROM "temp"."main"."__incremental_keys") AS n WHERE NOT (n."day" IS NULL)) AS n ON n."day" = t."day" UNION ALL SELECT t.* FROM "shop"."main"."daily" AS t SEMI JOIN (SELECT * FROM (SELECT * FROM "temp"."main"."__incremental_keys") AS n WHERE n."day" IS NULL) AS n ON n."day" IS NOT DISTINCT FROM t."day" WHERE t."day" IS NULL) AS r;

-- step 8 (run)
INSERT INTO "temp"."main"."__incremental_log" SELECT "day", "amount", 1 FROM (SELECT * FROM "temp"."main"."__incremental_new") AS r;

-- step 9 (run)
DELETE FROM "shop"."main"."daily" AS t USING (SELECT * FROM "temp"."main"."__incremental_old") AS n WHERE n."day" = t."day";

-- step 10 (run)
DELETE FROM "shop"."main"."daily" AS t USING (SELECT * FROM (SELECT * FROM "temp"."main"."__incremental_old") AS n WHERE n."day" IS NULL) AS n WHERE (t."day" IS NULL) AND n."day" IS NOT DISTINCT FROM t."day";

-- step 11 (insert)
INSERT INTO "shop"."main"."daily" ("day", "amount") SELECT "day", "amount" FROM "temp"."main"."__incremental_new";

-- step 12 (run)
DROP TABLE "temp"."main"."__incremental_old";

-- step 13 (run)
DROP TABLE "temp"."main"."__incremental_new";

-- step 14 (run)
DROP TABLE "temp"."main"."__incremental_keys";

-- step 15 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_net" AS SELECT "day", "amount", CAST(sign("__incremental_n") AS TINYINT) AS "__incremental_diff" FROM (SELECT "day", "amount", "__incremental_n", unnest(range(abs("__incremental_n"))) FROM (SELECT "day", "amount", CAST(sum("__incremental_diff") AS BIGINT) AS "__incremental_n" FROM "temp"."main"."__incremental_log" GROUP BY ALL) AS g WHERE "__incremental_n" <> 0) AS u;

-- step 16 (run)
INSERT INTO "shop"."_incremental"."changes of ""main"".""daily"" for ""main"".""weekly""" SELECT * FROM "temp"."main"."__incremental_net";

-- step 17 (run)
DROP TABLE "temp"."main"."__incremental_log";

-- step 18 (run)
DROP TABLE "temp"."main"."__incremental_net";

-- step 19 (run)
DELETE FROM "shop"."_incremental"."changes of ""main"".""stg_orders"" for ""main"".""daily""";
