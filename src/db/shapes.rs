//! What the last refresh saw of a model's table sources (`_incremental.source_tables`, `.source_columns`), and
//! what the database says of them now.

use duckdb::Connection;

use super::sql::{batch, rows, scalar, sql_error};
use super::Session;
use crate::error::Result;
use crate::model::{Column, ModelDef, SourceShape, TableIdentity, Target};
use crate::names;
use crate::quote::literal;

use super::catalog::{table, THIS_MODEL};

/// The tables recording each model's table sources as the last refresh saw them: identity (one row per source;
/// `instance`, `database_oid` and `table_oid` for a DuckDB table, `lake_table_uuid` for a DuckLake one, all NULL
/// when unknown) and columns (one row per column). Created when missing, so a catalog made by an older version
/// gains them at its next refresh.
pub fn ensure(conn: &Connection, db: &str) -> Result<()> {
    if has_source_shapes(conn, db)? {
        return Ok(());
    }
    batch(
        conn,
        &format!(
            "CREATE TABLE IF NOT EXISTS {tables} (schema_name VARCHAR, table_name VARCHAR, source VARCHAR,
               instance VARCHAR, database_oid BIGINT, table_oid BIGINT, lake_table_uuid UUID);
             CREATE TABLE IF NOT EXISTS {columns} (schema_name VARCHAR, table_name VARCHAR, source VARCHAR,
               position INTEGER, column_name VARCHAR, column_type VARCHAR);",
            tables = table(db, "source_tables"),
            columns = table(db, "source_columns"),
        ),
    )
}

fn has_source_shapes(conn: &Connection, db: &str) -> Result<bool> {
    Ok(has_shape_tables(&super::catalog::kept_tables(conn, db)?))
}

/// True when the catalog schema's tables (`kept`, as `catalog::kept_tables` lists them) include the shape tables.
fn has_shape_tables(kept: &[String]) -> bool {
    ["source_tables", "source_columns"].iter().all(|t| kept.iter().any(|k| k == t))
}

/// The shapes of the model's table sources recorded at its last refresh; none in a catalog without the tables
/// (`kept`: the catalog schema's tables, already listed by the caller).
pub fn recorded(conn: &Connection, target: &Target, kept: &[String]) -> Result<Vec<SourceShape>> {
    let db = &target.database;
    if !has_shape_tables(kept) {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT source, instance, database_oid, table_oid, CAST(lake_table_uuid AS VARCHAR) FROM {}
         WHERE {THIS_MODEL} ORDER BY source",
        table(db, "source_tables")
    );
    let mut shapes = rows(conn, &sql, &[&target.schema, &target.table], |r| {
        let identity = match (r.get::<_, Option<String>>(1)?, r.get(2)?, r.get(3)?, r.get(4)?) {
            (Some(instance), Some(database_oid), Some(table_oid), _) => {
                TableIdentity::Attached { instance, database_oid, table_oid }
            }
            (_, _, _, Some(table_uuid)) => TableIdentity::Lake { table_uuid },
            _ => TableIdentity::Unknown,
        };
        Ok(SourceShape { relation: r.get(0)?, identity, columns: Vec::new() })
    })?;
    let sql = format!(
        "SELECT source, column_name, column_type FROM {} WHERE {THIS_MODEL} ORDER BY source, position",
        table(db, "source_columns")
    );
    let columns = rows(conn, &sql, &[&target.schema, &target.table], |r| {
        Ok((r.get::<_, String>(0)?, Column { name: r.get(1)?, type_name: r.get(2)? }))
    })?;
    for (source, column) in columns {
        if let Some(shape) = shapes.iter_mut().find(|s| s.relation == source) {
            shape.columns.push(column);
        }
    }
    Ok(shapes)
}

/// Replaces the model's recorded source shapes with `shapes`, as a refresh found them: one INSERT per table, so a
/// catalog in a DuckLake gets one data file each, not one per column.
pub fn save(conn: &Connection, target: &Target, shapes: &[SourceShape]) -> Result<()> {
    ensure(conn, &target.database)?;
    remove(conn, target)?;
    let text = |v: Option<&str>| v.map(literal).unwrap_or_else(|| "NULL".into());
    let number = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_else(|| "NULL".into());
    let model = format!("{}, {}", literal(&target.schema), literal(&target.table));
    let (mut tables, mut columns) = (Vec::new(), Vec::new());
    for shape in shapes {
        let (instance, database_oid, table_oid, uuid) = match &shape.identity {
            TableIdentity::Attached { instance, database_oid, table_oid } => {
                (Some(instance.as_str()), Some(*database_oid), Some(*table_oid), None)
            }
            TableIdentity::Lake { table_uuid } => (None, None, None, Some(table_uuid.as_str())),
            TableIdentity::Unknown => (None, None, None, None),
        };
        let source = literal(&shape.relation);
        tables.push(format!(
            "({model}, {source}, {}, {}, {}, CAST({} AS UUID))",
            text(instance),
            number(database_oid),
            number(table_oid),
            text(uuid)
        ));
        for (i, c) in shape.columns.iter().enumerate() {
            let (name, ty) = (literal(&c.name), literal(&c.type_name));
            columns.push(format!("({model}, {source}, {}, {name}, {ty})", i + 1));
        }
    }
    for (name, rows) in [("source_tables", tables), ("source_columns", columns)] {
        if !rows.is_empty() {
            let sql = format!("INSERT INTO {} VALUES {}", table(&target.database, name), rows.join(", "));
            batch(conn, &sql)?;
        }
    }
    Ok(())
}

pub fn remove(conn: &Connection, target: &Target) -> Result<()> {
    if !has_source_shapes(conn, &target.database)? {
        return Ok(());
    }
    for name in ["source_tables", "source_columns"] {
        conn.execute(
            &format!("DELETE FROM {} WHERE {THIS_MODEL}", table(&target.database, name)),
            duckdb::params![target.schema, target.table],
        )
        .map_err(|e| sql_error("removing the recorded shapes of the sources", e))?;
    }
    Ok(())
}

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
