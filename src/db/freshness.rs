//! The facts `planner::freshness` decides from, read for every model: its sources' feeds, the commit time of the
//! snapshot it read, and the snapshot each model still needs (which snapshot expiry must keep).

use super::catalog::Stored;
use super::sql::scalar;
use super::Session;
use crate::error::Result;
use crate::model::{FeedSince, Kind};
use crate::pipeline::Graph;
use crate::planner::freshness::{self, Facts, Freshness};
use crate::quote::ident;

/// One model's freshness, with the oldest DuckLake snapshot it still reads from (None for models without feeds).
pub struct Fresh {
    pub freshness: Freshness,
    pub data_us: Option<i64>,
    pub needs_snapshot: Option<i64>,
}

impl Session<'_> {
    pub fn freshness(&self, all: &[Stored], graph: &Graph) -> Result<Vec<Fresh>> {
        let now = super::history::now_us();
        let mut facts = Vec::new();
        let mut needs = Vec::new();
        for m in all {
            let def = &m.def;
            let feeds = self.feeds(def, &m.state.source_marks)?;
            let all_feeds = !def.sources.is_empty() && def.sources.iter().all(|s| s.kind == Kind::Feed);
            let pending = all_feeds
                .then(|| def.sources.len() != feeds.len() || feeds.values().any(|p| p.since != FeedSince::Untouched));
            let oldest = feeds
                .iter()
                .filter_map(|(rel, p)| Some((m.state.source_marks.get(rel)?.parse::<i64>().ok()?, p)))
                .min_by_key(|(mark, _)| *mark);
            let data_us = match (pending, oldest) {
                (Some(false), _) => Some(now),
                (_, Some((mark, p))) => scalar(
                    self.conn,
                    &format!(
                        "SELECT epoch_us(snapshot_time) FROM {}.snapshots() WHERE snapshot_id = ?",
                        ident(&p.catalog)
                    ),
                    &[&mark],
                )?,
                _ => m.state.last_refresh_us,
            };
            needs.push(oldest.map(|(mark, _)| mark));
            facts.push(Facts { built: m.state.built, pending, data_us, target_lag: def.target_lag.clone() });
        }
        let mut readers = vec![Vec::new(); all.len()];
        for (i, reads) in graph.reads.iter().enumerate() {
            for &j in reads {
                readers[j].push(i);
            }
        }
        let decided = freshness::decide(&facts, &readers, now);
        Ok(decided
            .into_iter()
            .zip(facts)
            .zip(needs)
            .map(|((freshness, f), needs_snapshot)| Fresh { freshness, data_us: f.data_us, needs_snapshot })
            .collect())
    }
}
