//! What a refresh does about its sources' shapes: each declared table source as the database describes it now,
//! against its shape recorded at the last refresh. A change the query can see rebuilds the model; otherwise the
//! refresh continues and compares a snapshot source with its copy by the recorded column names.

use std::collections::BTreeMap;

use crate::analysis::{read_columns, ReadColumns};
use crate::model::{Column, ModelDef, ModelState, Source, SourceShape};
use crate::quote::ident;

/// One change to a source since the last refresh that forces a rebuild.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// No shape was recorded for it: the model was refreshed by an older version, or the source was added.
    NotRecorded,
    /// Its identity differs: the table was dropped and created again (or replaced) under its name.
    Recreated,
    /// A column the query reads changed place among the recorded columns (dropped and added again, say).
    Moved {
        column: String,
        from: usize,
        to: usize,
    },
    Retyped {
        column: String,
        from: String,
        to: String,
    },
    Dropped {
        column: String,
    },
}

impl Change {
    fn describe(&self) -> String {
        match self {
            Change::NotRecorded => "its shape was not recorded at the last refresh".into(),
            Change::Recreated => "it was dropped and created again".into(),
            Change::Moved { column, from, to } => format!("column {column} moved from position {from} to {to}"),
            Change::Retyped { column, from, to } => format!("column {column} changed type from {from} to {to}"),
            Change::Dropped { column } => format!("column {column} was dropped"),
        }
    }
}

/// The decision about the sources' shapes, rendered to text once by `reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Refresh as usual; a snapshot source is compared with its copy on `compare[relation]`, its copy made again of
    /// `copy[relation]` (the columns it has now).
    Continue { compare: BTreeMap<String, Vec<String>>, copy: BTreeMap<String, Vec<String>> },
    /// Rebuild in full: `source` changed in these ways.
    Rebuild { source: String, changes: Vec<Change> },
}

impl Decision {
    /// Why the model is rebuilt, or None to continue.
    pub fn reason(&self) -> Option<String> {
        let Decision::Rebuild { source, changes } = self else {
            return None;
        };
        let what = changes.iter().map(Change::describe).collect::<Vec<_>>().join(" and ");
        Some(match changes.as_slice() {
            [Change::NotRecorded] => format!("source {source}: {what}, so the model is rebuilt"),
            _ => format!("source {source} changed since the last refresh: {what}, so the model is rebuilt"),
        })
    }

    /// The columns to compare a snapshot source with its copy on, quoted and joined; `*` when nothing is known.
    pub fn compared(&self, relation: &str) -> String {
        match self {
            Decision::Continue { compare, .. } => listed(compare.get(relation)),
            Decision::Rebuild { .. } => "*".into(),
        }
    }

    /// The columns a snapshot copy is made of: those its source has now.
    pub fn copied(&self, relation: &str) -> String {
        match self {
            Decision::Continue { copy, .. } => listed(copy.get(relation)),
            Decision::Rebuild { .. } => "*".into(),
        }
    }
}

fn listed(names: Option<&Vec<String>>) -> String {
    match names {
        Some(names) if !names.is_empty() => names.iter().map(|n| ident(n)).collect::<Vec<_>>().join(", "),
        _ => "*".into(),
    }
}

fn find<'a>(columns: &'a [Column], name: &str) -> Option<(usize, &'a Column)> {
    columns.iter().enumerate().find(|(_, c)| c.name.eq_ignore_ascii_case(name))
}

/// The recorded columns (indices into `then`) that kept their relative order in `now`: the longest increasing run
/// of recorded positions, read in their new order, preferring earlier columns on ties, so a column dropped and
/// added again (now last) is the one that moved.
fn kept_in_order(then: &[Column], now: &[Column]) -> Vec<usize> {
    let seq: Vec<usize> = now.iter().filter_map(|c| find(then, &c.name).map(|(i, _)| i)).collect();
    let mut best: Vec<Vec<usize>> = Vec::with_capacity(seq.len());
    for (j, &x) in seq.iter().enumerate() {
        let run = (0..j)
            .filter(|&k| seq[k] < x)
            .map(|k| &best[k])
            .fold(None::<&Vec<usize>>, |acc, r| match acc {
                Some(a) if a.len() >= r.len() => Some(a),
                _ => Some(r),
            })
            .cloned()
            .unwrap_or_default();
        best.push([run, vec![x]].concat());
    }
    best.into_iter().fold(Vec::new(), |acc, r| if r.len() > acc.len() { r } else { acc })
}

