//! What `strategy := 'auto'` decides beyond the options it was given: a model reading only DuckLake tables reads
//! their change feeds, with the unique key its query's shape gives when none was passed; a model reading only
//! models reads their recorded changes.

use crate::model::{ModelDef, Source, Strategy};

/// `strategy := 'auto'` with a unique_key and neither time_column nor sources, for a query that reads only models
/// (`relations` as written, and which of them are models of its database): their refreshes record what they change,
/// so the model reads those changes as if declared `{'m': 'changes'}`. The reason says what was decided, or why not.
pub fn changes_sources(mut def: ModelDef, relations: &[String], models: &[String]) -> ModelDef {
    let asked = asked(&def);
    if !asked || def.unique_key.is_empty() || relations.is_empty() {
        return def;
    }
    let query = crate::placeholders::bindable(&def.query);
    if let Some(table) = relations.iter().find(|r| !models.contains(r)) {
        if !models.is_empty() {
            // Only a declaration incremental_create would accept is suggested.
            let named: Vec<crate::analysis::SourceRows> = relations
                .iter()
                .map(|r| {
                    crate::analysis::SourceRows::whole(r, &crate::quote::qualified(&r.split('.').collect::<Vec<_>>()))
                })
                .collect();
            match crate::analysis::keyed(&query, &def.unique_key, &named, "k") {
                Ok(_) => def.strategy_reason.push_str(&format!(
                    "; to refresh only the keys that changed, declare sources, e.g. {{'{table}': 'updated_at', '{}': 'changes'}}",
                    models[0]
                )),
                Err(why) => def.strategy_reason.push_str(&format!(
                    "; the models it reads record their changes, but the query cannot be refreshed by key ({why})"
                )),
            }
        }
        return def;
    }
    let sources: Vec<Source> = relations
        .iter()
        .map(|r| Source { relation: r.clone(), kind: crate::model::Kind::Changes(Default::default()) })
        .collect();
    let named: Vec<crate::analysis::SourceRows> =
        sources.iter().map(|s| crate::analysis::SourceRows::whole(&s.relation, &s.sql_name())).collect();
    match crate::analysis::keyed(&query, &def.unique_key, &named, "k") {
        Ok(_) => {
            def.strategy = Strategy::Merge;
            def.strategy_reason = format!(
                "auto: reads only models ({}), whose refreshes record the rows they change, and has a unique_key, so the keys those rows reach are recomputed and merged",
                relations.join(", ")
            );
            def.sources = sources;
            def.sources_inferred = true;
        }
        Err(why) => def.strategy_reason.push_str(&format!(
            "; the models it reads record their changes, but the query cannot be refreshed by key ({why})"
        )),
    }
    def
}

/// `strategy := 'auto'` with neither time_column nor sources, for a query whose every relation (`relations`, as
/// written) is a table of a DuckLake (`lake`): each is read through its change feed, keyed by the unique_key given
/// or the one the query's shape gives. None when the query does not qualify; then the other inferences apply.
pub fn feed_sources(mut def: ModelDef, relations: &[String], lake: &[String]) -> Option<ModelDef> {
    let asked = asked(&def);
    if !asked || relations.is_empty() || relations.iter().any(|r| !lake.contains(r)) {
        return None;
    }
    let query = crate::placeholders::bindable(&def.query);
    let (key, inferred) = match key_of(&def, &query) {
        Ok(found) => found,
        Err(why) => {
            def.strategy_reason.push_str(&format!(
                "; it reads only DuckLake tables, whose change feeds give the changed rows, but no unique key can be inferred from its query: {why}"
            ));
            return Some(def);
        }
    };
    let sources: Vec<Source> =
        relations.iter().map(|r| Source { relation: r.clone(), kind: crate::model::Kind::Feed }).collect();
    let named: Vec<crate::analysis::SourceRows> =
        sources.iter().map(|s| crate::analysis::SourceRows::whole(&s.relation, &s.sql_name())).collect();
    if let Err(why) = crate::analysis::keyed(&query, &key, &named, "k") {
        def.strategy_reason
            .push_str(&format!("; it reads only DuckLake tables, but the query cannot be refreshed by key ({why})"));
        return Some(def);
    }
    def.strategy = Strategy::Merge;
    def.strategy_reason = match key.is_empty() {
        false => format!(
            "auto: reads only DuckLake tables ({}) through their change feeds, with unique key ({}){}, so the keys their changed rows reach are recomputed and merged",
            relations.join(", "),
            key.join(", "),
            inferred
        ),
        true => format!(
            "auto: reads only DuckLake tables ({}) through their change feeds and {} when they changed",
            relations.join(", "),
            crate::analysis::whole(&query).unwrap_or(crate::analysis::Whole::OneRow).shape()
        ),
    };
    def.unique_key = key;
    def.sources = sources;
    def.sources_inferred = true;
    Some(def)
}

/// True when `'auto'` was asked for with neither time_column nor sources: what to read is then up to the inference.
fn asked(def: &ModelDef) -> bool {
    def.requested_strategy == "auto" && def.sources.is_empty() && def.time_column.is_none()
}

