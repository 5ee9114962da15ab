//! `incremental`: a DuckDB extension for incremental models. This file only registers the SQL functions.

pub mod analysis;
pub mod coord;
pub mod db;
pub mod error;
pub mod functions;
pub mod glue;
pub mod infer;
pub mod model;
pub mod names;
pub mod options;
pub mod pipeline;
pub mod placeholders;
pub mod planner;
pub mod quote;

use functions::{create, drop, explain, history, models, refresh, refresh_all, verify, work};

/// Registers every SQL function of the extension.
pub fn register(r: &glue::Registrar) -> error::Result<()> {
    r.add::<create::Create>()?;
    r.add::<refresh::Refresh>()?;
    r.add::<refresh_all::RefreshAll>()?;
    r.add::<models::Models>()?;
    r.add::<history::History>()?;
    r.add::<explain::Explain>()?;
    r.add::<verify::Verify>()?;
    r.add::<drop::Drop>()?;
    r.add::<work::Work>()?;
    r.add_settings()?;
    Ok(())
}