/// The changes of one source that the query can see: its identity, and the columns it reads (its change column
/// always) that moved, changed type or went away. Columns appended at the end change nothing it reads.
fn changes(s: &Source, then: &SourceShape, now: &SourceShape, reads: &ReadColumns) -> Vec<Change> {
    if then.identity.replaced_by(&now.identity) {
        return vec![Change::Recreated];
    }
    let change_column = match &s.kind {
        crate::model::Kind::Watermark(w) => Some(w.column.as_str()),
        _ => None,
    };
    let read = |c: &str| reads.reads(c) || change_column.is_some_and(|w| c.eq_ignore_ascii_case(w));
    let in_order = kept_in_order(&then.columns, &now.columns);
    let mut out = Vec::new();
    for (i, col) in then.columns.iter().enumerate().filter(|(_, c)| read(&c.name)) {
        match find(&now.columns, &col.name) {
            None => out.push(Change::Dropped { column: col.name.clone() }),
            Some((_, c)) if !c.type_name.eq_ignore_ascii_case(&col.type_name) => out.push(Change::Retyped {
                column: col.name.clone(),
                from: col.type_name.clone(),
                to: c.type_name.clone(),
            }),
            Some((j, _)) if !in_order.contains(&i) => {
                out.push(Change::Moved { column: col.name.clone(), from: i + 1, to: j + 1 })
            }
            Some(_) => {}
        }
    }
    out
}

/// Decides from the shapes in `state`, for a built model with sources. `'changes'` sources are left to their logs,
/// which an upstream rebuild with other columns drops (see `keys::lost`).
pub fn decide(def: &ModelDef, state: &ModelState) -> Decision {
    let shape = |list: &[SourceShape], rel: &str| list.iter().find(|x| x.relation == rel).cloned();
    let reads = read_columns(&def.bindable_query());
    let (mut compare, mut copy) = (BTreeMap::new(), BTreeMap::new());
    for s in def.sources.iter().filter(|s| !matches!(s.kind, crate::model::Kind::Changes(_))) {
        let (then, now) = (shape(&state.recorded_shapes, &s.relation), shape(&state.source_shapes, &s.relation));
        let found = match (&then, &now) {
            (None, _) => vec![Change::NotRecorded],
            (Some(then), Some(now)) => changes(s, then, now, &reads),
            // Not describable now: the query does not bind, and the refresh fails before it runs.
            (Some(_), None) => Vec::new(),
        };
        if !found.is_empty() {
            return Decision::Rebuild { source: s.relation.clone(), changes: found };
        }
        let (Some(then), now) = (then, now) else { continue };
        let now_cols = now.map(|n| n.columns).unwrap_or_else(|| then.columns.clone());
        // The recorded columns still there with their type, in recorded order: the copy holds exactly those.
        let same: Vec<String> = then
            .columns
            .iter()
            .filter(|c| find(&now_cols, &c.name).is_some_and(|(_, n)| n.type_name.eq_ignore_ascii_case(&c.type_name)))
            .map(|c| c.name.clone())
            .collect();
        if s.kind == crate::model::Kind::Snapshot && same.is_empty() {
            let dropped = then.columns.iter().map(|c| Change::Dropped { column: c.name.clone() }).collect();
            return Decision::Rebuild { source: s.relation.clone(), changes: dropped };
        }
        compare.insert(s.relation.clone(), same);
        copy.insert(s.relation.clone(), now_cols.into_iter().map(|c| c.name).collect());
    }
    Decision::Continue { compare, copy }
}

/// The decision for a full build: every snapshot copy is made of the columns its source has now.
pub fn for_full_build(def: &ModelDef, state: &ModelState) -> Decision {
    let copy = def
        .sources
        .iter()
        .filter_map(|s| {
            let now = state.source_shapes.iter().find(|x| x.relation == s.relation)?;
            Some((s.relation.clone(), now.columns.iter().map(|c| c.name.clone()).collect()))
        })
        .collect();
    Decision::Continue { compare: BTreeMap::new(), copy }
}

#[cfg(test)]
mod tests {
    use super::kept_in_order;
    use crate::model::Column;

    fn cols(names: &[&str]) -> Vec<Column> {
        names.iter().map(|n| Column { name: n.to_string(), type_name: "INTEGER".into() }).collect()
    }

    #[test]
    fn a_column_added_again_is_the_one_that_moved() {
        assert_eq!(kept_in_order(&cols(&["id", "v"]), &cols(&["v", "id"])), vec![1]);
        assert_eq!(kept_in_order(&cols(&["id", "v", "w"]), &cols(&["v", "w", "id"])), vec![1, 2]);
        assert_eq!(kept_in_order(&cols(&["a", "id", "v"]), &cols(&["id", "v", "x"])), vec![1, 2]);
        assert_eq!(kept_in_order(&cols(&["a", "b", "c"]), &cols(&["c", "a", "b"])), vec![0, 1]);
    }
}
