-- mode: incremental
-- strategy: merge
-- reason: strategy 'merge' requested; no time_column: the whole query is re-read and compared with the table

-- step 1 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_new" AS SELECT q.* FROM (
SELECT order_id, day, amount FROM orders
) AS q;

-- step 2 (check)
SELECT 'order_id' || ' = ' || coalesce(CAST("order_id" AS VARCHAR), 'NULL') || ' (' || count(*) || ' rows)' FROM "temp"."main"."__incremental_new" GROUP BY "order_id" HAVING count(*) > 1 LIMIT 1;

-- step 3 (run)
CREATE TEMP TABLE "temp"."main"."__incremental_changes" AS SELECT n.*, t."__incremental_present" IS NOT NULL AS "__incremental_present" FROM (SELECT * FROM "temp"."main"."__incremental_new" AS n WHERE NOT (n."order_id" IS NULL)) AS n LEFT JOIN (SELECT *, TRUE AS "__incremental_present" FROM "shop"."main"."stg_orders") AS t ON n."order_id" = t."order_id" WHERE t."__incremental_present" IS NULL OR ROW(n."day", n."amount") IS DISTINCT FROM ROW(t."day", t."amount") UNION ALL SELECT n.*, t."__incremental_present" IS NOT NULL AS "__incremental_present" FROM (SELECT * FROM "temp"."main"."__incremental_new" AS n WHERE n."order_id" IS NULL) AS n LEFT JOIN (SELECT *, TRUE AS "__incremental_present" FROM "shop"."main"."stg_orders") AS t ON n."order_id" IS NOT DISTINCT FROM t."order_id" WHERE t."__incremental_present" IS NULL OR ROW(n."day", n."amount") IS DISTINCT FROM ROW(t."day", t."amount");

-- step 4 (count inserted)
SELECT count(*) FROM "temp"."main"."__incremental_changes" WHERE NOT "__incremental_present";

-- step 5 (count updated)
SELECT count(*) FROM "temp"."main"."__incremental_changes" WHERE "__incremental_present";

-- step 6 (delete)
DELETE FROM "shop"."main"."stg_orders" AS t WHERE TRUE AND NOT EXISTS (SELECT 1 FROM "temp"."main"."__incremental_new" AS n WHERE n."order_id" IS NOT DISTINCT FROM t."order_id");

-- step 7 (run)
DELETE FROM "shop"."main"."stg_orders" AS t USING (SELECT * FROM "temp"."main"."__incremental_changes" AS n WHERE n."__incremental_present") AS n WHERE n."order_id" = t."order_id";

-- step 8 (run)
DELETE FROM "shop"."main"."stg_orders" AS t USING (SELECT * FROM (SELECT * FROM "temp"."main"."__incremental_changes" AS n WHERE n."__incremental_present") AS n WHERE n."order_id" IS NULL) AS n WHERE (t."order_id" IS NULL) AND n."order_id" IS NOT DISTINCT FROM t."order_id";

-- step 9 (run)
INSERT INTO "shop"."main"."stg_orders" ("order_id", "day", "amount") SELECT "order_id", "day", "amount" FROM "temp"."main"."__incremental_changes";

-- step 10 (run)
DROP TABLE "temp"."main"."__incremental_changes";

-- step 11 (run)
DROP TABLE "temp"."main"."__incremental_new";
