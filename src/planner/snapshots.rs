//! What a run of committed DuckLake snapshots did to the lake's tables, parsed from `ducklake_snapshot_changes`.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::FeedSince;

/// Entries of `changes_made` (a comma-separated list of `kind:table id`, what `snapshots().changes` parses) that
/// remove or rewrite a table's rows, and those that only add rows. A table created again gets a new id and uuid,
/// which the source's recorded identity catches.
const REWRITES: &[&str] = &["deleted_from_table", "inlined_delete", "altered_table", "dropped_table"];
const INSERTS: &[&str] = &["inserted_into_table", "inlined_insert"];
/// The one entry of a snapshot whose new rows are all in data files it added.
const FILE_INSERT: &str = "inserted_into_table";
/// Entries that change a table's rows but no name, column or table: everything else (a table or schema created,
/// dropped, altered or renamed, a view, and any kind this list does not know) may change what a name means.
const DATA: &[&str] =
    &["inserted_into_table", "deleted_from_table", "inlined_insert", "inlined_delete", "compacted_table"];

/// One committed snapshot: its id and its `changes_made` entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub id: i64,
    pub changes: Vec<String>,
}

impl Snapshot {
    /// `changes_made` as stored; a NULL (a snapshot with no row in `ducklake_snapshot_changes`) lists nothing.
    pub fn new(id: i64, changes_made: Option<&str>) -> Snapshot {
        let changes = changes_made.unwrap_or("").split(',').filter(|c| !c.is_empty()).map(str::to_string).collect();
        Snapshot { id, changes }
    }

    fn entry_for(&self, kinds: &[&str], table: i64) -> bool {
        self.changes.iter().any(|c| parse(c).is_some_and(|(k, id)| id == table && kinds.contains(&k)))
    }

    /// True when every entry naming `table` is an insert into files: an entry naming objects by (quoted) name may
    /// hold a piece that reads as one for the table, and counts against.
    fn only_file_inserts(&self, table: i64) -> bool {
        self.changes.iter().all(|c| match parse(c) {
            Some((kind, id)) => id != table || kind == FILE_INSERT,
            None => !c.ends_with(&format!(":{table}")),
        })
    }
}

/// `kind:id` of an entry naming a table by id; None for entries naming objects by (quoted) name.
fn parse(entry: &str) -> Option<(&str, i64)> {
    let (kind, id) = entry.split_once(':')?;
    Some((kind, id.parse().ok()?))
}

/// What the snapshots of a range touched.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Touched {
    /// Tables whose rows (or more) changed, by id, with how many snapshots changed each.
    pub tables: BTreeMap<i64, usize>,
    /// Something may have changed what a name means: a table or schema created, dropped or altered. A name in an
    /// entry may hold commas; its pieces set this too, and at worst add ids that were not touched.
    pub names: bool,
}

/// What `snapshots` (a range, in any order) touched.
pub fn touched(snapshots: &[Snapshot]) -> Touched {
    let mut out = Touched::default();
    for s in snapshots {
        let mut ids = BTreeSet::new();
        for c in &s.changes {
            match parse(c) {
                Some((kind, id)) => {
                    ids.insert(id);
                    out.names |= !DATA.contains(&kind);
                }
                None => out.names = true,
            }
        }
        for id in ids {
            *out.tables.entry(id).or_default() += 1;
        }
    }
    out
}