/// The unique key given, or the one the query's shape gives, with the words saying where it came from (empty when it
/// was given or is the empty key of a query recomputed whole); why not when there is none.
fn key_of(def: &ModelDef, query: &str) -> Result<(Vec<String>, &'static str), String> {
    if !def.unique_key.is_empty() {
        return Ok((def.unique_key.clone(), ""));
    }
    if crate::analysis::whole(query).is_some() {
        return Ok((Vec::new(), ""));
    }
    if let Some(key) = crate::analysis::inferred_key(query) {
        return Ok((key, " inferred from the query"));
    }
    match (crate::analysis::row_key(query, &def.column_names()), crate::analysis::partition_key(query)) {
        (Some(key), _) => Ok((key, " (every output column: the query keeps rows as they are, and equal rows are kept as often as it returns them)")),
        (None, Some(key)) => Ok((key, " (the PARTITION BY of its windows: a change recomputes the partitions it reaches)")),
        (None, None) => Err(crate::analysis::why_no_key(query)),
    }
}

/// `strategy := 'auto'` with neither time_column nor sources, for a query reading only plain tables (`relations`,
/// as written): nothing records their changes, so the reason says which `sources` declaration (with the key the
/// query gives) would refresh only what changed, or why the query cannot be refreshed by key.
pub fn suggest_sources(mut def: ModelDef, relations: &[String]) -> ModelDef {
    let asked = asked(&def);
    if !asked || relations.is_empty() {
        return def;
    }
    let query = crate::placeholders::bindable(&def.query);
    let (key, _) = match key_of(&def, &query) {
        Ok(found) => found,
        Err(why) => {
            def.strategy_reason.push_str(&format!(
                "; a refresh of only what changed needs a unique key, and none can be inferred from its query: {why}"
            ));
            return def;
        }
    };
    let named: Vec<crate::analysis::SourceRows> = relations
        .iter()
        .map(|r| crate::analysis::SourceRows::whole(r, &crate::quote::qualified(&r.split('.').collect::<Vec<_>>())))
        .collect();
    if let Err(why) = crate::analysis::keyed(&query, &key, &named, "k") {
        def.strategy_reason.push_str(&format!("; the query cannot be refreshed by key ({why})"));
        return def;
    }
    let listed: Vec<String> =
        relations.iter().map(|r| format!("{}: '<change column>'", crate::quote::literal(r))).collect();
    let key_arg = match (def.unique_key.is_empty(), key.is_empty()) {
        (true, false) => format!(", unique_key := {}", crate::quote::literal(&key.join(", "))),
        _ => String::new(),
    };
    def.strategy_reason.push_str(&format!(
        "; to refresh only the keys that changed, declare sources := {{{}}}{key_arg}, naming for each table a column \
         that grows with every insert and update (only you can promise one, so it is not guessed), or 'snapshot' to \
         compare a copy, which sees deletes too",
        listed.join(", ")
    ));
    def
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(query: &str, key: &[&str]) -> ModelDef {
        ModelDef::example("db", query, key)
    }

    const DAILY: &str = "SELECT day, sum(x) AS x FROM stg GROUP BY day";

    #[test]
    fn a_query_over_models_reads_their_changes() {
        let d = changes_sources(def(DAILY, &["day"]), &["stg".into()], &["stg".into()]);
        assert!(d.sources_inferred);
        assert_eq!(d.sources.len(), 1);
        assert!(matches!(d.sources[0].kind, crate::model::Kind::Changes(_)));
        assert!(d.strategy_reason.contains("reads only models (stg)"), "{}", d.strategy_reason);
    }

    #[test]
    fn nothing_is_inferred_without_a_key_or_with_a_table_or_declared_options() {
        let no_key = changes_sources(def(DAILY, &[]), &["stg".into()], &["stg".into()]);
        assert!(no_key.sources.is_empty());
        let q = "SELECT s.day, count(*) AS n FROM stg s JOIN raw r USING (id) GROUP BY s.day";
        let mixed = changes_sources(def(q, &["day"]), &["stg".into(), "raw".into()], &["stg".into()]);
        assert!(mixed.sources.is_empty());
        assert!(mixed.strategy_reason.contains("{'raw': 'updated_at', 'stg': 'changes'}"), "{}", mixed.strategy_reason);
        let mut timed = def(DAILY, &["day"]);
        timed.time_column = Some("day".into());
        assert!(changes_sources(timed, &["stg".into()], &["stg".into()]).sources.is_empty());
        let mut requested = def(DAILY, &["day"]);
        requested.requested_strategy = "merge".into();
        assert!(changes_sources(requested, &["stg".into()], &["stg".into()]).sources.is_empty());
    }

    #[test]
    fn a_query_not_refreshable_by_key_says_why() {
        let q = "SELECT day, sum(x) AS x FROM stg GROUP BY day ORDER BY day LIMIT 5";
        let d = changes_sources(def(q, &["day"]), &["stg".into()], &["stg".into()]);
        assert!(d.sources.is_empty());
        assert!(d.strategy_reason.contains("cannot be refreshed by key (it has LIMIT"), "{}", d.strategy_reason);
    }
}
