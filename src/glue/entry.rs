//! The C entrypoint DuckDB calls on LOAD: opens the connection pool, then registers the functions.

use std::sync::Arc;

use duckdb::ffi;

use super::Registrar;
use crate::db::Pool;
use crate::error::{Error, Result};

/// The C API version the binary is built against: the oldest one every supported host provides.
const C_API_VERSION: &str = "v1.2.0";

unsafe fn init(info: ffi::duckdb_extension_info, access: *const ffi::duckdb_extension_access) -> Result<bool> {
    let have_api = ffi::duckdb_rs_extension_api_init(info, access, C_API_VERSION).map_err(Error::usage)?;
    if !have_api {
        return Ok(false);
    }
    let get_database = (*access).get_database.ok_or_else(|| Error::usage("the host gave no database handle"))?;
    let db_ptr = get_database(info);
    if db_ptr.is_null() {
        return Ok(false);
    }
    let db = *db_ptr;
    let pool = Arc::new(Pool::open(db)?);
    super::exit::release_at_exit(&pool);
    let mut con: ffi::duckdb_connection = std::ptr::null_mut();
    if ffi::duckdb_connect(db, &mut con) != ffi::duckdb_state_DuckDBSuccess {
        return Err(Error::usage("could not open a connection to register functions"));
    }
    let registrar = Registrar { con, pool: pool.clone() };
    let registered = crate::register(&registrar);
    ffi::duckdb_disconnect(&mut con);
    registered?;
    pool.start_watchdog();
    Ok(true)
}

/// # Safety
/// Called by DuckDB with valid extension info and access pointers.
#[no_mangle]
pub unsafe extern "C" fn incremental_init_c_api(
    info: ffi::duckdb_extension_info,
    access: *const ffi::duckdb_extension_access,
) -> bool {
    let outcome = std::panic::catch_unwind(|| init(info, access))
        .unwrap_or_else(|_| Err(Error::usage("the extension panicked while loading")));
    match outcome {
        Ok(loaded) => loaded,
        Err(e) => {
            if let Some(set_error) = (*access).set_error {
                let msg = super::values::c_string(&e.to_string());
                set_error(info, msg.as_ptr());
            }
            false
        }
    }
}
