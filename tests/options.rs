//! Option parsing and validation of `incremental_create`, without DuckDB.

use incremental::error::Error;
use incremental::model::{Column, Lookback, Strategy, Target};
use incremental::options::{build_definition, clean_query, CreateOptions, ParamValue};

fn cols() -> Vec<Column> {
    [("order_id", "BIGINT"), ("day", "DATE"), ("amount", "DOUBLE"), ("batch", "INTEGER")]
        .iter()
        .map(|(n, t)| Column { name: n.to_string(), type_name: t.to_string() })
        .collect()
}

fn target() -> Target {
    Target { database: "memory".into(), schema: "main".into(), table: "m".into() }
}

fn define(opts: CreateOptions) -> Result<incremental::model::ModelDef, Error> {
    build_definition(target(), "SELECT 1".into(), cols(), &opts, String::new())
}

fn text(s: &str) -> Option<ParamValue> {
    Some(ParamValue::Text(s.into()))
}

#[test]
fn auto_picks_merge_with_a_key_and_says_why() {
    let def = define(CreateOptions { unique_key: text("order_id"), ..Default::default() }).unwrap();
    assert_eq!(def.strategy, Strategy::Merge);
    assert!(def.strategy_reason.contains("unique_key given"));
}

#[test]
fn auto_picks_delete_insert_with_only_a_time_column_and_full_with_neither() {
    let def = define(CreateOptions { time_column: Some("day".into()), ..Default::default() }).unwrap();
    assert_eq!(def.strategy, Strategy::DeleteInsert);
    assert_eq!(define(CreateOptions::default()).unwrap().strategy, Strategy::Full);
}

#[test]
fn keys_come_as_a_name_a_comma_list_or_a_list_and_match_case_insensitively() {
    let list = ParamValue::List(vec![ParamValue::Text("ORDER_ID".into()), ParamValue::Text("day".into())]);
    let def = define(CreateOptions { unique_key: Some(list), ..Default::default() }).unwrap();
    assert_eq!(def.unique_key, vec!["order_id", "day"]);
    let def = define(CreateOptions { unique_key: text("order_id, day"), ..Default::default() }).unwrap();
    assert_eq!(def.unique_key, vec!["order_id", "day"]);
}

#[test]
fn errors_name_the_model_and_say_what_to_do() {
    let err = |o: CreateOptions| define(o).unwrap_err().to_string();
    assert_eq!(
        err(CreateOptions { strategy: Some("merge".into()), ..Default::default() }),
        "incremental: model m: strategy 'merge' needs unique_key; pass unique_key := 'column', or use strategy := 'delete+insert' with a time_column"
    );
    assert!(err(CreateOptions { unique_key: text("nope"), ..Default::default() }).contains(
        "unique_key column \"nope\" is not an output column of the query (columns: order_id, day, amount, batch)"
    ));
    assert!(err(CreateOptions { time_column: Some("amount".into()), ..Default::default() })
        .contains("time_column \"amount\" has type DOUBLE; use a DATE, TIMESTAMP, TIMESTAMPTZ or integer column"));
    assert!(err(CreateOptions { strategy: Some("upsert".into()), ..Default::default() })
        .contains("unknown strategy 'upsert'"));
    assert!(err(CreateOptions { strategy: Some("delete+insert".into()), ..Default::default() })
        .contains("needs a unique_key or a time_column"));
    assert!(
        err(CreateOptions { lookback: text("1 day"), ..Default::default() }).contains("lookback needs a time_column")
    );
    assert!(err(CreateOptions {
        strategy: Some("append".into()),
        time_column: Some("day".into()),
        lookback: text("1 day"),
        ..Default::default()
    })
    .contains("append' with a lookback needs a unique_key"));
}

#[test]
fn lookback_follows_the_time_column_type() {
    let def = define(CreateOptions {
        time_column: Some("batch".into()),
        lookback: Some(ParamValue::Integer(3)),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(def.lookback, Some(Lookback::Integer(3)));
    let def = define(CreateOptions {
        time_column: Some("day".into()),
        lookback: Some(ParamValue::Interval("14 days".into())),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(def.lookback, Some(Lookback::Interval("14 days".into())));
    assert!(define(CreateOptions {
        time_column: Some("batch".into()),
        lookback: Some(ParamValue::Interval("1 day".into())),
        ..Default::default()
    })
    .is_err());
}

#[test]
fn the_query_loses_surrounding_blanks_and_semicolons() {
    // Whether it is one SELECT is DuckDB's parser's to say (src/db/query.rs, test/sql/error_bad_query.test).
    assert_eq!(clean_query("  SELECT 1;  ;\n"), "SELECT 1");
}
