//! What the database says now of a model's table sources: identity and columns, compared with what the last
//! refresh recorded in the model's state.

use super::sql::rows;
use super::Session;
use crate::error::Result;
use crate::model::{ModelDef, SourceShape, TableIdentity};
use crate::names;

/// A relation resolved: the database's type (`duckdb`, `ducklake`, ...; `view` for a view) and exact names.
pub struct Resolved {
    pub oids: Option<(i64, i64)>,
    pub kind: String,
    pub database: String,
    pub schema: String,
    pub table: String,
}

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
            Some(Resolved { kind, database, schema, table, .. }) if kind == "ducklake" => {
                self.lake_identity(&database, &schema, &table)
            }
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
            let found = rows(
                self.conn,
                "SELECT t.database_oid, t.table_oid, d.type, t.database_name, t.schema_name, t.table_name
                 FROM duckdb_tables() t JOIN duckdb_databases() d USING (database_name)
                 WHERE lower(t.database_name) = lower(?) AND lower(t.schema_name) = lower(?) AND lower(t.table_name) = lower(?)
                 UNION ALL SELECT NULL, NULL, 'view', database_name, schema_name, view_name FROM duckdb_views()
                 WHERE lower(database_name) = lower(?) AND lower(schema_name) = lower(?) AND lower(view_name) = lower(?)",
                &[&t.database, &t.schema, &t.table, &t.database, &t.schema, &t.table],
                |r| {
                    let oids = match (r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?) {
                        (Some(d), Some(t)) => Some((d, t)),
                        _ => None,
                    };
                    Ok(Resolved { oids, kind: r.get(2)?, database: r.get(3)?, schema: r.get(4)?, table: r.get(5)? })
                },
            )?;
            if let Some(found) = found.into_iter().next() {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// A DuckLake table's uuid; Unknown when it cannot be read from the lake's metadata catalog.
    fn lake_identity(&self, db: &str, schema: &str, table: &str) -> TableIdentity {
        match self.lake_table_row(db, schema, table) {
            Ok(Some((_, table_uuid))) => TableIdentity::Lake { table_uuid },
            _ => TableIdentity::Unknown,
        }
    }

    /// The live row of a DuckLake table in the lake's metadata catalog (`__ducklake_metadata_<name>`, DuckLake's
    /// default name for it): its table id, which `snapshots().changes` names, and its uuid, new for a table created
    /// again.
    pub fn lake_table_row(&self, db: &str, schema: &str, table: &str) -> Result<Option<(i64, String)>> {
        let meta = crate::quote::ident(&format!("__ducklake_metadata_{db}"));
        let sql = format!(
            "SELECT t.table_id, CAST(t.table_uuid AS VARCHAR) FROM {meta}.ducklake_table t
             JOIN {meta}.ducklake_schema s USING (schema_id)
             WHERE t.end_snapshot IS NULL AND s.end_snapshot IS NULL AND s.schema_name = ? AND t.table_name = ?"
        );
        let found = rows(self.conn, &sql, &[&schema, &table], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        Ok(found.into_iter().next())
    }
}
