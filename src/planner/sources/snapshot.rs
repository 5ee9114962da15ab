//! A copy of the source kept at the last refresh: the rows that differ from it, in their new and their old version,
//! are the changed ones, so in-place updates and deletes are seen in any table.

use super::{marked, ChangeSource, Cx};
use crate::model::{ModelDef, ModelState, Source, Target};
use crate::planner::Step;

pub struct Snapshot;

fn copy_of(s: &Source, model: &Target) -> String {
    crate::quote::qualified(&[&model.database, "_incremental", &copy_name(s, model)])
}

fn copy_name(s: &Source, model: &Target) -> String {
    format!("snapshot of {} for {}.{}", s.relation, model.schema, model.table)
}

impl ChangeSource for Snapshot {
    fn describe(&self, _cx: &Cx, s: &Source) -> String {
        format!("{} (against its copy from the last refresh)", s.relation)
    }

    /// Compared on the recorded columns by name: a set operation pairs columns by position, so a column dropped and
    /// added again, or added at the end, would pair wrong or fail.
    fn changed(&self, cx: &Cx, s: &Source) -> String {
        let (rel, copy, cols) = (s.sql_name(), copy_of(s, &cx.def.target), cx.shapes.compared(&s.relation));
        format!(
            "SELECT * FROM (SELECT {cols} FROM {rel} EXCEPT ALL SELECT {cols} FROM {copy}) UNION ALL \
             SELECT * FROM (SELECT {cols} FROM {copy} EXCEPT ALL SELECT {cols} FROM {rel})"
        )
    }

    fn widened(&self, cx: &Cx, s: &Source) -> Option<String> {
        let cols = cx.shapes.compared(&s.relation);
        Some(format!("SELECT {cols} FROM {} UNION ALL {}", s.sql_name(), self.changed(cx, s)))
    }

    fn marks(&self, cx: &Cx, s: &Source, _full: bool) -> Vec<Step> {
        let copy = copy_of(s, &cx.def.target);
        let cols = cx.shapes.copied(&s.relation);
        let create = Step::Run(format!("CREATE OR REPLACE TABLE {copy} AS SELECT {cols} FROM {}", s.sql_name()));
        vec![create, marked(cx.def, &copy)]
    }

    fn lost(&self, def: &ModelDef, state: &ModelState, s: &Source) -> Option<String> {
        let name = copy_name(s, &def.target);
        let kept = state.kept_tables.iter().any(|t| t.eq_ignore_ascii_case(&name));
        (!kept)
            .then(|| format!("the copy of {} kept at the last refresh is missing, so the model is rebuilt", s.relation))
    }

    fn kept_name(&self, s: &Source, model: &Target) -> Option<String> {
        Some(copy_name(s, model))
    }
}
