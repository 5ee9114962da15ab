//! `incremental`: a DuckDB extension for incremental models. This file only registers the SQL functions.

pub mod db;
pub mod error;
pub mod functions;
pub mod glue;
pub mod model;
pub mod names;
pub mod options;
pub mod planner;
pub mod quote;

use functions::{create, drop, explain, history, models, refresh, verify};

/// Registers every SQL function of the extension.
pub fn register(r: &glue::Registrar) -> error::Result<()> {
    r.add::<create::Create>()?;
    r.add::<refresh::Refresh>()?;
    r.add::<models::Models>()?;
    r.add::<history::History>()?;
    r.add::<explain::Explain>()?;
    r.add::<verify::Verify>()?;
    r.add::<drop::Drop>()?;
    Ok(())
}
