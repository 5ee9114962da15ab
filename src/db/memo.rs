//! What one load of the extension remembers between calls, so that asking again costs nothing: the attached
//! databases whose catalog layout was found current, the models a refresh found unchanged at a lake snapshot, and
//! each lake's models as last read.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use super::catalog::Run;
use super::seen::LakeSeen;
use crate::planner::unchanged::Seen;

#[derive(Default)]
pub struct Memo {
    /// Attached databases (by name, type and path) whose catalog needs no upgrade, and leases databases (by
    /// connection string) whose lease table and functions were set up.
    current: Mutex<HashSet<String>>,
    /// By model (its qualified name in lower case): where its last refresh found nothing to do, and what it said.
    unchanged: Mutex<HashMap<String, Unchanged>>,
    /// By lake (`database_key`): what the last read of all its models saw (see `seen`).
    lakes: Mutex<HashMap<String, LakeSeen>>,
}

/// A model's refresh that found nothing to do: where, and what it answered (its name as shown, and its run).
#[derive(Clone)]
pub struct Unchanged {
    pub seen: Seen,
    pub name: String,
    pub run: Run,
}

/// One attached database as `duckdb_databases()` lists it; a database detached and another attached under its name
/// is another key.
pub fn database_key(name: &str, kind: &str, path: &str) -> String {
    format!("{name}\u{0}{kind}\u{0}{path}")
}

impl Memo {
    pub fn is_current(&self, key: &str) -> bool {
        self.current.lock().is_ok_and(|c| c.contains(key))
    }

    pub fn set_current(&self, key: String) {
        if let Ok(mut c) = self.current.lock() {
            c.insert(key);
        }
    }

    pub fn unchanged(&self, model: &str) -> Option<Unchanged> {
        self.unchanged.lock().ok()?.get(model).cloned()
    }

    /// Remembers the model's no-op at `seen`, or forgets it (`None`) after anything else.
    pub fn set_unchanged(&self, model: &str, seen: Option<Unchanged>) {
        if let Ok(mut u) = self.unchanged.lock() {
            match seen {
                Some(s) => u.insert(model.to_string(), s),
                None => u.remove(model),
            };
        }
    }

    /// What the last read saw of a lake, taken out: a read on another connection meanwhile reads for itself.
    pub fn take_lake(&self, key: &str) -> Option<LakeSeen> {
        self.lakes.lock().ok()?.remove(key)
    }

    /// Runs `f` on what the last read saw of a lake, if that is kept.
    pub fn with_lake<R>(&self, key: &str, f: impl FnOnce(&mut LakeSeen) -> R) -> Option<R> {
        self.lakes.lock().ok()?.get_mut(key).map(f)
    }

    pub fn knows_lakes(&self) -> bool {
        self.lakes.lock().is_ok_and(|l| !l.is_empty())
    }

    pub fn put_lake(&self, key: String, seen: LakeSeen) {
        if let Ok(mut l) = self.lakes.lock() {
            l.insert(key, seen);
        }
    }
}
