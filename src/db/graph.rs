//! Which registered models each model reads, from its SQL: the dependency graph of a pipeline.

use super::catalog::{self, Stored};
use super::Session;
use crate::analysis::source_relations;
use crate::error::{Error, Result};
use crate::model::Target;
use crate::names;
use crate::pipeline::Graph;
use crate::quote::ident;

fn same_target(a: &Target, b: &Target) -> bool {
    a.database.eq_ignore_ascii_case(&b.database)
        && a.schema.eq_ignore_ascii_case(&b.schema)
        && a.table.eq_ignore_ascii_case(&b.table)
}

/// The models among `all` that a query, bound with `search_path`, reads; a query the analysis cannot read has none.
pub fn reads(query: &str, search_path: &str, default_db: &str, all: &[Stored]) -> Vec<usize> {
    let Ok(relations) = source_relations("", query) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for parts in relations {
        let name = parts.iter().map(|p| ident(p)).collect::<Vec<_>>().join(".");
        let Ok(candidates) = names::candidates(&name, search_path, default_db) else {
            continue;
        };
        let model = candidates.iter().find_map(|c| all.iter().position(|m| same_target(&m.def.target, c)));
        if let Some(i) = model.filter(|i| !found.contains(i)) {
            found.push(i);
        }
    }
    found
}

/// The model among `all` that a relation (as SQL, e.g. `"main"."stg"`) names, resolved with `search_path`.
pub fn model_named<'a>(relation: &str, search_path: &str, default_db: &str, all: &'a [Stored]) -> Option<&'a Target> {
    let read = format!("SELECT * FROM {relation}");
    reads(&read, search_path, default_db, all).first().map(|&i| &all[i].def.target)
}

impl Session<'_> {
    /// Every model, and the graph of which reads which (a model reading its own table is not an edge).
    pub fn model_graph(&self) -> Result<(Vec<Stored>, Graph)> {
        let all = catalog::all(self.conn)?;
        let graph = self.graph_of(&all)?;
        Ok((all, graph))
    }

    /// The graph of which of `all` reads which.
    pub fn graph_of(&self, all: &[Stored]) -> Result<Graph> {
        let default_db = self.default_database()?;
        let reads = (0..all.len())
            .map(|i| {
                let def = &all[i].def;
                reads(&def.bindable_query(), &def.search_path, &default_db, all)
                    .into_iter()
                    .filter(|&j| j != i)
                    .collect()
            })
            .collect();
        Ok(Graph { reads })
    }

    /// The registered models a query reads that have not been built yet.
    pub fn unbuilt_models_read(&self, query: &str, search_path: &str) -> Result<Vec<String>> {
        let all = catalog::all(self.conn)?;
        let default_db = self.default_database()?;
        Ok(reads(query, search_path, &default_db, &all)
            .into_iter()
            .filter(|&i| !all[i].state.built)
            .map(|i| all[i].def.name())
            .collect())
    }
}

/// The error for models that read each other in a circle.
pub fn cycle_error(all: &[Stored], cycle: &[usize]) -> Error {
    let names = cycle.iter().map(|&i| all[i].def.name()).collect::<Vec<_>>().join(" -> ");
    Error::usage(format!(
        "models {names} read each other in a cycle, so none of them can be refreshed first; redefine one of them (incremental_create(..., replace := true)) to break the cycle"
    ))
}
