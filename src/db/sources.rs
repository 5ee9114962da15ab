//! The sources of a model as the database knows them: which are models (read by their recorded changes), the types
//! of change columns, and the sources `'auto'` infers.

use super::{catalog, graph, Session};
use crate::error::{Error, Result};
use crate::model::{Kind, Lookback, ModelDef, TimeKind};
use crate::planner::sources::{Watermark, FEED};

impl Session<'_> {
    /// The definition with each source resolved: the type of its change column (once the query binds), or, for
    /// `'changes'`, the model it names. A column that cannot be read, or a model declared any other way, is an error.
    pub fn resolve_sources(&self, mut def: ModelDef) -> Result<ModelDef> {
        let model = def.name();
        let (all, default_db) = (catalog::all(self.conn)?, self.default_database()?);
        for s in &mut def.sources {
            let up = graph::model_named(&s.sql_name(), &def.search_path, &default_db, &all);
            let same_db = up.is_some_and(|up| up.database.eq_ignore_ascii_case(&def.target.database));
            match (&mut s.kind, up) {
                (Kind::Changes(u), Some(up)) if same_db => {
                    u.upstream = Some(up.clone());
                    continue;
                }
                (Kind::Changes(_), Some(up)) => {
                    return Err(Error::option(
                        &model,
                        format!(
                            "sources reads the changes of model {}, which lives in database {}: a refresh writes one database only, so the two models must share one; move one of them",
                            s.relation, up.database
                        ),
                    ))
                }
                // A model's rows are replaced in place: its new rows carry a new watermark, but the keys its old
                // rows reached cannot be found from them, and deleted rows leave nothing to find at all.
                (Kind::Watermark(_) | Kind::Snapshot, Some(_)) => {
                    return Err(Error::option(
                        &model,
                        format!(
                            "sources lists {rel}, which is a model: its refreshes replace and delete rows, which a change column cannot find; declare it as {{'{rel}': 'changes'}} to read the rows its refreshes record",
                            rel = s.relation
                        ),
                    ))
                }
                (Kind::Changes(_), None) => {
                    return Err(Error::option(
                        &model,
                        format!(
                            "sources declares {} as 'changes', but it is not a model of this extension, so nothing records its changes; give its change column, or 'snapshot'",
                            s.relation
                        ),
                    ))
                }
                _ => {}
            }
            // A query that does not bind yet (it reads models not built) has its columns checked at its first refresh.
            if !def.validated {
                continue;
            }
            if s.kind == Kind::Feed {
                if self.lake_table(&s.relation, &def.search_path)?.is_none() {
                    return Err(Error::option(
                        &model,
                        format!(
                            "sources declares {} as '{FEED}', but it is not a table of an attached DuckLake; give its change column, or 'snapshot'",
                            s.relation
                        ),
                    ));
                }
                continue;
            }
            let column = match &s.kind {
                Kind::Watermark(w) => crate::quote::ident(&w.column),
                _ => "*".to_string(),
            };
            let sql = format!("SELECT {column} FROM {}", s.sql_name());
            let columns = self.describe(&model, &sql).map_err(|_| {
                Error::option(
                    &model,
                    format!(
                        "sources names change column \"{}\" of table {}, which cannot be read; check both names",
                        s.kind.declaration(),
                        s.relation
                    ),
                )
            })?;
            if let Kind::Watermark(w) = &mut s.kind {
                w.type_name = columns.first().map(|c| c.type_name.clone());
                check_source_lookback(&model, &s.relation, w, def.lookback.as_ref())?;
            }
        }
        Ok(def)
    }

    /// The definition with the models it reads as `'changes'` sources, when `crate::infer::changes_sources` decides so.
    pub fn infer_sources(&self, def: ModelDef) -> Result<ModelDef> {
        let Ok(read) = crate::analysis::source_relations("", &def.bindable_query()) else {
            return Ok(def);
        };
        let (all, default_db) = (catalog::all(self.conn)?, self.default_database()?);
        let relations: Vec<String> = read.iter().map(|parts| parts.join(".")).collect();
        let models: Vec<String> = read
            .iter()
            .filter(|parts| {
                let relation = crate::quote::qualified(&parts.iter().map(String::as_str).collect::<Vec<_>>());
                graph::model_named(&relation, &def.search_path, &default_db, &all)
                    .is_some_and(|up| up.database.eq_ignore_ascii_case(&def.target.database))
            })
            .map(|parts| parts.join("."))
            .collect();
        let mut lake = Vec::new();
        for r in &relations {
            if self.lake_table(r, &def.search_path)?.is_some() {
                lake.push(r.clone());
            }
        }
        if let Some(def) = crate::infer::feed_sources(def.clone(), &relations, &lake) {
            return Ok(def);
        }
        if models.is_empty() {
            return Ok(crate::infer::suggest_sources(def, &relations));
        }
        Ok(crate::infer::changes_sources(def, &relations, &models))
    }
}

/// A lookback is subtracted from each change column's watermark: an INTERVAL for dates and timestamps, a number for
/// integers.
fn check_source_lookback(model: &str, relation: &str, w: &Watermark, lookback: Option<&Lookback>) -> Result<()> {
    let (Some(lookback), Some(kind)) = (lookback, w.type_name.as_deref().map(TimeKind::of_type)) else {
        return Ok(());
    };
    let fits = match (kind, lookback) {
        (Some(TimeKind::Integer), Lookback::Integer(n)) => *n >= 0,
        (Some(TimeKind::Date | TimeKind::Timestamp), Lookback::Interval(_)) => true,
        _ => false,
    };
    if fits {
        return Ok(());
    }
    Err(Error::option(
        model,
        format!(
            "lookback {} does not fit change column \"{}\" of {} (type {}): give an INTERVAL for a date or timestamp column, a non-negative integer for an integer column, and no lookback for other types",
            lookback.display(),
            w.column,
            relation,
            w.type_name.as_deref().unwrap_or_default()
        ),
    ))
}
