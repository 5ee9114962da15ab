//! The changes a refresh records for the models that read this one with `'changes'`: every row it deletes (diff -1)
//! and every row it inserts (+1), gathered in a temp table and appended to each reader's log at the end, net of rows
//! deleted and inserted again unchanged.

use super::Step;
use crate::model::{is_changes_log_of, ModelDef, ModelState};
use crate::quote::{column_list, ident, qualified};

/// The column of a log that says whether the row was deleted (-1) or inserted (+1).
pub const DIFF: &str = "__incremental_diff";
const GATHERED: &str = "\"temp\".\"main\".\"__incremental_log\"";
const NET: &str = "\"temp\".\"main\".\"__incremental_net\"";

/// Writes the rows a refresh deletes and inserts to the logs of the models reading it; with no such logs, no step.
pub struct Recorder {
    logs: Vec<String>,
    columns: String,
}

impl Recorder {
    /// The logs kept for this model's readers: those named after it in its catalog schema.
    pub fn new(def: &ModelDef, state: &ModelState) -> Recorder {
        let logs = state
            .kept_tables
            .iter()
            .filter(|name| is_changes_log_of(name, &def.target))
            .map(|name| qualified(&[&def.target.database, "_incremental", name]))
            .collect();
        Recorder { logs, columns: column_list(&def.column_names(), None) }
    }

    pub fn count(&self) -> usize {
        self.logs.len()
    }

    fn steps(&self, make: impl FnOnce() -> Vec<Step>) -> Vec<Step> {
        if self.logs.is_empty() {
            return Vec::new();
        }
        make()
    }

    /// An empty gathering table with the model's columns, taken from `like` (a table holding them).
    pub fn start(&self, like: &str) -> Vec<Step> {
        self.steps(|| {
            vec![Step::Run(format!(
                "CREATE TEMP TABLE {GATHERED} AS SELECT {}, CAST(NULL AS TINYINT) AS {} FROM {like} LIMIT 0",
                self.columns,
                ident(DIFF)
            ))]
        })
    }

    /// Gathers `rows` (a query with the model's columns) as deleted (`-1`) or inserted (`1`).
    pub fn rows(&self, rows: &str, diff: i8) -> Vec<Step> {
        self.steps(|| {
            vec![Step::Run(format!(
                "INSERT INTO {GATHERED} SELECT {cols}, {diff} FROM ({rows}) AS r",
                cols = self.columns
            ))]
        })
    }

    /// Appends what was gathered to every reader's log, netted per distinct row: a key recomputed to the same values,
    /// or a window row written again, reaches no reader. A net of n copies is written as n rows.
    pub fn finish(&self) -> Vec<Step> {
        self.steps(|| {
            let (cols, n) = (&self.columns, ident("__incremental_n"));
            let mut steps = vec![Step::Run(format!(
                "CREATE TEMP TABLE {NET} AS SELECT {cols}, CAST(sign({n}) AS TINYINT) AS {diff} FROM \
                 (SELECT {cols}, {n}, unnest(range(abs({n}))) FROM \
                 (SELECT {cols}, CAST(sum({diff}) AS BIGINT) AS {n} FROM {GATHERED} GROUP BY ALL) AS g WHERE {n} <> 0) AS u",
                diff = ident(DIFF)
            ))];
            steps.extend(self.logs.iter().map(|log| Step::Run(format!("INSERT INTO {log} SELECT * FROM {NET}"))));
            steps.push(Step::Run(format!("DROP TABLE {GATHERED}")));
            steps.push(Step::Run(format!("DROP TABLE {NET}")));
            steps
        })
    }

    /// Drops the readers' logs when this refresh cannot say what it changed (the table was replaced by one with
    /// other columns, or did not exist): each reader then rebuilds, and says why.
    pub fn forget(&self) -> Vec<Step> {
        self.steps(|| self.logs.iter().map(|log| Step::Run(format!("DROP TABLE IF EXISTS {log}"))).collect())
    }
}
