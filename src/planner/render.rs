//! Straight-line SQL for each strategy; every choice was made by the planner before these run.

use super::changes::Recorder;
use super::window::NullCheck;
use super::{Counter, Guard, Step, Window};
use crate::model::ModelDef;
use crate::quote::{column_list, ident, literal};

pub(super) const NEW: &str = "\"temp\".\"main\".\"__incremental_new\"";
const CHANGES: &str = "\"temp\".\"main\".\"__incremental_changes\"";
pub const KEYS: &str = "\"temp\".\"main\".\"__incremental_keys\"";
const OLD: &str = "\"temp\".\"main\".\"__incremental_old\"";
pub(super) const COUNTED: &str = "\"temp\".\"main\".\"__incremental_counted\"";
pub(super) const PRESENT: &str = "\"__incremental_present\"";

pub(super) fn target(def: &ModelDef) -> String {
    def.target.sql_name()
}

pub(super) fn keys_equal(def: &ModelDef, a: &str, b: &str) -> String {
    columns_equal(&def.unique_key, a, b)
}

/// `columns` of `a` and `b` equal, NULLs as values.
pub(super) fn columns_equal(columns: &[String], a: &str, b: &str) -> String {
    columns
        .iter()
        .map(|k| format!("{a}.{k} IS NOT DISTINCT FROM {b}.{k}", k = ident(k)))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// Plain equality on every key: DuckDB hashes it and pushes the build side's key range into the other side's scan,
/// which `IS NOT DISTINCT FROM` does not get (measured at 10M rows: 5 ms against 40 ms, and 850 ms as a correlated
/// `EXISTS`). Rows with a NULL key are matched separately with `keys_equal`, so a NULL key stays one key value.
fn keys_plain_equal(def: &ModelDef, a: &str, b: &str) -> String {
    def.unique_key.iter().map(|k| format!("{a}.{k} = {b}.{k}", k = ident(k))).collect::<Vec<_>>().join(" AND ")
}

fn any_key_null(def: &ModelDef, a: &str) -> String {
    def.unique_key.iter().map(|k| format!("{a}.{} IS NULL", ident(k))).collect::<Vec<_>>().join(" OR ")
}

/// `join(rows, on)` over NEW's rows without a NULL key, matched with `keys_plain_equal`, UNION ALL over those with
/// one, matched NULL-safely: one statement that keeps DuckDB's range filters for the common rows.
fn split_on_null_keys(def: &ModelDef, join: impl Fn(String, String) -> String) -> String {
    let nulls = any_key_null(def, "n");
    format!(
        "{} UNION ALL {}",
        join(format!("SELECT * FROM {NEW} AS n WHERE NOT ({nulls})"), keys_plain_equal(def, "n", "t")),
        join(format!("SELECT * FROM {NEW} AS n WHERE {nulls}"), keys_equal(def, "n", "t"))
    )
}

/// True when a row's non-key values differ: rows rewritten with equal values are not updates.
pub(super) fn values_differ(def: &ModelDef, a: &str, b: &str) -> String {
    let values = def.value_columns();
    if values.is_empty() {
        return "FALSE".to_string();
    }
    let left = column_list(&values, Some(a));
    let right = column_list(&values, Some(b));
    format!("ROW({left}) IS DISTINCT FROM ROW({right})")
}

fn stage(def: &ModelDef, filter: Option<String>) -> Step {
    let wher = filter.map(|f| format!(" WHERE {f}")).unwrap_or_default();
    Step::Run(format!("CREATE TEMP TABLE {NEW} AS SELECT q.* FROM (\n{}\n) AS q{wher}", def.query))
}

/// Checks on a window's rows in NEW: NULL times as the window decided, then one row per unique key.
fn window_checks(def: &ModelDef, window: &Window) -> Vec<Step> {
    let mut steps: Vec<Step> =
        window.source_null_check(def).map(|sql| Step::Check(Guard::NullTime, sql)).into_iter().collect();
    steps.extend(checks(def, NEW, window.nulls == NullCheck::InWindow));
    steps
}

/// Checks on freshly computed rows in `table`: no NULL time (when `nulls`), one row per unique key (unless the query
/// returns that by its shape).
pub(super) fn checks(def: &ModelDef, table: &str, nulls: bool) -> Vec<Step> {
    let mut steps = Vec::new();
    if let Some(tc) = def.time_column.as_ref().filter(|_| nulls) {
        steps.push(Step::Check(
            Guard::NullTime,
            format!("SELECT CAST(count(*) AS VARCHAR) FROM {table} WHERE {} IS NULL HAVING count(*) > 0", ident(tc)),
        ));
    }
    // A query grouped or deduplicated by exactly the key returns one row per key by its shape (see `unique_by_shape`);
    // a key of every column is the row itself, repeated as often as the query repeats it.
    let checked = !def.unique_key.is_empty() && !def.rows_repeat();
    if checked && !crate::analysis::unique_by_shape(&def.query, &def.unique_key) {
        let shown = def
            .unique_key
            .iter()
            .map(|k| format!("{} || ' = ' || coalesce(CAST({} AS VARCHAR), 'NULL')", literal(k), ident(k)))
            .collect::<Vec<_>>()
            .join(" || ', ' || ");
        steps.push(Step::Check(
            Guard::DuplicateKey,
            format!(
                "SELECT {shown} || ' (' || count(*) || ' rows)' FROM {table} GROUP BY {} HAVING count(*) > 1 LIMIT 1",
                column_list(&def.unique_key, None)
            ),
        ));
    }
    steps
}

/// The newest time in `table`, never below `previous` (an SQL expression) so the watermark only moves forward.
pub(super) fn watermark(def: &ModelDef, table: &str, previous: Option<String>) -> Option<Step> {
    let tc = ident(def.time_column.as_ref()?);
    let ty = def.time_type()?;
    let newest = format!("CAST(max({tc}) AS {ty})");
    let value = match previous {
        Some(p) => format!("greatest({p}, {newest})"),
        None => newest,
    };
    Some(Step::Watermark(format!("SELECT CAST({value} AS VARCHAR) FROM {table}")))
}

/// Counts of real changes between the rows in `new` and the table rows they replace (those in `old_filter`).
pub(super) fn diff_counts(def: &ModelDef, new: &str, old_filter: &str) -> Vec<Step> {
    let t = target(def);
    let cols = column_list(&def.column_names(), None);
    if def.unique_key.is_empty() || def.rows_repeat() {
        let new_rows = format!("SELECT {cols} FROM {new}");
        let old_rows = format!("SELECT {cols} FROM {t} AS t WHERE {old_filter}");
        return vec![
            Step::Count(Counter::Inserted, format!("SELECT count(*) FROM ({new_rows} EXCEPT ALL {old_rows})")),
            Step::Count(Counter::Deleted, format!("SELECT count(*) FROM ({old_rows} EXCEPT ALL {new_rows})")),
        ];
    }
    let eq = keys_equal(def, "n", "t");
    vec![
        Step::Count(
            Counter::Inserted,
            format!("SELECT count(*) FROM {new} AS n WHERE NOT EXISTS (SELECT 1 FROM {t} AS t WHERE {eq})"),
        ),
        Step::Count(
            Counter::Updated,
            format!("SELECT count(*) FROM {new} AS n JOIN {t} AS t ON {eq} WHERE {}", values_differ(def, "n", "t")),
        ),
        Step::Count(
            Counter::Deleted,
            format!(
                "SELECT count(*) FROM {t} AS t WHERE {old_filter} AND NOT EXISTS (SELECT 1 FROM {new} AS n WHERE {eq})"
            ),
        ),
    ]
}

pub(super) fn insert_from(def: &ModelDef, source: &str) -> String {
    let cols = column_list(&def.column_names(), None);
    format!("INSERT INTO {} ({cols}) SELECT {cols} FROM {source}", target(def))
}

fn finish(def: &ModelDef, window: &Window, rec: &Recorder, steps: &mut Vec<Step>) {
    steps.extend(watermark(def, NEW, window.watermark_sql(def)));
    steps.push(Step::Run(format!("DROP TABLE {NEW}")));
    steps.extend(rec.finish());
}

/// Inserts rows beyond the watermark; with a unique key, only keys not yet present.
pub fn append(def: &ModelDef, window: &Window, rec: &Recorder) -> Vec<Step> {
    let mut steps = vec![stage(def, window.query_filter(def, "q"))];
    steps.extend(window_checks(def, window));
    steps.extend(rec.start(NEW));
    if def.unique_key.is_empty() {
        steps.extend(rec.rows(&format!("SELECT * FROM {NEW}"), 1));
        steps.push(Step::Apply(Counter::Inserted, insert_from(def, NEW)));
        finish(def, window, rec, &mut steps);
        return steps;
    }
    // Rows of keys already present are skipped, so the watermark comes from the rows actually inserted.
    let eq = keys_equal(def, "n", "t");
    steps.push(Step::Run(format!(
        "CREATE TEMP TABLE {CHANGES} AS SELECT n.* FROM {NEW} AS n WHERE NOT EXISTS (SELECT 1 FROM {} AS t WHERE {eq})",
        target(def)
    )));
    steps.extend(rec.rows(&format!("SELECT * FROM {CHANGES}"), 1));
    steps.push(Step::Apply(Counter::Inserted, insert_from(def, CHANGES)));
    steps.extend(watermark(def, CHANGES, window.watermark_sql(def)));
    steps.push(Step::Run(format!("DROP TABLE {CHANGES}")));
    steps.push(Step::Run(format!("DROP TABLE {NEW}")));
    steps.extend(rec.finish());
    steps
}

/// Deletes the table's rows whose key is among the keys of `rows` (a query over `n`): a join on plain equality, then
/// a NULL-safe one over just the rows with a NULL key. That one also filters the table's rows to a NULL key, which a
/// DuckLake answers from its column statistics without reading the table when it has none (measured: 2 ms against
/// 10-20 ms for the join alone). `counted` says which counter the deleted rows add to, if any.
fn delete_keys_of(def: &ModelDef, rows: &str, counted: Option<Counter>) -> [Step; 2] {
    let t = target(def);
    let step = |sql: String| match counted {
        Some(counter) => Step::Apply(counter, sql),
        None => Step::Run(sql),
    };
    [
        step(format!("DELETE FROM {t} AS t USING ({rows}) AS n WHERE {}", keys_plain_equal(def, "n", "t"))),
        step(format!(
            "DELETE FROM {t} AS t USING (SELECT * FROM ({rows}) AS n WHERE {}) AS n WHERE ({}) AND {}",
            any_key_null(def, "n"),
            any_key_null(def, "t"),
            keys_equal(def, "n", "t")
        )),
    ]
}

/// `delete_keys_of` counted by `counted`; with `guarded`, each delete runs only when `rows` holds a key it can match:
/// a check on temp tables instead of a statement that joins the table (in a DuckLake one costs its metadata reads,
/// 15-20 ms on a PostgreSQL catalog, even when nothing matches).
fn delete_keys_counted(def: &ModelDef, rows: &str, counted: Counter, guarded: bool) -> Vec<Step> {
    let [plain, null_safe] = delete_keys_of(def, rows, Some(counted));
    if !guarded {
        return vec![plain, null_safe];
    }
    let nulls = any_key_null(def, "n");
    vec![
        Step::OnlyIf(format!("SELECT EXISTS (SELECT 1 FROM ({rows}) AS n WHERE NOT ({nulls}))")),
        plain,
        Step::OnlyIf(format!("SELECT EXISTS (SELECT 1 FROM ({rows}) AS n WHERE {nulls})")),
        null_safe,
    ]
}

/// Writes the rows of NEW that are new or changed, after `vanished` (which deletes the keys that left). Rows are
/// matched to the table by plain key equality, and rows with a NULL key in a second, NULL-safe pass.
fn upsert(def: &ModelDef, vanished: Vec<Step>, rec: &Recorder) -> Vec<Step> {
    let t = target(def);
    let changed = |rows: String, on: String| {
        format!(
            "SELECT n.*, t.{PRESENT} IS NOT NULL AS {PRESENT} FROM ({rows}) AS n \
             LEFT JOIN (SELECT *, TRUE AS {PRESENT} FROM {t}) AS t ON {on} WHERE t.{PRESENT} IS NULL OR {}",
            values_differ(def, "n", "t")
        )
    };
    let mut steps = vec![Step::Run(format!("CREATE TEMP TABLE {CHANGES} AS {}", split_on_null_keys(def, changed)))];
    steps.push(Step::Count(Counter::Inserted, format!("SELECT count(*) FROM {CHANGES} WHERE NOT {PRESENT}")));
    steps.push(Step::Count(Counter::Updated, format!("SELECT count(*) FROM {CHANGES} WHERE {PRESENT}")));
    let replaced = format!("SELECT * FROM {CHANGES} AS n WHERE n.{PRESENT}");
    steps.extend(rec.rows(&rows_of_keys(def, &replaced), -1));
    steps.extend(rec.rows(&format!("SELECT * FROM {CHANGES}"), 1));
    steps.extend(vanished);
    steps.extend(delete_keys_of(def, &replaced, None));
    steps.push(Step::Run(insert_from(def, CHANGES)));
    steps.push(Step::Run(format!("DROP TABLE {CHANGES}")));
    steps
}

/// Upserts the window's changed keys and deletes keys that vanished from the window.
pub fn merge(def: &ModelDef, window: &Window, rec: &Recorder) -> Vec<Step> {
    let mut steps = vec![stage(def, window.query_filter(def, "q"))];
    steps.extend(window_checks(def, window));
    steps.extend(rec.start(NEW));
    let left = format!(
        "{} AS t WHERE {} AND NOT EXISTS (SELECT 1 FROM {NEW} AS n WHERE {})",
        target(def),
        window.target_filter(def, "t"),
        keys_equal(def, "n", "t")
    );
    let mut vanished = rec.rows(&format!("SELECT * FROM {left}"), -1);
    vanished.push(Step::Apply(Counter::Deleted, format!("DELETE FROM {left}")));
    steps.extend(upsert(def, vanished, rec));
    finish(def, window, rec, &mut steps);
    steps
}

/// The table's rows whose key is among the keys of `keys` (a query with the key columns): plain `=` for keys without a
/// NULL, so DuckDB pushes their range into the table's scan (measured at 9M rows, 46K keys: 21 ms against 176 ms for
/// one NULL-safe join), and a NULL-safe part for the others.
fn rows_of_keys(def: &ModelDef, keys: &str) -> String {
    of_keys(def, keys, "t.*")
}

/// `items` (over `t`) of the table's rows whose key is among the keys of `keys`, as `rows_of_keys` finds them.
fn of_keys(def: &ModelDef, keys: &str, items: &str) -> String {
    let (t, nulls) = (target(def), any_key_null(def, "n"));
    format!(
        "SELECT {items} FROM {t} AS t SEMI JOIN (SELECT * FROM ({keys}) AS n WHERE NOT ({nulls})) AS n ON {} UNION ALL \
         SELECT {items} FROM {t} AS t SEMI JOIN (SELECT * FROM ({keys}) AS n WHERE {nulls}) AS n ON {} WHERE {}",
        keys_plain_equal(def, "n", "t"),
        keys_equal(def, "n", "t"),
        any_key_null(def, "t")
    )
}

/// Recomputes the keys in KEYS with `restricted` (the query limited to them) and writes them: the table's rows of
/// those keys are deleted and the recomputed rows inserted. Values are not compared: that reads every value column
/// of the table, and DuckDB decompresses whole vectors for the few matching rows (measured at 8.3M rows with HUGEINT
/// sums: 3.9 s, against 0.1 s for the key columns alone). `updated` counts recomputed keys that were present and
/// `deleted` present keys that left.
///
/// The deletes count them as they go: the delete of the keys that left is nearly free in a DuckDB database when none
/// did, and joining NEW with the table's keys beforehand only to count them cost as much as the delete (measured at
/// 10M events: 72 ms). In a DuckLake (`in_lake`) each statement that joins the table costs 15-20 ms even when nothing
/// matches (measured on a PostgreSQL catalog), so there each delete runs only when a check on the temp tables finds
/// keys for it: with insertions only, no key leaves and the refresh joins the table once.
pub fn by_keys(def: &ModelDef, discover: String, restricted: &str, rec: &Recorder, in_lake: bool) -> Vec<Step> {
    let mut steps = vec![Step::Run(format!("CREATE TEMP TABLE {KEYS} AS {discover}"))];
    steps.push(Step::Run(format!("CREATE TEMP TABLE {NEW} AS {restricted}")));
    steps.extend(checks(def, NEW, false));
    steps.extend(rec.start(NEW));
    steps.extend(rec.rows(&rows_of_keys(def, &format!("SELECT * FROM {KEYS}")), -1));
    steps.extend(rec.rows(&format!("SELECT * FROM {NEW}"), 1));
    let recomputed = format!("EXISTS (SELECT 1 FROM {NEW} AS k WHERE {})", keys_equal(def, "k", "n"));
    let mut temps = vec![NEW, KEYS];
    let keys = column_list(&def.unique_key, None);
    if def.rows_repeat() {
        // A key has many rows: its rows before and after compare as multisets, and none is an update.
        let all = format!("SELECT {keys} FROM {KEYS} UNION SELECT {keys} FROM {NEW}");
        let cols = column_list(&def.column_names(), None);
        let present = of_keys(def, &all, &column_list(&def.column_names(), Some("t")));
        steps.push(Step::Run(format!("CREATE TEMP TABLE {OLD} AS {present}")));
        let (old, new) = (format!("SELECT {cols} FROM {OLD}"), format!("SELECT {cols} FROM {NEW}"));
        steps.push(Step::Count(Counter::Inserted, format!("SELECT count(*) FROM ({new} EXCEPT ALL {old})")));
        steps.push(Step::Count(Counter::Deleted, format!("SELECT count(*) FROM ({old} EXCEPT ALL {new})")));
        steps.extend(delete_keys_of(def, &format!("SELECT DISTINCT {keys} FROM {OLD}"), None));
        steps.push(Step::Run(insert_from(def, NEW)));
        temps.insert(0, OLD);
    } else {
        let gone = format!("SELECT * FROM {KEYS} AS n WHERE NOT {recomputed}");
        steps.extend(delete_keys_counted(def, &gone, Counter::Deleted, in_lake));
        steps.extend(delete_keys_counted(def, &format!("SELECT * FROM {NEW}"), Counter::Replaced, in_lake));
        steps.push(Step::Apply(Counter::Inserted, insert_from(def, NEW)));
    }
    for table in temps {
        steps.push(Step::Run(format!("DROP TABLE {table}")));
    }
    steps.extend(rec.finish());
    steps
}

/// Recomputes a model of the empty key (one row, or a top-k) with `query` and writes its rows when they differ from
/// the stored ones, compared as multisets so that a HAVING that drops the row, or lets it back, counts as a delete or
/// an insert.
pub fn whole(def: &ModelDef, query: &str, rec: &Recorder) -> Vec<Step> {
    let (t, cols) = (target(def), column_list(&def.column_names(), None));
    let mut steps = vec![
        Step::Run(format!("CREATE TEMP TABLE {NEW} AS {query}")),
        Step::Run(format!("CREATE TEMP TABLE {OLD} AS SELECT {cols} FROM {t}")),
    ];
    let (old, new) = (format!("SELECT {cols} FROM {OLD}"), format!("SELECT {cols} FROM {NEW}"));
    let (gone, came) = (format!("{old} EXCEPT ALL {new}"), format!("{new} EXCEPT ALL {old}"));
    steps.push(Step::Count(Counter::Inserted, format!("SELECT count(*) FROM ({came})")));
    steps.push(Step::Count(Counter::Deleted, format!("SELECT count(*) FROM ({gone})")));
    steps.extend(rec.start(NEW));
    steps.extend(rec.rows(&gone, -1));
    steps.extend(rec.rows(&came, 1));
    // Each side in its own subquery: set operations chain left to right, and `came UNION ALL old EXCEPT ALL new`
    // would drop what came.
    let differs = format!("EXISTS (SELECT * FROM ({came}) UNION ALL SELECT * FROM ({gone}))");
    steps.push(Step::Run(format!("DELETE FROM {t} WHERE {differs}")));
    steps.push(Step::Run(format!("INSERT INTO {t} ({cols}) SELECT {cols} FROM {NEW} WHERE {differs}")));
    steps.push(Step::Run(format!("DROP TABLE {NEW}")));
    steps.push(Step::Run(format!("DROP TABLE {OLD}")));
    steps.extend(rec.finish());
    steps
}

/// Deletes the window (and the keys being re-inserted) and inserts the window's recomputation.
pub fn delete_insert(def: &ModelDef, window: &Window, rec: &Recorder) -> Vec<Step> {
    let t = target(def);
    let old = window.target_filter(def, "t");
    let mut steps = vec![stage(def, window.query_filter(def, "q"))];
    steps.extend(window_checks(def, window));
    steps.extend(diff_counts(def, NEW, &old));
    steps.extend(rec.start(NEW));
    let mut deleted = format!("SELECT * FROM {t} AS t WHERE {old}");
    if !def.unique_key.is_empty() {
        // Rows outside the window whose key is re-inserted are deleted too; `IS NOT TRUE` keeps NULL times.
        let keyed = rows_of_keys(def, &format!("SELECT * FROM {NEW}"));
        deleted = format!("{deleted} UNION ALL SELECT * FROM ({keyed}) AS t WHERE ({old}) IS NOT TRUE");
    }
    steps.extend(rec.rows(&deleted, -1));
    steps.extend(rec.rows(&format!("SELECT * FROM {NEW}"), 1));
    steps.push(Step::Run(format!("DELETE FROM {t} AS t WHERE {old}")));
    if !def.unique_key.is_empty() {
        steps.extend(delete_keys_of(def, &format!("SELECT * FROM {NEW} AS n"), None));
    }
    steps.push(Step::Run(insert_from(def, NEW)));
    finish(def, window, rec, &mut steps);
    steps
}
