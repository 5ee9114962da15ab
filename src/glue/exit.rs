//! Releases every pool when the process exits, so the database is closed and checkpointed as without the extension.
//!
//! The pool's connections keep the database instance alive; the watchdog lets go of them only after polling, and a
//! process that exits right after its last statement (a CLI script, python closing and exiting) never gets there, so
//! the database would be left unclosed with its `.wal`. glibc runs handlers registered with `atexit` from a shared
//! object at `exit` (and at `dlclose` of that object), after the hosts' own `main` or interpreter shutdown has closed
//! the user's connections and before DuckDB's static destructors, which were registered earlier. Dropping the pool's
//! connections there lets the last reference go, and DuckDB checkpoints as it shuts down.
//!
//! The release runs on a thread of its own, joined before exit goes on: `exit` destroys the calling thread's
//! `thread_local` objects before it runs these handlers, and DuckDB keeps some there (a cache of the global settings
//! that a checkpoint reads; shutting down on the exiting thread read the destroyed cache and crashed the CLI).
//!
//! This is the one process-wide list of pools: it holds weak references, so it keeps no database alive and each
//! function still reaches only its own database's pool through its extra info.

use std::os::raw::c_int;
use std::panic::catch_unwind;
use std::sync::{Arc, Mutex, Once, Weak};

use crate::db::Pool;

static POOLS: Mutex<Vec<Weak<Pool>>> = Mutex::new(Vec::new());
static HOOK: Once = Once::new();

extern "C" {
    fn atexit(hook: extern "C" fn()) -> c_int;
}

/// Adds `pool` to those released at exit; the first call registers the hook.
pub fn release_at_exit(pool: &Arc<Pool>) {
    if let Ok(mut pools) = POOLS.lock() {
        pools.retain(|p| p.strong_count() > 0);
        pools.push(Arc::downgrade(pool));
    }
    // SAFETY: `on_exit` is a plain function of this object; a failed registration only loses the clean exit.
    HOOK.call_once(|| unsafe {
        atexit(on_exit);
    });
}

extern "C" fn on_exit() {
    // A panic must not unwind into libc; a pool that cannot be released is left as it was (the database then stays
    // as a killed process leaves it, its `.wal` replayed at the next open).
    let _ = catch_unwind(|| {
        let pools: Vec<Arc<Pool>> = match POOLS.lock() {
            Ok(mut pools) => std::mem::take(&mut *pools).iter().filter_map(Weak::upgrade).collect(),
            Err(_) => return,
        };
        if pools.is_empty() {
            return;
        }
        let releasing = std::thread::Builder::new().name("incremental-exit".into()).spawn(move || {
            for pool in &pools {
                pool.release_at_exit();
            }
        });
        // Waits as long as DuckDB's own shutdown takes (the checkpoint), as exit does without the extension; the
        // release itself waits at most `EXIT_WAIT` for busy connections.
        if let Ok(thread) = releasing {
            let _ = thread.join();
        }
    });
}
