//! DuckDB glue: registers table functions over the C API; bind parses, init does the work, the scan emits rows.

mod entry;
mod exit;
mod values;

use std::collections::HashMap;
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use duckdb::ffi;

use crate::db::Pool;
use crate::error::{Error, Result};
use crate::options::ParamValue;
pub use values::{Cell, ColType, ParamType};

/// The session setting that makes a refresh whose window holds more than this share of the table a full rebuild.
pub const FULL_FRACTION: &str = "incremental_full_fraction";
const FULL_FRACTION_DEFAULT: f64 = 0.3;

/// What the caller's session says, read from its client context in bind.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The caller's `search_path` setting: set by `USE` or `SET search_path`, empty by default.
    pub search_path: String,
    /// `SET incremental_full_fraction`.
    pub full_fraction: f64,
}

/// The call's arguments; `None` where the caller passed NULL or left a named parameter out.
#[derive(Debug, Default)]
pub struct Params {
    /// The SQL function the parameters were passed to, for error messages.
    pub function: &'static str,
    pub positional: Vec<Option<ParamValue>>,
    pub named: HashMap<&'static str, ParamValue>,
}

impl Params {
    pub fn text(&self, index: usize) -> Option<String> {
        self.positional.get(index).cloned().flatten().map(|v| v.text())
    }

    pub fn named_text(&self, name: &str) -> Option<String> {
        self.named.get(name).map(|v| v.text())
    }

    /// A named boolean; declared as ANY so that a wrong value gets an error naming the parameter, not a bare cast
    /// error.
    pub fn flag(&self, name: &str, default: bool) -> Result<bool> {
        match self.named.get(name) {
            None => Ok(default),
            Some(ParamValue::Bool(b)) => Ok(*b),
            Some(ParamValue::Text(t)) if t.eq_ignore_ascii_case("true") => Ok(true),
            Some(ParamValue::Text(t)) if t.eq_ignore_ascii_case("false") => Ok(false),
            Some(other) => Err(Error::usage(format!(
                "{}: {name} must be true or false, not {}; pass {name} := true or {name} := false",
                self.function,
                other.shown()
            ))),
        }
    }
}

/// One SQL table function: its signature, a short bind, and a run with side effects.
pub trait SqlFunction: 'static {
    type Args: Send + Sync + 'static;
    const NAME: &'static str;
    const POSITIONAL: &'static [ParamType];
    const NAMED: &'static [(&'static str, ParamType)];
    fn columns() -> Vec<(&'static str, ColType)>;
    fn bind(params: &Params, caller: &Caller) -> Result<Self::Args>;
    fn run(args: &Self::Args, pool: &Pool) -> Result<Vec<Vec<Cell>>>;
}

/// Registers functions on a connection opened in the extension's entrypoint.
pub struct Registrar {
    con: ffi::duckdb_connection,
    pool: Arc<Pool>,
}

struct Cursor {
    rows: Vec<Vec<Cell>>,
    next: usize,
}

fn guarded<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(Error::usage("internal error (a panic); please report it")))
}

unsafe extern "C" fn drop_box<T>(ptr: *mut c_void) {
    if !ptr.is_null() {
        drop(Box::from_raw(ptr as *mut T));
    }
}

unsafe fn setting(ctx: ffi::duckdb_client_context, name: &str) -> Option<ParamValue> {
    let name = values::c_string(name);
    let mut scope: ffi::duckdb_config_option_scope = 0;
    values::take_param(ffi::duckdb_client_context_get_config_option(ctx, name.as_ptr(), &mut scope))
}

unsafe fn caller_of(info: ffi::duckdb_bind_info) -> Caller {
    let mut caller = Caller { search_path: String::new(), full_fraction: FULL_FRACTION_DEFAULT };
    let mut ctx: ffi::duckdb_client_context = std::ptr::null_mut();
    ffi::duckdb_table_function_get_client_context(info, &mut ctx);
    if ctx.is_null() {
        return caller;
    }
    caller.search_path = setting(ctx, "search_path").map(|v| v.text()).unwrap_or_default();
    if let Some(fraction) = setting(ctx, FULL_FRACTION).and_then(|v| v.text().parse::<f64>().ok()) {
        caller.full_fraction = fraction;
    }
    ffi::duckdb_destroy_client_context(&mut ctx);
    caller
}

unsafe fn params_of<F: SqlFunction>(info: ffi::duckdb_bind_info) -> Params {
    let positional =
        (0..F::POSITIONAL.len()).map(|i| values::take_param(ffi::duckdb_bind_get_parameter(info, i as u64))).collect();
    let mut named = HashMap::new();
    for (name, _) in F::NAMED {
        let c = values::c_string(name);
        if let Some(v) = values::take_param(ffi::duckdb_bind_get_named_parameter(info, c.as_ptr())) {
            named.insert(*name, v);
        }
    }
    Params { function: F::NAME, positional, named }
}

