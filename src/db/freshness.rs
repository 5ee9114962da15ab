//! The facts `planner::freshness` decides from, read for every model: its sources' feeds, the commit time of the
//! snapshot it read, and the snapshot each model still needs (which snapshot expiry must keep).

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::catalog::{self, Attached, Stored};
use super::seen::Lakes;
use super::Session;
use crate::error::Result;
use crate::model::{FeedProbe, FeedSince, Kind};
use crate::pipeline::Graph;
use crate::planner::freshness::{self, Facts, Freshness};

/// One model's freshness, with the oldest DuckLake snapshot it still reads from (None for models without feeds).
pub struct Fresh {
    pub freshness: Freshness,
    /// The feeds of its DuckLake sources, by relation: what a refresh would find.
    pub feeds: BTreeMap<String, FeedProbe>,
    pub data_us: Option<i64>,
    pub needs_snapshot: Option<i64>,
}

impl Session<'_> {
    /// Every model of the databases `attached` lists (all attached now when None), the graph of which reads which,
    /// and each one's freshness, read in one read-only transaction: on a DuckLake each statement outside one is a
    /// transaction of its own, with its own round of catalog reads.
    pub fn models_fresh(&self, attached: Option<&[Attached]>) -> Result<(Vec<Stored>, Graph, Vec<Fresh>)> {
        super::transaction(self.conn, || {
            let attached = match attached {
                Some(known) => Cow::Borrowed(known),
                None => Cow::Owned(catalog::attached(self.conn)?),
            };
            let (all, mut lakes) = self.all_models(&attached)?;
            let graph = self.graph_of(&all)?;
            let fresh = self.freshness(&all, &graph, &mut lakes)?;
            self.remember(lakes);
            Ok((all, graph, fresh))
        })
    }

    /// Every model of `all` (read by `all_models`, which saw `lakes`) with the facts it is due by.
    pub fn freshness(&self, all: &[Stored], graph: &Graph, lakes: &mut Lakes) -> Result<Vec<Fresh>> {
        let now = super::history::now_us();
        let mut facts = Vec::new();
        let mut needs = Vec::new();
        let mut probes = Vec::new();
        for m in all {
            let def = &m.def;
            let feeds = self.seen_feeds(def, &m.state.source_marks, lakes)?;
            let all_feeds = !def.sources.is_empty() && def.sources.iter().all(|s| s.kind == Kind::Feed);
            let pending = all_feeds
                .then(|| def.sources.len() != feeds.len() || feeds.values().any(|p| p.since != FeedSince::Untouched));
            let oldest = feeds
                .iter()
                .filter_map(|(rel, p)| Some((m.state.source_marks.get(rel)?.parse::<i64>().ok()?, p)))
                .min_by_key(|(mark, _)| *mark);
            let data_us = match (pending, oldest) {
                (Some(false), _) => Some(now),
                (_, Some((mark, p))) => self.snapshot_time(&p.catalog, mark, lakes)?,
                _ => m.state.last_refresh_us,
            };
            needs.push(oldest.map(|(mark, _)| mark));
            probes.push(feeds);
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
            .zip(probes)
            .map(|(((freshness, f), needs_snapshot), feeds)| Fresh {
                freshness,
                feeds,
                data_us: f.data_us,
                needs_snapshot,
            })
            .collect())
    }
}
