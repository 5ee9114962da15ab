//! The kinds of change source a model with `sources` reads, one file each: how each finds the rows changed since
//! the mark stored at the last refresh, what mark it stores, and what loses its changes (then the model rebuilds).

mod changes;
mod feed;
mod snapshot;
mod watermark;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::shapes::Decision;
use super::Step;
use crate::model::{FeedProbe, ModelDef, ModelState, Source, Target};

pub use changes::Upstream;
pub use feed::DECLARED as FEED;
pub use watermark::Watermark;

/// How a source's changed rows are found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A column whose growth marks changed rows (`{'t': 'updated_at'}`).
    Watermark(Watermark),
    /// A copy kept at the last refresh, compared with the table (`{'t': 'snapshot'}`).
    Snapshot,
    /// The rows an upstream model's refreshes recorded (`{'m': 'changes'}`).
    Changes(Upstream),
    /// A DuckLake table's own change feed (`{'t': 'table_changes'}`, or inferred for a table in a DuckLake).
    Feed,
}

/// What every kind answers; `Kind::imp` is the one registration of the kinds.
trait ChangeSource {
    /// How the refresh's reason says what it reads of the source.
    fn describe(&self, cx: &Cx, s: &Source) -> String;
    /// The source's changed rows with the source's columns: old and new versions where the kind knows both.
    fn changed(&self, cx: &Cx, s: &Source) -> String;
    /// The source's rows as of the last refresh and now, for joins whose other side changed too; None when the
    /// kind knows only new rows (then the table itself is used).
    fn widened(&self, _cx: &Cx, _s: &Source) -> Option<String> {
        None
    }
    /// The source's size when the probes found it, for the cost choice.
    fn rows(&self, _cx: &Cx, _s: &Source) -> Option<u64> {
        None
    }
    /// A scalar query of how many rows `changed` holds that reads less than counting them, when the kind has one.
    fn changed_count(&self, _cx: &Cx, _s: &Source) -> Option<String> {
        None
    }
    /// Steps that store where the source now is, after a refresh (`full`: a rebuild, which reads everything).
    fn marks(&self, cx: &Cx, s: &Source, full: bool) -> Vec<Step>;
    /// Why the model must be rebuilt because what records this source's changes is gone.
    fn lost(&self, _def: &ModelDef, _state: &ModelState, _s: &Source) -> Option<String> {
        None
    }
    /// The table the model keeps in its catalog schema for the source (a copy, a log), if any.
    fn kept_name(&self, _s: &Source, _model: &Target) -> Option<String> {
        None
    }
    /// True when the kind knows, without a query, that nothing changed.
    fn unchanged(&self, _cx: &Cx, _s: &Source) -> bool {
        false
    }
}

impl Kind {
    fn imp(&self) -> &dyn ChangeSource {
        match self {
            Kind::Watermark(w) => w,
            Kind::Snapshot => &snapshot::Snapshot,
            Kind::Changes(u) => u,
            Kind::Feed => &feed::Feed,
        }
    }

    /// The kind a `sources := {'t': '...'}` value declares.
    pub fn declared(text: &str) -> Kind {
        match text.to_ascii_lowercase().as_str() {
            "snapshot" => Kind::Snapshot,
            "changes" => Kind::Changes(Upstream::default()),
            FEED => Kind::Feed,
            _ => Kind::Watermark(Watermark { column: text.to_string(), type_name: None }),
        }
    }

    /// The value that declares this kind, as a user writes it in `sources`.
    pub fn declaration(&self) -> String {
        match self {
            Kind::Watermark(w) => w.column.clone(),
            Kind::Snapshot => "snapshot".into(),
            Kind::Changes(_) => "changes".into(),
            Kind::Feed => FEED.into(),
        }
    }
}

/// What the kinds render from: the definition, the stored marks, the sources' shapes and what the feeds said.
pub struct Cx<'a> {
    pub def: &'a ModelDef,
    pub marks: &'a BTreeMap<String, String>,
    pub shapes: &'a Decision,
    pub feeds: &'a BTreeMap<String, FeedProbe>,
    /// The model's table is in a DuckLake (`ModelState::target_in_lake`): the plan then reads it in fewer statements.
    pub target_in_lake: bool,
}

pub fn describe(cx: &Cx, s: &Source) -> String {
    s.kind.imp().describe(cx, s)
}

pub fn changed(cx: &Cx, s: &Source) -> String {
    s.kind.imp().changed(cx, s)
}

pub fn widened(cx: &Cx, s: &Source) -> Option<String> {
    s.kind.imp().widened(cx, s)
}

pub fn rows(cx: &Cx, s: &Source) -> Option<u64> {
    s.kind.imp().rows(cx, s)
}

pub fn changed_count(cx: &Cx, s: &Source) -> Option<String> {
    s.kind.imp().changed_count(cx, s)
}

pub fn marks(cx: &Cx, s: &Source, full: bool) -> Vec<Step> {
    s.kind.imp().marks(cx, s, full)
}

pub fn lost(def: &ModelDef, state: &ModelState, s: &Source) -> Option<String> {
    s.kind.imp().lost(def, state, s)
}

pub fn kept_name(s: &Source, model: &Target) -> Option<String> {
    s.kind.imp().kept_name(s, model)
}

pub fn unchanged(cx: &Cx, s: &Source) -> bool {
    s.kind.imp().unchanged(cx, s)
}

/// The mark steps' shared form: a kept table carries the model's mark, so only a table with it is ever dropped.
fn marked(def: &ModelDef, table: &str) -> Step {
    Step::Run(format!("COMMENT ON TABLE {table} IS {}", crate::quote::literal(&def.kept_mark())))
}
