//! Golden files for the planner: model definition and state in, mode, reason and SQL out.
//! Regenerate with `UPDATE_GOLDEN=1 cargo test --test golden` and review the diff.

use incremental::model::{
    Column, FeedProbe, FeedSince, Kind, Lookback, ModelDef, ModelState, Source, SourceShape, Strategy, TableIdentity,
    Target, TimeKind,
};
use incremental::placeholders::Vars;
use incremental::planner::sources::{Upstream, Watermark};
use incremental::planner::{self, Plan};

fn plan(def: &ModelDef, state: &ModelState, full_refresh: bool) -> Plan {
    planner::plan(def, state, full_refresh, &Vars::new()).unwrap()
}

fn col(name: &str, ty: &str) -> Column {
    Column { name: name.into(), type_name: ty.into() }
}

fn orders_def(strategy: Strategy, key: &[&str], time: Option<&str>, lookback: Option<Lookback>) -> ModelDef {
    ModelDef {
        target: Target { database: "shop".into(), schema: "main".into(), table: "stg_orders".into() },
        query: "SELECT order_id, day, amount FROM orders".into(),
        requested_strategy: strategy.as_str().into(),
        strategy,
        strategy_reason: format!("strategy '{}' requested", strategy.as_str()),
        unique_key: key.iter().map(|k| k.to_string()).collect(),
        time_kind: time.map(|_| TimeKind::Date),
        time_column: time.map(str::to_string),
        lookback,
        start: None,
        columns: vec![col("order_id", "BIGINT"), col("day", "DATE"), col("amount", "DECIMAL(10,2)")],
        search_path: String::new(),
        validated: true,
        sources: Vec::new(),
        sources_inferred: false,
        target_lag: None,
    }
}

fn built(watermark: &str) -> ModelState {
    ModelState {
        built: true,
        table_exists: true,
        columns_match: true,
        watermark: (!watermark.starts_with('{')).then(|| watermark.into()),
        source_marks: match watermark.starts_with('{') {
            true => serde_json::from_str(watermark).unwrap(),
            false => Default::default(),
        },
        rebuild_reason: None,
        kept_tables: Vec::new(),
        source_shapes: Vec::new(),
        recorded_shapes: Vec::new(),
        feeds: Default::default(),
        target_in_lake: false,
    }
}

fn render(p: &Plan) -> String {
    let mut out =
        format!("-- mode: {}\n-- strategy: {}\n-- reason: {}\n", p.mode.as_str(), p.strategy.as_str(), p.reason);
    if let Some(probe) = &p.probe {
        out.push_str(&format!("\n-- probe (false: no-op)\n{probe};\n"));
    }
    if let Some(cost) = &p.cost {
        out.push_str(&format!(
            "\n-- share {} (over incremental_full_fraction: the full rebuild instead)\n{};\n",
            cost.measures, cost.sql
        ));
    }
    for (i, step) in p.steps.iter().enumerate() {
        out.push_str(&format!("\n-- step {} ({})\n{};\n", i + 1, step.kind(), step.sql()));
    }
    out
}

/// A customer x product summary joined to a product dimension, refreshed by the keys its sources' changes reach.
fn summary_def(query: &str) -> ModelDef {
    let source = |relation: &str| Source {
        relation: relation.into(),
        kind: Kind::Watermark(Watermark { column: "updated_at".into(), type_name: Some("TIMESTAMP".into()) }),
    };
    ModelDef {
        query: query.into(),
        requested_strategy: "auto".into(),
        strategy_reason: "auto: sources and unique_key given".into(),
        unique_key: vec!["customer_id".into(), "product_id".into()],
        time_kind: None,
        time_column: None,
        lookback: None,
        columns: vec![col("customer_id", "INTEGER"), col("product_id", "INTEGER"), col("name", "VARCHAR")],
        sources: vec![source("orders"), source("shop.main.products")],
        ..orders_def(Strategy::Merge, &[], None, None)
    }
}