unsafe extern "C" fn bind<F: SqlFunction>(info: ffi::duckdb_bind_info) {
    let outcome = guarded(|| F::bind(&params_of::<F>(info), &caller_of(info)));
    match outcome {
        Ok(args) => {
            for (name, ty) in F::columns() {
                let mut t = values::logical_type(values::col_type_id(ty));
                let c = values::c_string(name);
                ffi::duckdb_bind_add_result_column(info, c.as_ptr(), t);
                ffi::duckdb_destroy_logical_type(&mut t);
            }
            ffi::duckdb_bind_set_bind_data(info, Box::into_raw(Box::new(args)).cast(), Some(drop_box::<F::Args>));
        }
        Err(e) => ffi::duckdb_bind_set_error(info, values::c_string(&e.to_string()).as_ptr()),
    }
}

unsafe extern "C" fn init<F: SqlFunction>(info: ffi::duckdb_init_info) {
    let args = &*(ffi::duckdb_init_get_bind_data(info) as *const F::Args);
    let pool = &*(ffi::duckdb_init_get_extra_info(info) as *const Arc<Pool>);
    ffi::duckdb_init_set_max_threads(info, 1);
    match guarded(|| F::run(args, pool)) {
        Ok(rows) => {
            let cursor = Box::new(Mutex::new(Cursor { rows, next: 0 }));
            ffi::duckdb_init_set_init_data(info, Box::into_raw(cursor).cast(), Some(drop_box::<Mutex<Cursor>>));
        }
        Err(e) => ffi::duckdb_init_set_error(info, values::c_string(&e.to_string()).as_ptr()),
    }
}

unsafe extern "C" fn scan(info: ffi::duckdb_function_info, output: ffi::duckdb_data_chunk) {
    let cursor = &*(ffi::duckdb_function_get_init_data(info) as *const Mutex<Cursor>);
    let Ok(mut cursor) = cursor.lock() else {
        ffi::duckdb_data_chunk_set_size(output, 0);
        return;
    };
    let capacity = ffi::duckdb_vector_size() as usize;
    let start = cursor.next;
    let end = (start + capacity).min(cursor.rows.len());
    for (row, values) in cursor.rows[start..end].iter().enumerate() {
        for (col, cell) in values.iter().enumerate() {
            values::write_cell(ffi::duckdb_data_chunk_get_vector(output, col as u64), row, cell);
        }
    }
    cursor.next = end;
    ffi::duckdb_data_chunk_set_size(output, (end - start) as u64);
}

impl Registrar {
    /// Registers `SET incremental_full_fraction = x` (a DOUBLE, default 0.3, per session).
    pub fn add_settings(&self) -> Result<()> {
        unsafe {
            let mut option = ffi::duckdb_create_config_option();
            let name = values::c_string(FULL_FRACTION);
            ffi::duckdb_config_option_set_name(option, name.as_ptr());
            let mut ty = values::logical_type(ffi::DUCKDB_TYPE_DUCKDB_TYPE_DOUBLE);
            ffi::duckdb_config_option_set_type(option, ty);
            ffi::duckdb_destroy_logical_type(&mut ty);
            let mut default = ffi::duckdb_create_double(FULL_FRACTION_DEFAULT);
            ffi::duckdb_config_option_set_default_value(option, default);
            ffi::duckdb_destroy_value(&mut default);
            ffi::duckdb_config_option_set_default_scope(
                option,
                ffi::duckdb_config_option_scope_DUCKDB_CONFIG_OPTION_SCOPE_SESSION,
            );
            let description = values::c_string(
                "incremental: a refresh touching more than this share of the table (or of a source) rebuilds it in full",
            );
            ffi::duckdb_config_option_set_description(option, description.as_ptr());
            let state = ffi::duckdb_register_config_option(self.con, option);
            ffi::duckdb_destroy_config_option(&mut option);
            if state != ffi::duckdb_state_DuckDBSuccess {
                return Err(Error::usage(format!("could not register the setting {FULL_FRACTION}")));
            }
        }
        Ok(())
    }

    pub fn add<F: SqlFunction>(&self) -> Result<()> {
        unsafe {
            let mut tf = ffi::duckdb_create_table_function();
            let name = values::c_string(F::NAME);
            ffi::duckdb_table_function_set_name(tf, name.as_ptr());
            for ty in F::POSITIONAL {
                let mut t = values::logical_type(values::param_type_id(*ty));
                ffi::duckdb_table_function_add_parameter(tf, t);
                ffi::duckdb_destroy_logical_type(&mut t);
            }
            for (pname, ty) in F::NAMED {
                let mut t = values::logical_type(values::param_type_id(*ty));
                let c = values::c_string(pname);
                ffi::duckdb_table_function_add_named_parameter(tf, c.as_ptr(), t);
                ffi::duckdb_destroy_logical_type(&mut t);
            }
            let extra = Box::into_raw(Box::new(self.pool.clone()));
            ffi::duckdb_table_function_set_extra_info(tf, extra.cast(), Some(drop_box::<Arc<Pool>>));
            ffi::duckdb_table_function_set_bind(tf, Some(bind::<F>));
            ffi::duckdb_table_function_set_init(tf, Some(init::<F>));
            ffi::duckdb_table_function_set_function(tf, Some(scan));
            let state = ffi::duckdb_register_table_function(self.con, tf);
            ffi::duckdb_destroy_table_function(&mut tf);
            if state != ffi::duckdb_state_DuckDBSuccess {
                return Err(Error::usage(format!("could not register function {}", F::NAME)));
            }
        }
        Ok(())
    }
}
