//! What a model is: its definition as stored in the catalog, and the state a refresh starts from.

use serde::{Deserialize, Serialize};

pub use crate::planner::sources::Kind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Strategy {
    Append,
    Merge,
    DeleteInsert,
    Full,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Append => "append",
            Strategy::Merge => "merge",
            Strategy::DeleteInsert => "delete+insert",
            Strategy::Full => "full",
        }
    }
}

/// The kind of value in the time column, which decides how a lookback is subtracted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimeKind {
    Date,
    Timestamp,
    Integer,
}

impl TimeKind {
    /// The kind for a DuckDB column type name, or None when the type cannot serve as a time column.
    pub fn of_type(type_name: &str) -> Option<TimeKind> {
        let t = type_name.to_ascii_uppercase();
        match t.as_str() {
            "DATE" => Some(TimeKind::Date),
            "TIMESTAMP" | "TIMESTAMP WITH TIME ZONE" | "TIMESTAMP_S" | "TIMESTAMP_MS" | "TIMESTAMP_NS" => {
                Some(TimeKind::Timestamp)
            }
            "TINYINT" | "SMALLINT" | "INTEGER" | "BIGINT" | "HUGEINT" | "UTINYINT" | "USMALLINT" | "UINTEGER"
            | "UBIGINT" => Some(TimeKind::Integer),
            _ => None,
        }
    }
}

/// How far behind the watermark a refresh re-reads: an interval for dates and timestamps, a number for integers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Lookback {
    Interval(String),
    Integer(i64),
}

impl Lookback {
    pub fn display(&self) -> String {
        match self {
            Lookback::Interval(text) => text.clone(),
            Lookback::Integer(n) => n.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub type_name: String,
}

/// A table the query reads and how its changed rows are found (see `planner::sources`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredSource")]
pub struct Source {
    /// The relation as the query names it.
    pub relation: String,
    pub kind: Kind,
}

/// A source as stored: the current form, or the older one whose `column` held either a change column or one of the
/// words `snapshot` and `changes`.
#[derive(Deserialize)]
#[serde(untagged)]
enum StoredSource {
    Current { relation: String, kind: Kind },
    Flat { relation: String, column: String, type_name: Option<String>, upstream: Option<Target> },
}

impl From<StoredSource> for Source {
    fn from(stored: StoredSource) -> Source {
        match stored {
            StoredSource::Current { relation, kind } => Source { relation, kind },
            StoredSource::Flat { relation, column, type_name, upstream } => {
                let kind = match Kind::declared(&column) {
                    Kind::Watermark(w) => Kind::Watermark(crate::planner::sources::Watermark { type_name, ..w }),
                    Kind::Changes(_) => Kind::Changes(crate::planner::sources::Upstream { upstream }),
                    other => other,
                };
                Source { relation, kind }
            }
        }
    }
}

impl Source {
    /// The relation with each dotted part quoted.
    pub fn sql_name(&self) -> String {
        let parts: Vec<&str> = self.relation.split('.').map(str::trim).collect();
        crate::quote::qualified(&parts)
    }

    pub fn upstream(&self) -> Option<&Target> {
        match &self.kind {
            Kind::Changes(u) => u.upstream.as_ref(),
            _ => None,
        }
    }

    /// The name of the table the model keeps in its catalog schema for this source, if its kind keeps one.
    pub fn kept_name(&self, model: &Target) -> Option<String> {
        crate::planner::sources::kept_name(self, model)
    }

    /// `kept_name`, qualified: the table lives in the catalog schema of the model's database.
    pub fn kept_table(&self, model: &Target) -> Option<String> {
        self.kept_name(model).map(|name| crate::quote::qualified(&[&model.database, "_incremental", &name]))
    }
}

/// How the logs that `upstream` writes begin: the quoted name makes the prefix unambiguous.
pub fn changes_log_prefix(upstream: &Target) -> String {
    format!("changes of {} for ", crate::quote::qualified(&[&upstream.schema, &upstream.table]))
}

/// True when `name` (a table of the catalog schema) is a log `upstream` writes for one of its readers.
pub fn is_changes_log_of(name: &str, upstream: &Target) -> bool {
    name.to_lowercase().starts_with(&changes_log_prefix(upstream).to_lowercase())
}

/// The log `upstream` writes its changes to for `consumer`; both live in one database, since a DuckDB transaction
/// writes to one database only.
pub fn changes_log_name(upstream: &Target, consumer: &Target) -> String {
    format!("{}{}", changes_log_prefix(upstream), crate::quote::qualified(&[&consumer.schema, &consumer.table]))
}

/// The mark of the tables kept for the model at `target` (see `ModelDef::kept_mark`).
pub fn kept_mark_for(target: &Target) -> String {
    format!("{KEPT_MARK_PREFIX}{}", target.display())
}

/// How every kept table's mark begins.
pub const KEPT_MARK_PREFIX: &str = "kept by the incremental extension for model ";

/// Where the model's table lives; the catalog lives in `database`.`_incremental`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Target {
    pub database: String,
    pub schema: String,
    pub table: String,
}

impl Target {
    /// `"database"."schema"."table"`: the table exactly, whatever the search_path.
    pub fn sql_name(&self) -> String {
        crate::quote::qualified(&[&self.database, &self.schema, &self.table])
    }

