//! A change column: rows whose value is beyond the one stored at the last refresh (minus the model's lookback)
//! are the changed ones; only their new versions are known.

use serde::{Deserialize, Serialize};

use super::{ChangeSource, Cx};
use crate::model::{Lookback, Source};
use crate::planner::Step;
use crate::quote::{ident, literal};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watermark {
    pub column: String,
    /// The column's DuckDB type, known once the source can be described.
    pub type_name: Option<String>,
}

impl Watermark {
    fn typed(&self, value: &str) -> String {
        match &self.type_name {
            Some(ty) => format!("CAST({} AS {ty})", literal(value)),
            None => literal(value),
        }
    }

    /// The stored mark minus the model's lookback, if it has one.
    fn since(&self, lookback: Option<&Lookback>, mark: &str) -> String {
        match lookback {
            Some(Lookback::Interval(text)) => format!("{} - CAST({} AS INTERVAL)", self.typed(mark), literal(text)),
            Some(Lookback::Integer(n)) => format!("{} - {n}", self.typed(mark)),
            None => self.typed(mark),
        }
    }
}

impl ChangeSource for Watermark {
    fn describe(&self, cx: &Cx, s: &Source) -> String {
        match &cx.def.lookback {
            Some(lb) => {
                format!("{} ({} beyond its watermark minus lookback {})", s.relation, self.column, lb.display())
            }
            None => format!("{} ({} beyond its watermark)", s.relation, self.column),
        }
    }

    /// Every row when no mark is stored: the source was empty at the last refresh.
    fn changed(&self, cx: &Cx, s: &Source) -> String {
        let rel = s.sql_name();
        match cx.marks.get(&s.relation) {
            Some(wm) => {
                format!(
                    "SELECT * FROM {rel} WHERE {} > {}",
                    ident(&self.column),
                    self.since(cx.def.lookback.as_ref(), wm)
                )
            }
            None => format!("SELECT * FROM {rel}"),
        }
    }

    /// The newest change value, or the stored one when nothing changed: with a lookback the changed rows start
    /// before the mark, which must not move back.
    fn marks(&self, cx: &Cx, s: &Source, _full: bool) -> Vec<Step> {
        let newest = format!("max({})", ident(&self.column));
        let value = match cx.marks.get(&s.relation) {
            Some(wm) => format!("greatest(coalesce({newest}, {wm}), {wm})", wm = self.typed(wm)),
            None => newest,
        };
        let sql = format!("SELECT CAST({value} AS VARCHAR) FROM ({}) AS s", self.changed(cx, s));
        vec![Step::SourceWatermark(s.relation.clone(), sql)]
    }
}
