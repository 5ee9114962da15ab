//! What the database says now of a model's table sources: identity and columns, compared with what the last
//! refresh recorded in the model's state.

use super::lookup::{self, Resolved};
use super::Session;
use crate::error::Result;
use crate::model::{ModelDef, SourceShape, TableIdentity};
use crate::names;

impl Session<'_> {
    /// The model's table sources as the database describes them now, their names resolved with the model's
    /// search_path (which this sets on the session); a source that cannot be described is left out.
    pub fn source_shapes(&self, def: &ModelDef) -> Result<Vec<SourceShape>> {
        self.use_search_path(&def.search_path)?;
        let default_db = self.default_database()?;
        let mut out = Vec::new();
        for s in def.sources.iter().filter(|s| !matches!(s.kind, crate::model::Kind::Changes(_))) {
            let Ok(columns) = self.describe(&def.name(), &format!("SELECT * FROM {}", s.sql_name())) else {
                continue;
            };
            let identity = self.identity(&s.relation, &def.search_path, &default_db)?;
            out.push(SourceShape { relation: s.relation.clone(), identity, columns });
        }
        Ok(out)
    }

    /// The identity of the table a relation name resolves to; a view, or a name that is not a valid table name,
    /// is Unknown.
    fn identity(&self, relation: &str, search_path: &str, default_db: &str) -> Result<TableIdentity> {
        Ok(match self.resolve_relation(relation, search_path, default_db)? {
            Some(Resolved { lake: Some(t), .. }) => TableIdentity::Lake { table_uuid: t.uuid },
            Some(Resolved { kind, oids: Some((database_oid, table_oid)), .. }) if kind != "view" => {
                TableIdentity::Attached { instance: self.instance.to_string(), database_oid, table_oid }
            }
            _ => TableIdentity::Unknown,
        })
    }

    /// The table or view a relation name resolves to, as DuckDB resolves it: the first candidate along the
    /// search_path that holds one.
    pub(super) fn resolve_relation(
        &self,
        relation: &str,
        search_path: &str,
        default_db: &str,
    ) -> Result<Option<Resolved>> {
        let Ok(candidates) = names::candidates(relation, search_path, default_db) else {
            return Ok(None);
        };
        for t in candidates {
            if let Some(found) = self.find_relation(&t)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// `lookup::find`, remembered while `state` gathers probes.
    fn find_relation(&self, t: &crate::model::Target) -> Result<Option<Resolved>> {
        if let Some(known) = self.found.borrow().as_ref().and_then(|f| f.get(t)) {
            return Ok(known.clone());
        }
        let known = self.names.borrow().as_ref().and_then(|n| n.find(self.conn, t));
        let found = match known {
            Some(found) => found?,
            None => lookup::find(self.conn, &t.database, &t.schema, &t.table)?,
        };
        if let Some(f) = self.found.borrow_mut().as_mut() {
            f.insert(t.clone(), found.clone());
        }
        Ok(found)
    }
}