    /// The name users see and can pass back: the table name, prefixed by the schema when it is not `main`; a part
    /// with a dot, a double quote or surrounding blanks is double-quoted.
    pub fn display(&self) -> String {
        let part = |p: &str| {
            if p.contains(['.', '"']) || p.trim() != p {
                crate::quote::ident(p)
            } else {
                p.to_string()
            }
        };
        if self.schema == "main" {
            part(&self.table)
        } else {
            format!("{}.{}", part(&self.schema), part(&self.table))
        }
    }
}

/// A validated model definition, exactly as stored in the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelDef {
    pub target: Target,
    pub query: String,
    pub requested_strategy: String,
    pub strategy: Strategy,
    pub strategy_reason: String,
    pub unique_key: Vec<String>,
    pub time_column: Option<String>,
    pub time_kind: Option<TimeKind>,
    pub lookback: Option<Lookback>,
    pub start: Option<String>,
    pub columns: Vec<Column>,
    /// The creator's search_path, applied at every refresh so unqualified names resolve as they did.
    pub search_path: String,
    /// False while the query reads models not built yet: the options are checked against its columns at the
    /// first refresh.
    #[serde(default = "validated_default")]
    pub validated: bool,
    /// Declared with `sources := {...}`: the refresh recomputes the keys that these tables' changed rows reach.
    #[serde(default)]
    pub sources: Vec<Source>,
    /// The sources were not declared: `'auto'` found that the query reads only models, and reads their changes.
    #[serde(default)]
    pub sources_inferred: bool,
    /// How stale the model may become before `incremental_work` must refresh it.
    #[serde(default)]
    pub target_lag: Option<TargetLag>,
}

/// `target_lag := INTERVAL '...'` or `'downstream'`, as in Snowflake's dynamic tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TargetLag {
    /// At most this much behind its sources; `seconds` is the interval's length, read by DuckDB at create.
    Interval { text: String, seconds: f64 },
    /// Refreshed only when a model reading it is refreshed.
    Downstream,
}

impl TargetLag {
    pub fn display(&self) -> String {
        match self {
            TargetLag::Interval { text, .. } => text.clone(),
            TargetLag::Downstream => "downstream".into(),
        }
    }
}

fn validated_default() -> bool {
    true
}

#[cfg(test)]
impl ModelDef {
    /// A checked merge model of `query` at `database.main.m` with unique key `key` and no other option, for unit tests.
    pub fn example(database: &str, query: &str, key: &[&str]) -> ModelDef {
        ModelDef {
            target: Target { database: database.into(), schema: "main".into(), table: "m".into() },
            query: query.into(),
            requested_strategy: "auto".into(),
            strategy: Strategy::Merge,
            strategy_reason: "auto: unique_key given".into(),
            unique_key: key.iter().map(|k| k.to_string()).collect(),
            time_column: None,
            time_kind: None,
            lookback: None,
            start: None,
            columns: Vec::new(),
            search_path: String::new(),
            validated: true,
            sources: Vec::new(),
            sources_inferred: false,
            target_lag: None,
        }
    }
}

impl ModelDef {
    pub fn name(&self) -> String {
        self.target.display()
    }

    /// The definition as read from the catalog of database `db`: the model lives there, whatever that database was
    /// called when the model was defined (its file may have been copied or renamed since).
    pub fn relocate(mut self, db: &str) -> ModelDef {
        if self.target.database != db {
            self.search_path = crate::names::rename_database(&self.search_path, &self.target.database, db);
            for s in self.sources.iter_mut() {
                if let Kind::Changes(crate::planner::sources::Upstream { upstream: Some(up) }) = &mut s.kind {
                    up.database = db.to_string();
                }
            }
            self.target.database = db.to_string();
        }
        self
    }

    /// The comment the extension puts on the tables it builds; a table without it is never replaced or dropped.
    pub fn ownership_mark(&self) -> String {
        format!("incremental model {}: built and refreshed by the incremental extension", self.name())
    }

    /// The comment on the tables the extension keeps for this model in the catalog schema (snapshot copies, the
    /// logs its upstream models write for it): the catalog drops only tables carrying it.
    pub fn kept_mark(&self) -> String {
        kept_mark_for(&self.target)
    }

    /// The query with its placeholders set to NULL: it binds, so DuckDB and the analysis can read it.
    pub fn bindable_query(&self) -> String {
        crate::placeholders::bindable(&self.query)
    }