/// A daily total over the dedup model `stg_orders`, reading the rows its refreshes record, and recording its own
/// changes for one reader.
fn daily_def() -> ModelDef {
    let stg = Target { database: "shop".into(), schema: "main".into(), table: "stg_orders".into() };
    ModelDef {
        target: Target { table: "daily".into(), ..stg.clone() },
        query: "SELECT day, sum(amount) AS amount FROM stg_orders GROUP BY day".into(),
        requested_strategy: "auto".into(),
        strategy_reason: "auto: sources and unique_key given".into(),
        unique_key: vec!["day".into()],
        time_kind: None,
        time_column: None,
        lookback: None,
        columns: vec![col("day", "DATE"), col("amount", "DECIMAL(38,2)")],
        sources: vec![Source { relation: "stg_orders".into(), kind: Kind::Changes(Upstream { upstream: Some(stg) }) }],
        ..orders_def(Strategy::Merge, &[], None, None)
    }
}

/// The state of a built model whose catalog schema keeps the logs `names`.
fn keeping(watermark: &str, names: &[&str]) -> ModelState {
    ModelState { kept_tables: names.iter().map(|n| n.to_string()).collect(), ..built(watermark) }
}

/// A DuckDB table's identity as read in extension load `instance`.
fn oid(instance: &str, table_oid: i64) -> TableIdentity {
    TableIdentity::Attached { instance: instance.into(), database_oid: 7, table_oid }
}

fn shape(relation: &str, identity: TableIdentity, columns: &[(&str, &str)]) -> SourceShape {
    SourceShape { relation: relation.into(), identity, columns: columns.iter().map(|(n, t)| col(n, t)).collect() }
}

/// The state of a built model whose sources had `then` at the last refresh and have `now`.
fn shaped(state: ModelState, then: Vec<SourceShape>, now: Vec<SourceShape>) -> ModelState {
    ModelState { recorded_shapes: then, source_shapes: now, ..state }
}

/// The summary's sources, unchanged since the last refresh.
fn summary_shapes(state: ModelState) -> ModelState {
    let cols =
        [("customer_id", "INTEGER"), ("product_id", "INTEGER"), ("order_id", "BIGINT"), ("updated_at", "TIMESTAMP")];
    let products = [("product_id", "INTEGER"), ("name", "VARCHAR"), ("updated_at", "TIMESTAMP")];
    let both = vec![shape("orders", oid("a", 10), &cols), shape("shop.main.products", oid("a", 11), &products)];
    shaped(state, both.clone(), both)
}

