//! An upstream model of the same database: its refreshes record, in a log kept for this model, every row they
//! delete (-1) and insert (+1), which are the changed rows in both versions.

use serde::{Deserialize, Serialize};

use super::{marked, ChangeSource, Cx};
use crate::model::{changes_log_name, ModelDef, ModelState, Source, Target};
use crate::planner::changes::DIFF;
use crate::planner::Step;
use crate::quote::ident;

/// The model whose refreshes record the changes, once the source is resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upstream {
    pub upstream: Option<Target>,
}

impl Upstream {
    fn log(&self, model: &Target) -> Option<String> {
        let name = changes_log_name(self.upstream.as_ref()?, model);
        Some(crate::quote::qualified(&[&model.database, "_incremental", &name]))
    }
}

impl ChangeSource for Upstream {
    fn describe(&self, _cx: &Cx, s: &Source) -> String {
        format!("{} (the rows its refreshes recorded)", s.relation)
    }

    fn changed(&self, cx: &Cx, s: &Source) -> String {
        match self.log(&cx.def.target) {
            Some(log) => format!("SELECT * EXCLUDE ({}) FROM {log}", ident(DIFF)),
            None => format!("SELECT * FROM {}", s.sql_name()),
        }
    }

    fn widened(&self, cx: &Cx, s: &Source) -> Option<String> {
        self.log(&cx.def.target).map(|_| format!("SELECT * FROM {} UNION ALL {}", s.sql_name(), self.changed(cx, s)))
    }

    /// The log emptied, or created afresh by a rebuild with the upstream table's columns.
    fn marks(&self, cx: &Cx, s: &Source, full: bool) -> Vec<Step> {
        let Some(log) = self.log(&cx.def.target) else {
            return Vec::new();
        };
        if !full {
            return vec![Step::Run(format!("DELETE FROM {log}"))];
        }
        let create = Step::Run(format!(
            "CREATE OR REPLACE TABLE {log} AS SELECT *, CAST(NULL AS TINYINT) AS {} FROM {} LIMIT 0",
            ident(DIFF),
            s.sql_name()
        ));
        vec![create, marked(cx.def, &log)]
    }

    fn lost(&self, def: &ModelDef, state: &ModelState, s: &Source) -> Option<String> {
        let name = changes_log_name(self.upstream.as_ref()?, &def.target);
        let kept = state.kept_tables.iter().any(|t| t.eq_ignore_ascii_case(&name));
        (!kept).then(|| format!(
            "the changes of model {} since the last refresh were not recorded (its table was rebuilt with other columns or replaced), so the model is rebuilt",
            s.relation
        ))
    }

    fn kept_name(&self, _s: &Source, model: &Target) -> Option<String> {
        Some(changes_log_name(self.upstream.as_ref()?, model))
    }
}