    pub fn column_names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.name.clone()).collect()
    }

    pub fn time_type(&self) -> Option<&str> {
        let tc = self.time_column.as_ref()?;
        self.columns.iter().find(|c| &c.name == tc).map(|c| c.type_name.as_str())
    }

    /// The refresh recomputes keys from changed rows of sources, and a key has many rows by design: the key is every
    /// output column, or the partition of the query's windows (see `crate::analysis::key_rows_repeat`).
    pub fn rows_repeat(&self) -> bool {
        !self.sources.is_empty()
            && self.time_column.is_none()
            && crate::analysis::key_rows_repeat(&self.query, &self.unique_key, &self.column_names())
    }

    /// The columns that are not part of the unique key: those whose change counts as an update.
    pub fn value_columns(&self) -> Vec<String> {
        self.columns.iter().filter(|c| !self.unique_key.contains(&c.name)).map(|c| c.name.clone()).collect()
    }
}

/// What the catalog and the database say before a refresh; the planner decides from this alone.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelState {
    /// The extension has built the table and it still exists.
    pub built: bool,
    /// A table with the target's name exists.
    pub table_exists: bool,
    /// The existing table's columns equal the definition's.
    pub columns_match: bool,
    /// The newest time column value the table holds (models with a time_column).
    pub watermark: Option<String>,
    /// Where each declared source was read up to, by relation (models with sources).
    pub source_marks: std::collections::BTreeMap<String, String>,
    /// Set when the definition changed and the next refresh must rebuild.
    pub rebuild_reason: Option<String>,
    /// The tables in the catalog schema of the model's database: snapshot copies and change logs.
    pub kept_tables: Vec<String>,
    /// The declared table sources (watermark and snapshot) as the database describes them now; a source that
    /// cannot be described (dropped) is left out, and the refresh then fails binding its query.
    pub source_shapes: Vec<SourceShape>,
    /// The same, as recorded at the last successful refresh; empty when none was recorded.
    pub recorded_shapes: Vec<SourceShape>,
    /// What the change feed of each DuckLake source says, by relation; a source that does not resolve to a table
    /// of an attached DuckLake is left out.
    pub feeds: std::collections::BTreeMap<String, FeedProbe>,
    /// The model's table is in a DuckLake, where every statement that reads it costs a round of catalog reads.
    pub target_in_lake: bool,
}

/// A DuckLake source's feed, read in the refresh's own transaction before planning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedProbe {
    /// The table as DuckLake names it: the attached catalog, its schema and the table.
    pub catalog: String,
    pub schema: String,
    pub table: String,
    /// The snapshot the refresh's transaction reads: what the refresh sees, and the mark it stores.
    pub current: i64,
    pub since: FeedSince,
    /// The rows ever inserted into the table and still in its files or inlined (DuckLake's `record_count`, which
    /// deletions do not lower): an upper bound on its size, for the cost choice. None when it could not be read.
    pub rows: Option<u64>,
    /// The table's id in the lake's metadata catalog, when its row there was found.
    pub table_id: Option<i64>,
}

/// What changed in a DuckLake source since the snapshot the last refresh read (`from`); `next_kept` says whether the
/// snapshot after it still exists (it can then start the range).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedSince {
    /// No snapshot was stored for it (a first build, or the source was declared another way before).
    NotRead,
    /// The stored snapshot was expired: it can no longer bound a range.
    Expired {
        from: i64,
    },
    Untouched,
    InsertsOnly {
        from: i64,
        next_kept: bool,
        /// Every insertion went to data files of its own (none inlined, none compacted), so the files' record
        /// counts in the metadata catalog count the inserted rows.
        in_files: bool,
    },
    Changed {
        from: i64,
        next_kept: bool,
    },
}

/// A declared source table's identity and columns in order, recorded at every refresh to see what changed since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceShape {
    /// The relation as the query names it (`Source::relation`).
    pub relation: String,
    pub identity: TableIdentity,
    pub columns: Vec<Column>,
}

/// What tells a table from one dropped and created again under its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TableIdentity {
    /// A table of a DuckDB database: DuckDB keeps its oid across ALTER TABLE and gives a new one to a table created
    /// again, but numbers every table afresh each time a database is attached, so two oids compare only when read
    /// in the same attachment: the same extension load (`instance`) and the same `database_oid`.
    Attached { instance: String, database_oid: i64, table_oid: i64 },
    /// A DuckLake table: its `table_uuid`, kept across ALTER TABLE and reopening, new for a table created again
    /// (DuckLake gives a table a new oid at every schema change, so its oid tells nothing).
    Lake { table_uuid: String },
    /// A view, or a table whose identity cannot be read: only its columns are compared.
    Unknown,
}

impl TableIdentity {
    /// True when both identities are known, comparable and different: the table was dropped and created again.
    pub fn replaced_by(&self, now: &TableIdentity) -> bool {
        match (self, now) {
            (
                TableIdentity::Attached { instance: i1, database_oid: d1, table_oid: t1 },
                TableIdentity::Attached { instance: i2, database_oid: d2, table_oid: t2 },
            ) => i1 == i2 && d1 == d2 && t1 != t2,
            (TableIdentity::Lake { table_uuid: a }, TableIdentity::Lake { table_uuid: b }) => a != b,
            _ => false,
        }
    }
}
