//! Conversions between DuckDB's C values and the extension's parameter and result types.

use std::ffi::{c_char, CStr, CString};

use duckdb::ffi;

use crate::options::ParamValue;

/// The type of a parameter as declared to DuckDB.
#[derive(Debug, Clone, Copy)]
pub enum ParamType {
    Varchar,
    Boolean,
    /// Any type: the function inspects what it got (an INTERVAL or a number, a string or a list).
    Any,
}

/// The type of a result column.
#[derive(Debug, Clone, Copy)]
pub enum ColType {
    Varchar,
    BigInt,
    Boolean,
    Double,
    TimestampTz,
}

/// One result value.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Text(String),
    Int(i64),
    Bool(bool),
    Double(f64),
    /// Microseconds since the epoch.
    Micros(i64),
}

impl From<Option<String>> for Cell {
    fn from(v: Option<String>) -> Self {
        v.map(Cell::Text).unwrap_or(Cell::Null)
    }
}

impl From<String> for Cell {
    fn from(v: String) -> Self {
        Cell::Text(v)
    }
}

impl From<&str> for Cell {
    fn from(v: &str) -> Self {
        Cell::Text(v.to_string())
    }
}

pub(crate) unsafe fn logical_type(id: ffi::DUCKDB_TYPE) -> ffi::duckdb_logical_type {
    ffi::duckdb_create_logical_type(id)
}

pub(crate) fn param_type_id(t: ParamType) -> ffi::DUCKDB_TYPE {
    match t {
        ParamType::Varchar => ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR,
        ParamType::Boolean => ffi::DUCKDB_TYPE_DUCKDB_TYPE_BOOLEAN,
        ParamType::Any => ffi::DUCKDB_TYPE_DUCKDB_TYPE_ANY,
    }
}

pub(crate) fn col_type_id(t: ColType) -> ffi::DUCKDB_TYPE {
    match t {
        ColType::Varchar => ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR,
        ColType::BigInt => ffi::DUCKDB_TYPE_DUCKDB_TYPE_BIGINT,
        ColType::Boolean => ffi::DUCKDB_TYPE_DUCKDB_TYPE_BOOLEAN,
        ColType::Double => ffi::DUCKDB_TYPE_DUCKDB_TYPE_DOUBLE,
        ColType::TimestampTz => ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_TZ,
    }
}

pub(crate) fn c_string(text: &str) -> CString {
    CString::new(text.replace('\0', " ")).unwrap_or_default()
}

/// The text DuckDB renders for a value; frees the C string.
unsafe fn value_text(value: ffi::duckdb_value) -> String {
    let ptr: *mut c_char = ffi::duckdb_get_varchar(value);
    if ptr.is_null() {
        return String::new();
    }
    let text = CStr::from_ptr(ptr).to_string_lossy().into_owned();
    ffi::duckdb_free(ptr.cast());
    text
}

/// Converts a parameter value and destroys it; SQL NULL becomes `None`.
pub(crate) unsafe fn take_param(mut value: ffi::duckdb_value) -> Option<ParamValue> {
    if value.is_null() {
        return None;
    }
    let converted = convert(value);
    ffi::duckdb_destroy_value(&mut value);
    converted
}

unsafe fn convert(value: ffi::duckdb_value) -> Option<ParamValue> {
    if ffi::duckdb_is_null_value(value) {
        return None;
    }
    let type_id = ffi::duckdb_get_type_id(ffi::duckdb_get_value_type(value));
    Some(match type_id {
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR => ParamValue::Text(value_text(value)),
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_BOOLEAN => ParamValue::Bool(ffi::duckdb_get_bool(value)),
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_TINYINT
        | ffi::DUCKDB_TYPE_DUCKDB_TYPE_SMALLINT
        | ffi::DUCKDB_TYPE_DUCKDB_TYPE_INTEGER
        | ffi::DUCKDB_TYPE_DUCKDB_TYPE_BIGINT
        | ffi::DUCKDB_TYPE_DUCKDB_TYPE_UTINYINT
        | ffi::DUCKDB_TYPE_DUCKDB_TYPE_USMALLINT
        | ffi::DUCKDB_TYPE_DUCKDB_TYPE_UINTEGER => ParamValue::Integer(ffi::duckdb_get_int64(value)),
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_INTERVAL => ParamValue::Interval(value_text(value)),
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_LIST => {
            let n = ffi::duckdb_get_list_size(value);
            let items =
                (0..n).map(|i| take_param(ffi::duckdb_get_list_child(value, i)).unwrap_or(ParamValue::Null)).collect();
            ParamValue::List(items)
        }
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_STRUCT => {
            let ty = ffi::duckdb_get_value_type(value);
            let n = ffi::duckdb_struct_type_child_count(ty);
            let fields = (0..n)
                .map(|i| {
                    let name_ptr = ffi::duckdb_struct_type_child_name(ty, i);
                    let name = CStr::from_ptr(name_ptr).to_string_lossy().into_owned();
                    ffi::duckdb_free(name_ptr.cast());
                    (name, take_param(ffi::duckdb_get_struct_child(value, i)).unwrap_or(ParamValue::Null))
                })
                .collect();
            ParamValue::Struct(fields)
        }
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_MAP => {
            let n = ffi::duckdb_get_map_size(value);
            let fields = (0..n)
                .filter_map(|i| {
                    let key = take_param(ffi::duckdb_get_map_key(value, i))?.text();
                    Some((key, take_param(ffi::duckdb_get_map_value(value, i)).unwrap_or(ParamValue::Null)))
                })
                .collect();
            ParamValue::Struct(fields)
        }
        _ => ParamValue::Other(value_text(value)),
    })
}

/// Writes one cell into row `row` of a flat output vector of the matching type.
pub(crate) unsafe fn write_cell(vector: ffi::duckdb_vector, row: usize, cell: &Cell) {
    let data = ffi::duckdb_vector_get_data(vector);
    match cell {
        Cell::Null => {
            ffi::duckdb_vector_ensure_validity_writable(vector);
            ffi::duckdb_validity_set_row_invalid(ffi::duckdb_vector_get_validity(vector), row as u64);
        }
        Cell::Text(s) => {
            ffi::duckdb_vector_assign_string_element_len(vector, row as u64, s.as_ptr().cast(), s.len() as u64)
        }
        Cell::Int(v) | Cell::Micros(v) => *(data as *mut i64).add(row) = *v,
        Cell::Bool(v) => *(data as *mut bool).add(row) = *v,
        Cell::Double(v) => *(data as *mut f64).add(row) = *v,
    }
}