/// The summary in a DuckLake over two of its tables read through their change feeds, the orders feed saying `orders`,
/// the products feed untouched since snapshot 40.
fn feed_case(orders: FeedSince) -> (ModelDef, ModelState) {
    let mut def = summary_def(SUMMARY);
    for s in &mut def.sources {
        s.kind = Kind::Feed;
    }
    let mut state = summary_shapes(built(r#"{"orders":"40","shop.main.products":"40"}"#));
    let feed = |table: &str, since| FeedProbe {
        catalog: "lake".into(),
        schema: "main".into(),
        table: table.into(),
        current: 44,
        since,
        rows: Some(2_000_000),
        table_id: Some(if table == "orders" { 7 } else { 8 }),
    };
    state.feeds.insert("orders".into(), feed("orders", orders));
    state.feeds.insert("shop.main.products".into(), feed("products", FeedSince::Untouched));
    state.target_in_lake = true;
    (def, state)
}

/// `def` over the feeds of `feed_case`.
fn feed_plan_of(mut def: ModelDef, orders: FeedSince) -> Plan {
    for s in &mut def.sources {
        s.kind = Kind::Feed;
    }
    plan(&def, &feed_case(orders).1, false)
}

fn feed_plan(orders: FeedSince) -> Plan {
    let (def, state) = feed_case(orders);
    plan(&def, &state, false)
}

/// Totals per customer over `orders` declared `'snapshot'`, with its copy kept.
fn snapshot_def() -> ModelDef {
    ModelDef {
        query: "SELECT customer_id, sum(amount) AS total FROM orders GROUP BY customer_id".into(),
        unique_key: vec!["customer_id".into()],
        columns: vec![col("customer_id", "INTEGER"), col("total", "HUGEINT")],
        sources: vec![Source { relation: "orders".into(), kind: Kind::Snapshot }],
        ..summary_def(SUMMARY)
    }
}

/// The snapshot model's state: `orders` had (customer_id, amount, note) and now has `now`, same table.
fn snapshot_state(now: &[(&str, &str)]) -> ModelState {
    let then = [("customer_id", "INTEGER"), ("amount", "INTEGER"), ("note", "VARCHAR")];
    let kept = keeping("{}", &["snapshot of orders for main.stg_orders"]);
    shaped(kept, vec![shape("orders", oid("a", 10), &then)], vec![shape("orders", oid("a", 10), now)])
}

const STG_LOG: &str = r#"changes of "main"."stg_orders" for "main"."daily""#;
const DAILY_LOG: &str = r#"changes of "main"."daily" for "main"."weekly""#;

const SUMMARY: &str = "SELECT o.customer_id, o.product_id, p.name, count(DISTINCT o.order_id) AS orders \
    FROM orders AS o LEFT JOIN shop.main.products AS p ON p.product_id = o.product_id \
    GROUP BY o.customer_id, o.product_id, p.name";

/// A key taken partly from the dimension, with filters in ON and WHERE that a changed row's new version can fail.
const FILTERED: &str = "SELECT o.customer_id, p.product_id, max(p.name) AS name \
    FROM orders AS o JOIN shop.main.products AS p ON p.product_id = o.product_id AND p.active \
    WHERE NOT o.is_deleted GROUP BY o.customer_id, p.product_id";

fn cases() -> Vec<(&'static str, Plan)> {
    let marks = r#"{"orders":"2024-03-10 12:00:00","shop.main.products":"2024-03-01 00:00:00"}"#;
    let mut dedup_by_source = summary_def(
        "SELECT * FROM orders QUALIFY row_number() OVER (PARTITION BY customer_id, product_id ORDER BY version DESC) = 1",
    );
    dedup_by_source.sources.truncate(1);
    // Keyed by every column: a customer may buy one product twice, and the model keeps both rows.
    let mut rows = summary_def(
        "SELECT o.customer_id, o.product_id, p.name FROM orders AS o JOIN shop.main.products AS p USING (product_id)",
    );
    rows.unique_key = vec!["customer_id".into(), "product_id".into(), "name".into()];
    let mut ranked = summary_def(
        "SELECT customer_id, product_id, rank() OVER (PARTITION BY customer_id ORDER BY product_id) AS name FROM orders",
    );
    ranked.sources.truncate(1);
    ranked.unique_key = vec!["customer_id".into()];
    let mut one_source_empty = built(r#"{"orders":"2024-03-10 12:00:00"}"#);
    one_source_empty.columns_match = true;
    let days = || Some(Lookback::Interval("3 days".into()));
    let merge = orders_def(Strategy::Merge, &["order_id"], Some("day"), days());
    let mut with_start = orders_def(Strategy::DeleteInsert, &[], Some("day"), days());
    with_start.start = Some("2024-01-01".into());
    let mut integer = orders_def(Strategy::DeleteInsert, &["order_id"], Some("batch"), Some(Lookback::Integer(2)));
    integer.columns.push(col("batch", "INTEGER"));
    integer.time_kind = Some(TimeKind::Integer);
    let mut quoted = orders_def(Strategy::Merge, &["order \"id\""], None, None);
    quoted.target = Target { database: "my db".into(), schema: "select".into(), table: "Ünïcode \"t\"".into() };
    quoted.columns = vec![col("order \"id\"", "BIGINT"), col("from", "VARCHAR")];
    let mut placeheld = orders_def(Strategy::DeleteInsert, &["order_id"], Some("day"), days());
    placeheld.query =
        "SELECT order_id, day, amount FROM orders WHERE day >= @watermark AND day < @end AND region = @region".into();
    let region: Vars = [("region".to_string(), "eu".to_string())].into_iter().collect();
    let mut dedup = orders_def(Strategy::Merge, &["order_id"], Some("day"), days());
    dedup.query = "SELECT * FROM orders QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY day DESC) = 1".into();
    let mut folding = daily_def();
    folding.query =
        "SELECT day, count(*) AS n, count(amount) AS priced FROM stg_orders WHERE amount > 0 GROUP BY day".into();
    folding.columns = vec![col("day", "DATE"), col("n", "BIGINT"), col("priced", "BIGINT")];
    let mut running = daily_def();
    running.query = "SELECT region, day, count(*) AS orders, \
        sum(count(*)) OVER (PARTITION BY region ORDER BY day) AS orders_to_date, \
        max(max(amount)) OVER (PARTITION BY region ORDER BY day) AS largest_to_date \
        FROM stg_orders GROUP BY region, day"
        .into();
    running.unique_key = vec!["region".into(), "day".into()];
    running.columns = vec![
        col("region", "VARCHAR"),
        col("day", "DATE"),
        col("orders", "BIGINT"),
        col("orders_to_date", "HUGEINT"),
        col("largest_to_date", "DECIMAL(10,2)"),
    ];
    let appended =
        snapshot_state(&[("customer_id", "INTEGER"), ("amount", "INTEGER"), ("note", "VARCHAR"), ("extra", "DATE")]);
    let unread_dropped = [("customer_id", "INTEGER"), ("amount", "INTEGER")];
    let moved = [("amount", "INTEGER"), ("note", "VARCHAR"), ("customer_id", "INTEGER")];
    let retyped = [("customer_id", "INTEGER"), ("amount", "BIGINT"), ("note", "VARCHAR")];
    let mut recreated = summary_shapes(built(marks));
    recreated.source_shapes[0].identity = oid("a", 12);
    // The empty key: the top rows recomputed whole, written where they differ.
    let mut top_k = summary_def("SELECT customer_id, product_id, name FROM orders ORDER BY product_id DESC LIMIT 3");
    top_k.sources.truncate(1);
    top_k.unique_key = Vec::new();
    // One branch per grouping set; the subtotal's constant key is matched after its aggregate.
    let mut rollup = summary_def(
        "SELECT customer_id, product_id, count(*) AS name FROM orders GROUP BY ROLLUP (customer_id, product_id)",
    );
    rollup.sources.truncate(1);
    let mut redefined = built("2024-03-01");
    redefined.rebuild_reason = Some("the definition changed (replace := true), so the table is rebuilt".into());
    redefined.columns_match = false;
    vec![
        ("first_build", plan(&merge, &ModelState::default(), false)),
        ("merge_window", plan(&merge, &built("2024-03-10"), false)),
        ("merge_whole_query", plan(&orders_def(Strategy::Merge, &["order_id"], None, None), &built("x"), false)),
        (
            "append_beyond_watermark",
            plan(&orders_def(Strategy::Append, &[], Some("day"), None), &built("2024-03-10"), false),
        ),
        (
            "append_keyed_lookback",
            plan(&orders_def(Strategy::Append, &["order_id"], Some("day"), days()), &built("2024-03-10"), false),
        ),
        ("delete_insert_window_start", plan(&with_start, &built("2024-03-10"), false)),
        ("delete_insert_keyed_integer", plan(&integer, &built("41"), false)),
        ("full_strategy_rebuild", plan(&orders_def(Strategy::Full, &[], None, None), &built("x"), false)),
        ("full_refresh_requested", plan(&merge, &built("2024-03-10"), true)),
        ("rebuild_after_redefinition", plan(&merge, &redefined, false)),
        ("quoted_identifiers", plan(&quoted, &built("x"), false)),
        ("dedup_filter_below_qualify", plan(&dedup, &built("2024-03-10"), false)),
        ("placeholders_first_build", planner::plan(&placeheld, &ModelState::default(), false, &region).unwrap()),
        ("placeholders_window", planner::plan(&placeheld, &built("2024-03-10"), false, &region).unwrap()),
        ("sources_first_build", plan(&summary_def(SUMMARY), &ModelState::default(), false)),
        ("sources_join_summary", plan(&summary_def(SUMMARY), &summary_shapes(built(marks)), false)),
        ("sources_dedup_partitions", plan(&dedup_by_source, &summary_shapes(built(marks)), false)),
        ("sources_top_k_whole", plan(&top_k, &summary_shapes(built(marks)), false)),
        ("sources_rollup_by_grouping_set", plan(&rollup, &summary_shapes(built(marks)), false)),
        ("feed_rows_kept_as_multiset", feed_plan_of(rows, FeedSince::Changed { from: 40, next_kept: true })),
        ("feed_window_partitions", feed_plan_of(ranked, FeedSince::InsertsOnly { from: 40, next_kept: true, in_files: false })),
        ("sources_source_was_empty", plan(&summary_def(SUMMARY), &summary_shapes(one_source_empty.clone()), false)),
        ("sources_filters_left_out_of_discovery", plan(&summary_def(FILTERED), &summary_shapes(built(marks)), false)),
        ("changes_read_and_recorded", plan(&daily_def(), &keeping("{}", &[STG_LOG, DAILY_LOG, "models"]), false)),
        ("changes_log_lost", plan(&daily_def(), &keeping("{}", &[DAILY_LOG]), false)),
        ("changes_fold_counts", plan(&folding, &keeping("{}", &[STG_LOG]), false)),
        ("changes_running_totals", plan(&running, &keeping("{}", &[STG_LOG, DAILY_LOG]), false)),
        ("changes_merge_window", plan(&merge, &keeping("2024-03-10", &[STG_LOG]), false)),
        ("changes_full_diff", plan(&merge, &keeping("2024-03-10", &[STG_LOG]), true)),
        (
            "changes_delete_insert_window",
            plan(
                &orders_def(Strategy::DeleteInsert, &["order_id"], Some("day"), days()),
                &keeping("2024-03-10", &[STG_LOG]),
                false,
            ),
        ),
        (
            "changes_append",
            plan(
                &orders_def(Strategy::Append, &["order_id"], Some("day"), days()),
                &keeping("2024-03-10", &[STG_LOG]),
                false,
            ),
        ),
        ("shapes_snapshot_column_appended", plan(&snapshot_def(), &appended, false)),
        ("shapes_snapshot_unread_column_dropped", plan(&snapshot_def(), &snapshot_state(&unread_dropped), false)),
        ("shapes_snapshot_column_moved", plan(&snapshot_def(), &snapshot_state(&moved), false)),
        ("shapes_snapshot_column_retyped", plan(&snapshot_def(), &snapshot_state(&retyped), false)),
        ("shapes_watermark_source_recreated", plan(&summary_def(SUMMARY), &recreated, false)),
        ("shapes_not_recorded", plan(&summary_def(SUMMARY), &built(marks), false)),
        ("feed_untouched_noop", feed_plan(FeedSince::Untouched)),
        ("feed_insertions_only", feed_plan(FeedSince::InsertsOnly { from: 40, next_kept: true, in_files: false })),
        (
            "feed_insertions_into_files",
            feed_plan(FeedSince::InsertsOnly { from: 40, next_kept: true, in_files: true }),
        ),
        ("feed_changes_both_images", feed_plan(FeedSince::Changed { from: 40, next_kept: true })),
        ("feed_changes_after_expired_snapshot", feed_plan(FeedSince::Changed { from: 40, next_kept: false })),
        ("feed_snapshot_expired", feed_plan(FeedSince::Expired { from: 40 })),
        ("feed_first_build", {
            let (def, state) = feed_case(FeedSince::NotRead);
            plan(&def, &ModelState { built: false, table_exists: false, ..state }, false)
        }),
        (
            "sources_query_not_by_key",
            plan(
                &summary_def("SELECT customer_id, product_id, name FROM orders INTERSECT SELECT customer_id, product_id, name FROM products"),
                &summary_shapes(built(marks)),
                false,
            ),
        ),
    ]
}

#[test]
fn planner_output_matches_golden_files() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut mismatches = Vec::new();
    for (name, p) in cases() {
        let path = dir.join(format!("{name}.sql"));
        let actual = render(&p);
        if update {
            std::fs::write(&path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        if expected != actual {
            mismatches.push(format!("{name}:\n{actual}"));
        }
    }
    assert!(mismatches.is_empty(), "golden mismatch (UPDATE_GOLDEN=1 to regenerate):\n{}", mismatches.join("\n"));
}
