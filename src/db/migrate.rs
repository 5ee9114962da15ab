//! The catalog's layout version (`_incremental.catalog_version`) and the migrations that bring an older catalog to
//! it, run once per database at the first call that finds it older, in a transaction of their own.

use duckdb::Connection;

use super::catalog::{table, VERSION};
use super::memo::{database_key, Memo};
use super::sql::{batch, rows, transaction};
use super::state::State;
use crate::error::{Error, Result};
use crate::model::{Column, ModelDef, SourceShape, TableIdentity, Target};
use crate::quote::literal;

/// Records that `db`'s catalog has the current layout (a new catalog is created with it).
pub fn stamp(conn: &Connection, db: &str) -> Result<()> {
    let version = table(db, "catalog_version");
    batch(
        conn,
        &format!(
            "CREATE TABLE IF NOT EXISTS {version} (version INTEGER);
             INSERT INTO {version} SELECT {VERSION} WHERE NOT EXISTS (SELECT 1 FROM {version});"
        ),
    )
}

/// The attached databases whose catalog is older than the current layout (`upgrade` brings each up to it); refuses
/// one made by a newer extension. A database found current is not asked again by this load of the extension: its own
/// writes keep the layout. A DuckDB database without a catalog is remembered too, since only this process can write
/// it; a lake without one is asked again, as another process may create one.
pub fn outdated(conn: &Connection, memo: &Memo) -> Result<Vec<String>> {
    let attached = rows(
        conn,
        "SELECT database_name, type, coalesce(path, '') FROM duckdb_databases() WHERE NOT internal",
        &[],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)),
    )?;
    let keys: Vec<(String, String, String)> =
        attached.into_iter().map(|(db, kind, path)| (database_key(&db, &kind, &path), db, kind)).collect();
    if keys.iter().all(|(key, _, _)| memo.is_current(key)) {
        return Ok(Vec::new());
    }
    let found = rows(
        conn,
        "SELECT database_name, bool_or(table_name = 'catalog_version') FROM duckdb_columns()
         WHERE schema_name = '_incremental' AND table_name IN ('models', 'catalog_version') GROUP BY 1",
        &[],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)),
    )?;
    let mut old = Vec::new();
    for (db, versioned) in &found {
        if *versioned {
            let v: Option<i32> =
                super::sql::scalar(conn, &format!("SELECT max(version) FROM {}", table(db, "catalog_version")), &[])?;
            if v.unwrap_or(VERSION) > VERSION {
                return Err(Error::usage(format!(
                    "the catalog of database {db} has layout version {}, newer than this extension's ({VERSION}); load a newer incremental extension",
                    v.unwrap_or_default()
                )));
            }
            continue;
        }
        old.push(db.clone());
    }
    for (key, db, kind) in keys {
        let has_catalog = found.iter().any(|(f, _)| f == &db);
        if (has_catalog || kind != "ducklake") && !old.contains(&db) {
            memo.set_current(key);
        }
    }
    Ok(old)
}

/// Brings `db`'s older catalog to the current layout, in a transaction of its own.
pub fn upgrade(conn: &Connection, db: &str) -> Result<()> {
    transaction(conn, || from_v1(conn, db)).map_err(|e| {
        Error::usage(format!(
            "the catalog of database {db} was made by an older version of the extension and could not be upgraded ({e}); open the database read-write once to upgrade it"
        ))
    })
}

/// Version 1 kept every model's state in `models` and the sources' shapes in two shared tables: each model's state
/// moves to its own table, and the history gains who ran each refresh and when it finished.
fn from_v1(conn: &Connection, db: &str) -> Result<()> {
    let models = table(db, "models");
    let old = rows(
        conn,
        &format!(
            "SELECT schema_name, table_name, definition, built, watermark, rebuild_reason, epoch_us(last_refresh_at),
             last_mode, status FROM {models}"
        ),
        &[],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<bool>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<i64>>(6)?,
                r.get::<_, Option<String>>(7)?,
                r.get::<_, Option<String>>(8)?,
            ))
        },
    )?;
    let kept = super::catalog::kept_tables(conn, db)?;
    let has_shapes = ["source_tables", "source_columns"].iter().all(|t| kept.iter().any(|k| k == t));
    for (schema, name, json, built, watermark, rebuild_reason, last_refresh_us, last_mode, status) in old {
        let target = Target { database: db.to_string(), schema, table: name };
        let def: ModelDef = serde_json::from_str(&json).map_err(|e| {
            Error::usage(format!("the stored definition of model {} cannot be read: {e}", target.display()))
        })?;
        let (watermark, source_marks) = match def.sources.is_empty() {
            true => (watermark, Default::default()),
            false => (None, watermark.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default()),
        };
        let source_shapes = if has_shapes { shapes_v1(conn, &target)? } else { Vec::new() };
        let state = State {
            built: built.unwrap_or(false),
            watermark,
            source_marks,
            source_shapes,
            rebuild_reason,
            last_refresh_us,
            last_mode,
            status: status.unwrap_or_else(|| "defined".into()),
            worker: None,
        };
        super::state::create(conn, &def.relocate(db).target, &crate::model::kept_mark_for(&target), &state)?;
    }
    let mut sql = String::new();
    for column in ["built", "watermark", "rebuild_reason", "last_refresh_at", "last_mode", "status"] {
        sql.push_str(&format!("ALTER TABLE {models} DROP COLUMN IF EXISTS {column};\n"));
    }
    let history = table(db, "history");
    sql.push_str(&format!(
        "ALTER TABLE {history} ADD COLUMN IF NOT EXISTS finished_at TIMESTAMPTZ;
         ALTER TABLE {history} ADD COLUMN IF NOT EXISTS worker VARCHAR;
         DROP TABLE IF EXISTS {};
         DROP TABLE IF EXISTS {};",
        table(db, "source_tables"),
        table(db, "source_columns")
    ));
    batch(conn, &sql)?;
    stamp(conn, db)
}

/// A model's source shapes as version 1 recorded them.
fn shapes_v1(conn: &Connection, target: &Target) -> Result<Vec<SourceShape>> {
    let this = format!(
        "lower(schema_name) = lower({}) AND lower(table_name) = lower({})",
        literal(&target.schema),
        literal(&target.table)
    );
    let sql = format!(
        "SELECT source, instance, database_oid, table_oid, CAST(lake_table_uuid AS VARCHAR) FROM {} WHERE {this} ORDER BY source",
        table(&target.database, "source_tables")
    );
    let mut shapes = rows(conn, &sql, &[], |r| {
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
        "SELECT source, column_name, column_type FROM {} WHERE {this} ORDER BY source, position",
        table(&target.database, "source_columns")
    );
    let columns =
        rows(conn, &sql, &[], |r| Ok((r.get::<_, String>(0)?, Column { name: r.get(1)?, type_name: r.get(2)? })))?;
    for (source, column) in columns {
        if let Some(shape) = shapes.iter_mut().find(|s| s.relation == source) {
            shape.columns.push(column);
        }
    }
    Ok(shapes)
}
