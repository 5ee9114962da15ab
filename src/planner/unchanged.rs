//! A no-op known from one number: the lake still holds the snapshot at which the model's last refresh found nothing.

use crate::model::{Kind, ModelDef, ModelState};
use crate::placeholders::Vars;

/// Where a refresh that found nothing to do left a model: every commit to a DuckLake makes a new snapshot, so while
/// the lake's current snapshot is still `snapshot`, nothing the model reads or stores there has changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The attached DuckLake catalog that holds the model and all its sources.
    pub lake: String,
    /// Where that catalog's data lives (`duckdb_databases().path`): another lake attached under the same name
    /// numbers its snapshots afresh.
    pub path: String,
    pub snapshot: i64,
    /// The vars the refresh ran with: other vars can fill the query otherwise.
    pub vars: Vars,
}

/// The lake and snapshot a no-op can be remembered at: when the model's table is in a DuckLake and every source is
/// a table of that same lake read through its feed, the answer depends on nothing but the lake's contents. None for
/// anything else (a DuckDB file, a source elsewhere, a column watermark), which is asked again every time.
pub fn rememberable(def: &ModelDef, state: &ModelState) -> Option<(String, i64)> {
    if def.sources.is_empty() || def.sources.iter().any(|s| s.kind != Kind::Feed) {
        return None;
    }
    let mut snapshot = None;
    for s in &def.sources {
        let probe = state.feeds.get(&s.relation)?;
        if !probe.catalog.eq_ignore_ascii_case(&def.target.database) || snapshot.is_some_and(|at| at != probe.current) {
            return None;
        }
        snapshot = Some(probe.current);
    }
    snapshot.map(|at| (def.target.database.clone(), at))
}

/// True when a refresh can answer "noop" from `seen` without reading anything: the same lake (by path) is at the
/// same snapshot, the refresh is not a forced full one, and it runs with the same vars.
pub fn still_unchanged(seen: &Seen, path: &str, current: Option<i64>, full_refresh: bool, vars: &Vars) -> bool {
    !full_refresh && seen.path == path && current == Some(seen.snapshot) && seen.vars == *vars
}

/// What a refresh answered from `seen` says, after the reason its last full look gave.
pub fn reason(seen: &Seen, last: &str) -> String {
    format!(
        "nothing to read: lake {} is still at snapshot {}, where the last refresh found this ({last})",
        seen.lake, seen.snapshot
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FeedProbe, FeedSince, Source};

    fn def(sources: &[(&str, Kind)]) -> ModelDef {
        ModelDef {
            sources: sources.iter().map(|(r, k)| Source { relation: r.to_string(), kind: k.clone() }).collect(),
            sources_inferred: true,
            ..ModelDef::example("lake", "SELECT g, count(*) AS n FROM lake.main.ev GROUP BY g", &["g"])
        }
    }

    fn probe(catalog: &str, current: i64) -> FeedProbe {
        FeedProbe {
            catalog: catalog.into(),
            schema: "main".into(),
            table: "ev".into(),
            current,
            since: FeedSince::Untouched,
            rows: None,
            table_id: None,
        }
    }

    fn state(feeds: &[(&str, FeedProbe)]) -> ModelState {
        ModelState { feeds: feeds.iter().map(|(r, p)| (r.to_string(), p.clone())).collect(), ..ModelState::default() }
    }

    #[test]
    fn only_models_whose_sources_are_all_feeds_of_their_own_lake_are_remembered() {
        let feeds = def(&[("lake.main.ev", Kind::Feed), ("lake.main.dim", Kind::Feed)]);
        let both = state(&[("lake.main.ev", probe("lake", 7)), ("lake.main.dim", probe("LAKE", 7))]);
        assert_eq!(rememberable(&feeds, &both), Some(("lake".into(), 7)));
        let other_lake = state(&[("lake.main.ev", probe("lake", 7)), ("lake.main.dim", probe("lake2", 7))]);
        assert_eq!(rememberable(&feeds, &other_lake), None);
        let one_missing = state(&[("lake.main.ev", probe("lake", 7))]);
        assert_eq!(rememberable(&feeds, &one_missing), None);
        let copied = def(&[("lake.main.ev", Kind::Feed), ("lake.main.dim", Kind::Snapshot)]);
        assert_eq!(rememberable(&copied, &both), None);
        assert_eq!(rememberable(&def(&[]), &state(&[])), None);
    }

    #[test]
    fn a_remembered_noop_holds_only_for_the_same_lake_snapshot_and_vars() {
        let vars: Vars = [("day".to_string(), "1".to_string())].into();
        let seen = Seen { lake: "lake".into(), path: "ducklake:postgres:db".into(), snapshot: 7, vars: vars.clone() };
        assert!(still_unchanged(&seen, "ducklake:postgres:db", Some(7), false, &vars));
        assert!(!still_unchanged(&seen, "ducklake:postgres:db", Some(8), false, &vars));
        assert!(!still_unchanged(&seen, "ducklake:postgres:db", None, false, &vars));
        assert!(!still_unchanged(&seen, "ducklake:postgres:other", Some(7), false, &vars));
        assert!(!still_unchanged(&seen, "ducklake:postgres:db", Some(7), true, &vars));
        assert!(!still_unchanged(&seen, "ducklake:postgres:db", Some(7), false, &Vars::new()));
    }
}
