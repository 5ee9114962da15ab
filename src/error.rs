//! The one error type: each message says what failed, on which object, and what to do.

use thiserror::Error;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum Error {
    #[error("incremental: {0}")]
    Usage(String),

    #[error("incremental: model {model} does not exist; list models with SELECT name FROM incremental_models()")]
    UnknownModel { model: String },

    #[error("incremental: {relation} is a table or view, not a model; define a model that reads it with incremental_create('new_name', 'SELECT ... FROM {relation}'), or list models with SELECT name FROM incremental_models()")]
    NotAModel { relation: String },

    #[error("incremental: model {model} already exists; pass replace := true to redefine it")]
    ModelExists { model: String },

    #[error("incremental: table {table} already exists and was not created by incremental; choose another model name or drop/rename that table yourself")]
    NotOurTable { table: String },

    #[error("incremental: the query of model {model} is invalid: {detail}")]
    BadQuery { model: String, detail: String },

    #[error("incremental: model {model}: {detail}")]
    BadOption { model: String, detail: String },

    #[error("incremental: refresh of model {model} failed: {detail}; nothing was changed")]
    RefreshFailed { model: String, detail: String },

    #[error("incremental: model {model} was not refreshed: {holder} has been refreshing it since {since}, and it was still at it after a wait of {waited} s; nothing was changed. Call incremental_refresh again once that refresh is done, or pass wait_seconds := N to wait longer")]
    Held { model: String, holder: String, since: String, waited: String },

    #[error("incremental: {context}: {detail}")]
    Sql { context: String, detail: String },

    #[error("incremental: the database was closed; reopen it and LOAD incremental again")]
    Closed,
}

impl Error {
    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }

    pub fn option(model: &str, detail: impl Into<String>) -> Self {
        Error::BadOption { model: model.to_string(), detail: detail.into() }
    }
}