/// What the snapshots after `from` up to `current` did to the table `id` (None when its metadata row could not be
/// found), given the snapshots of a range that holds `from` when it is kept, `from + 1` and everything up to
/// `current`.
pub fn since(snapshots: &[Snapshot], id: Option<i64>, from: i64, current: i64) -> FeedSince {
    let kept = |n: i64| snapshots.iter().any(|s| s.id == n);
    if from >= current {
        return FeedSince::Untouched;
    }
    if !kept(from) {
        return FeedSince::Expired { from };
    }
    let next_kept = kept(from + 1);
    let Some(id) = id else {
        return FeedSince::Changed { from, next_kept };
    };
    let range = || snapshots.iter().filter(|s| s.id > from && s.id <= current);
    // An expired snapshot of the range took its list of changes with it: whatever it did is read from the feed.
    let complete = i64::try_from(range().count()).is_ok_and(|n| n == current - from);
    if !complete || range().any(|s| s.entry_for(REWRITES, id)) {
        FeedSince::Changed { from, next_kept }
    } else if range().any(|s| s.entry_for(INSERTS, id)) {
        FeedSince::InsertsOnly { from, next_kept, in_files: range().all(|s| s.only_file_inserts(id)) }
    } else {
        FeedSince::Untouched
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(list: &[(i64, &str)]) -> Vec<Snapshot> {
        list.iter().map(|(id, c)| Snapshot::new(*id, Some(c))).collect()
    }

    #[test]
    fn since_reads_each_kind_of_entry() {
        let s = run(&[(3, ""), (4, "inlined_insert:1"), (5, "inserted_into_table:2,deleted_from_table:2"), (6, "")]);
        assert_eq!(since(&s, Some(1), 3, 6), FeedSince::InsertsOnly { from: 3, next_kept: true, in_files: false });
        assert_eq!(since(&s, Some(2), 3, 6), FeedSince::Changed { from: 3, next_kept: true });
        assert_eq!(since(&s, Some(2), 5, 6), FeedSince::Untouched);
        assert_eq!(since(&s, Some(9), 3, 6), FeedSince::Untouched);
        assert_eq!(since(&s, Some(1), 6, 6), FeedSince::Untouched);
        assert_eq!(since(&s, None, 3, 6), FeedSince::Changed { from: 3, next_kept: true });
    }

    #[test]
    fn insertions_into_files_alone_are_counted_from_the_files() {
        let files = run(&[(3, ""), (4, "inserted_into_table:1"), (5, "inserted_into_table:1,inlined_insert:2")]);
        assert_eq!(since(&files, Some(1), 3, 5), FeedSince::InsertsOnly { from: 3, next_kept: true, in_files: true });
        assert_eq!(since(&files, Some(2), 3, 5), FeedSince::InsertsOnly { from: 3, next_kept: true, in_files: false });
        let mixed = run(&[(3, ""), (4, "inserted_into_table:1,inlined_insert:1")]);
        assert_eq!(since(&mixed, Some(1), 3, 4), FeedSince::InsertsOnly { from: 3, next_kept: true, in_files: false });
        let compacted = run(&[(3, ""), (4, "inserted_into_table:1"), (5, "compacted_table:1")]);
        assert_eq!(
            since(&compacted, Some(1), 3, 5),
            FeedSince::InsertsOnly { from: 3, next_kept: true, in_files: false }
        );
    }

    #[test]
    fn a_range_with_an_expired_snapshot_may_have_changed_anything() {
        let s = run(&[(3, ""), (4, "inlined_insert:1"), (6, "")]);
        assert_eq!(since(&s, Some(9), 3, 6), FeedSince::Changed { from: 3, next_kept: true });
        assert_eq!(since(&s, Some(1), 3, 6), FeedSince::Changed { from: 3, next_kept: true });
        assert_eq!(since(&s, Some(9), 4, 6), FeedSince::Changed { from: 4, next_kept: false });
        assert_eq!(since(&s, Some(9), 6, 6), FeedSince::Untouched);
    }

    #[test]
    fn an_expired_mark_is_said_so_and_a_gap_after_it_too() {
        let s = run(&[(5, ""), (7, "inlined_insert:1")]);
        assert_eq!(since(&s, Some(1), 4, 7), FeedSince::Expired { from: 4 });
        assert_eq!(since(&s, Some(1), 5, 7), FeedSince::Changed { from: 5, next_kept: false });
    }

    #[test]
    fn touched_tells_data_from_names() {
        let data = touched(&run(&[(1, "inlined_insert:5"), (2, "inserted_into_table:6,deleted_from_table:5")]));
        assert_eq!(data, Touched { tables: [(5, 2), (6, 1)].into(), names: false });
        let one = touched(&run(&[(1, "inlined_delete:5,inlined_insert:5")]));
        assert_eq!(one.tables, [(5, 1)].into());
        assert!(touched(&run(&[(1, "altered_table:5")])).names);
        assert!(touched(&run(&[(1, "dropped_table:5")])).names);
        assert!(touched(&run(&[(1, "some_new_kind:5")])).names);
        // a created name holding a comma and what looks like an entry
        let odd = touched(&run(&[(1, r#"created_table:"main"."a,inlined_insert:7,b""#)]));
        assert!(odd.names);
        assert_eq!(touched(&[]), Touched::default());
    }
}
