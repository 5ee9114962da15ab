//! What the database says now of a model's table sources: identity and columns, compared with what the last
//! refresh recorded in the model's state.

use super::sql::{rows, scalar};
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
        for s in def.sources.iter().filter(|s| !s.is_changes()) {
            let Ok(columns) = self.describe(&def.name(), &format!("SELECT * FROM {}", s.sql_name())) else {
                continue;
            };
            let identity = self.identity(&s.relation, &def.search_path, &default_db)?;
            out.push(SourceShape { relation: s.relation.clone(), identity, columns });
        }
        Ok(out)
    }

    /// The identity of the table a relation name resolves to, as DuckDB resolves it: the first candidate along the
    /// search_path that holds a table or view. A view, or a name that is not a valid table name, is Unknown.
    fn identity(&self, relation: &str, search_path: &str, default_db: &str) -> Result<TableIdentity> {
        let Ok(candidates) = names::candidates(relation, search_path, default_db) else {
            return Ok(TableIdentity::Unknown);
        };
        for t in candidates {
            let found = rows(
                self.conn,
                "SELECT t.database_oid, t.table_oid, d.type, t.database_name, t.schema_name, t.table_name
                 FROM duckdb_tables() t JOIN duckdb_databases() d USING (database_name)
                 WHERE lower(t.database_name) = lower(?) AND lower(t.schema_name) = lower(?) AND lower(t.table_name) = lower(?)
                 UNION ALL SELECT NULL, NULL, 'view', NULL, NULL, NULL FROM duckdb_views()
                 WHERE lower(database_name) = lower(?) AND lower(schema_name) = lower(?) AND lower(view_name) = lower(?)",
                &[&t.database, &t.schema, &t.table, &t.database, &t.schema, &t.table],
                |r| {
                    Ok((
                        r.get::<_, Option<i64>>(0)?,
                        r.get::<_, Option<i64>>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, Option<String>>(5)?,
                    ))
                },
            )?;
            let Some((db_oid, oid, kind, db, schema, table)) = found.into_iter().next() else {
                continue;
            };
            return Ok(match (kind.as_str(), db_oid, oid, db, schema, table) {
                ("ducklake", _, _, Some(db), Some(schema), Some(table)) => self.lake_identity(&db, &schema, &table),
                ("view", ..) => TableIdentity::Unknown,
                (_, Some(database_oid), Some(table_oid), ..) => {
                    TableIdentity::Attached { instance: self.instance.to_string(), database_oid, table_oid }
                }
                _ => TableIdentity::Unknown,
            });
        }
        Ok(TableIdentity::Unknown)
    }

    /// A DuckLake table's uuid, from the lake's metadata catalog (`__ducklake_metadata_<name>`, DuckLake's default
    /// name for it); Unknown when it cannot be read there.
    fn lake_identity(&self, db: &str, schema: &str, table: &str) -> TableIdentity {
        let meta = crate::quote::ident(&format!("__ducklake_metadata_{db}"));
        let sql = format!(
            "SELECT CAST(t.table_uuid AS VARCHAR) FROM {meta}.ducklake_table t JOIN {meta}.ducklake_schema s USING (schema_id)
             WHERE t.end_snapshot IS NULL AND s.end_snapshot IS NULL AND s.schema_name = ? AND t.table_name = ?"
        );
        match scalar::<String>(self.conn, &sql, &[&schema, &table]) {
            Ok(Some(table_uuid)) => TableIdentity::Lake { table_uuid },
            _ => TableIdentity::Unknown,
        }
    }
}
