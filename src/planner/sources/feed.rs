//! A DuckLake table's own change feed: the snapshots committed since the one the last refresh read tell whether
//! the table changed at all, and `ducklake_table_insertions` / `ducklake_table_changes` give its changed rows (both
//! images of updates and deletes) up to the refresh's own snapshot. The mark is that snapshot id.

use super::{ChangeSource, Cx};
use crate::model::{FeedProbe, FeedSince, ModelDef, ModelState, Source};
use crate::planner::Step;
use crate::quote::{ducklake_metadata, literal};

/// The `sources` value that declares a feed source.
pub const DECLARED: &str = "table_changes";

pub struct Feed;

fn probe<'a>(cx: &'a Cx, s: &Source) -> Option<&'a FeedProbe> {
    cx.feeds.get(&s.relation)
}

/// The rows of `function` (`ducklake_table_changes` or `_insertions`) committed after snapshot `from` up to the
/// refresh's snapshot. The range starts at the next snapshot when it still exists. When it was expired (it can no
/// longer bound a range, but its changes stay readable through a range that spans it) the range starts at `from`,
/// whose own rows are filtered out above an `OFFSET 0`: DuckLake 1.5.5 pushes a `snapshot_id` filter into the
/// deletions scan, where it means another snapshot, and loses the deleted rows.
fn committed_after(function: &str, p: &FeedProbe, from: i64, next_kept: bool) -> String {
    let table = format!("{}, {}, {}", literal(&p.catalog), literal(&p.schema), literal(&p.table));
    match next_kept {
        true => format!("SELECT * FROM {function}({table}, {}, {})", from + 1, p.current),
        false => format!(
            "SELECT * FROM (SELECT * FROM {function}({table}, {from}, {}) OFFSET 0) WHERE snapshot_id > {from}",
            p.current
        ),
    }
}

impl ChangeSource for Feed {
    fn describe(&self, cx: &Cx, s: &Source) -> String {
        match probe(cx, s).map(|p| &p.since) {
            Some(FeedSince::Untouched) => format!("{} (unchanged in the DuckLake since the last refresh)", s.relation),
            Some(FeedSince::InsertsOnly { from, .. }) => {
                format!("{} (only insertions in its DuckLake snapshots after {from})", s.relation)
            }
            Some(FeedSince::Changed { from, .. }) => {
                format!("{} (its DuckLake changes after snapshot {from})", s.relation)
            }
            _ => format!("{} (its DuckLake change feed)", s.relation),
        }
    }

    fn changed(&self, cx: &Cx, s: &Source) -> String {
        let rel = s.sql_name();
        match probe(cx, s).map(|p| (p, &p.since)) {
            Some((_, FeedSince::Untouched)) => format!("SELECT * FROM {rel} LIMIT 0"),
            Some((p, FeedSince::InsertsOnly { from, next_kept, .. })) => {
                committed_after("ducklake_table_insertions", p, *from, *next_kept)
            }
            Some((p, FeedSince::Changed { from, next_kept })) => format!(
                "SELECT * EXCLUDE (snapshot_id, rowid, change_type) FROM ({})",
                committed_after("ducklake_table_changes", p, *from, *next_kept)
            ),
            _ => format!("SELECT * FROM {rel}"),
        }
    }

    /// The changed rows go in parentheses: an untouched source's `LIMIT 0` would otherwise bind to the whole union
    /// and empty the table the other sources' changed rows are joined with.
    fn widened(&self, cx: &Cx, s: &Source) -> Option<String> {
        Some(format!("SELECT * FROM {} UNION ALL SELECT * FROM ({})", s.sql_name(), self.changed(cx, s)))
    }

    fn rows(&self, cx: &Cx, s: &Source) -> Option<u64> {
        probe(cx, s).and_then(|p| p.rows)
    }

    /// Rows inserted into data files alone are counted from the files' record counts in the metadata catalog,
    /// without reading the rows.
    fn changed_count(&self, cx: &Cx, s: &Source) -> Option<String> {
        let p = probe(cx, s)?;
        let (FeedSince::InsertsOnly { from, in_files: true, .. }, Some(id)) = (&p.since, p.table_id) else {
            return None;
        };
        Some(format!(
            "SELECT coalesce(sum(record_count), 0) FROM {}.ducklake_data_file WHERE table_id = {id} AND begin_snapshot > {from} AND begin_snapshot <= {}",
            ducklake_metadata(&p.catalog),
            p.current
        ))
    }

    fn marks(&self, cx: &Cx, s: &Source, _full: bool) -> Vec<Step> {
        match probe(cx, s) {
            Some(p) => {
                vec![Step::SourceWatermark(s.relation.clone(), format!("SELECT {}", literal(&p.current.to_string())))]
            }
            None => Vec::new(),
        }
    }

    fn lost(&self, _def: &ModelDef, state: &ModelState, s: &Source) -> Option<String> {
        match state.feeds.get(&s.relation).map(|p| &p.since) {
            None => Some(format!(
                "{} is not a table of an attached DuckLake, so its change feed cannot be read; the model is rebuilt",
                s.relation
            )),
            Some(FeedSince::NotRead) => {
                Some(format!("no DuckLake snapshot of {} was recorded at the last refresh, so the model is rebuilt", s.relation))
            }
            Some(FeedSince::Expired { from }) => Some(format!(
                "snapshot {from} of the DuckLake, where the last refresh stopped reading {}, was expired, so the changes since are unknown and the model is rebuilt",
                s.relation
            )),
            Some(_) => None,
        }
    }

    fn unchanged(&self, cx: &Cx, s: &Source) -> bool {
        probe(cx, s).is_some_and(|p| p.since == FeedSince::Untouched)
    }
}
