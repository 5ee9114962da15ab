//! Connections opened at LOAD (the only moment the extension can open them) and released when the user's are gone:
//! by a watchdog while the process goes on, and by an exit hook (src/glue/exit.rs) when it ends.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use duckdb::{ffi, Connection, InterruptHandle};

use super::sql::sql_error;
use crate::error::{Error, Result};

const POOL_SIZE: usize = 4;
/// How soon a closed database is released: every 10 ms right after the extension was used (scripts close the
/// database right after their last refresh), slowing to 250 ms when idle, since each check is a query.
const WATCH_FAST: Duration = Duration::from_millis(10);
const WATCH_IDLE: Duration = Duration::from_millis(250);
/// How long exit waits for connections busy on another thread (a refresh still running when the process ends):
/// their statements are interrupted and rolled back meanwhile; after this, exit goes on without them.
const EXIT_WAIT: Duration = Duration::from_secs(2);
const EXIT_SLICE: Duration = Duration::from_millis(20);

/// A fixed set of connections to the database the extension was loaded into.
pub struct Pool {
    free: Mutex<Vec<Connection>>,
    returned: Condvar,
    /// One per connection, usable while another thread runs a statement on it.
    interrupts: Vec<Arc<InterruptHandle>>,
    /// Connections taken out of `free` and not yet back; changed only under its lock.
    lent: AtomicUsize,
    closed: AtomicBool,
    last_used: Mutex<Instant>,
    pub locks: ModelLocks,
    /// A random id of this load of the extension, that is of this database instance: DuckDB numbers tables afresh
    /// in every instance, so a table oid recorded with it is compared only with oids read under the same id.
    pub instance: String,
    /// The names of DuckDB's own functions, read once: a query calling only these uses no macro, so checking it
    /// needs no scan of `duckdb_functions()` (about 20 ms).
    pub builtins: Mutex<std::collections::HashSet<String>>,
    pub memo: super::memo::Memo,
}

/// Models being refreshed in this process: a second refresh of the same model waits for the first instead of
/// failing on a write-write conflict at commit.
#[derive(Default)]
pub struct ModelLocks {
    busy: Mutex<HashSet<String>>,
    released: Condvar,
}

/// Holds a model's lock until dropped.
pub struct ModelGuard<'a> {
    locks: &'a ModelLocks,
    key: String,
}

impl ModelLocks {
    pub fn lock(&self, key: String) -> Result<ModelGuard<'_>> {
        let mut busy = self.busy.lock().map_err(|_| Error::Closed)?;
        while busy.contains(&key) {
            busy = self.released.wait(busy).map_err(|_| Error::Closed)?;
        }
        busy.insert(key.clone());
        Ok(ModelGuard { locks: self, key })
    }
}

impl Drop for ModelGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut busy) = self.locks.busy.lock() {
            busy.remove(&self.key);
        }
        self.locks.released.notify_all();
    }
}

impl Pool {
    /// Opens the pool; `db` is only valid during the entrypoint.
    ///
    /// # Safety
    /// `db` must be the database handle DuckDB passed to the entrypoint.
    pub unsafe fn open(db: ffi::duckdb_database) -> Result<Pool> {
        let first = Connection::open_from_raw(db.cast()).map_err(|e| sql_error("opening a connection", e))?;
        let instance = super::sql::scalar::<String>(&first, "SELECT CAST(uuid() AS VARCHAR)", &[])?.unwrap_or_default();
        let mut conns = Vec::with_capacity(POOL_SIZE);
        for _ in 1..POOL_SIZE {
            conns.push(first.try_clone().map_err(|e| sql_error("opening a connection", e))?);
        }
        conns.push(first);
        let interrupts = conns.iter().map(Connection::interrupt_handle).collect();
        Ok(Pool {
            free: Mutex::new(conns),
            returned: Condvar::new(),
            interrupts,
            lent: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            last_used: Mutex::new(Instant::now()),
            locks: ModelLocks::default(),
            instance,
            builtins: Mutex::default(),
            memo: super::memo::Memo::default(),
        })
    }

    /// Runs `f` on a pool connection, waiting for one to be free.
    pub fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = {
            let mut free = self.free.lock().map_err(|_| Error::Closed)?;
            loop {
                if self.closed.load(Ordering::SeqCst) {
                    return Err(Error::Closed);
                }
                if let Some(c) = free.pop() {
                    self.lent.fetch_add(1, Ordering::SeqCst);
                    break c;
                }
                free = self.returned.wait(free).map_err(|_| Error::Closed)?;
            }
        };
        let outcome = f(&conn);
        if let Ok(mut last) = self.last_used.lock() {
            *last = Instant::now();
        }
        if let Ok(mut free) = self.free.lock() {
            free.push(conn);
            self.lent.fetch_sub(1, Ordering::SeqCst);
        }
        self.returned.notify_all();
        outcome
    }

    /// Watches the database's connection count; when only the pool's remain, the user has closed the
    /// database, so the pool lets go and the database can shut down (its file lock is released).
    pub fn start_watchdog(self: &Arc<Self>) {
        let pool = self.clone();
        std::thread::spawn(move || loop {
            std::thread::sleep(pool.watch_period());
            if pool.only_pool_connections_left() {
                pool.release();
                return;
            }
        });
    }

    /// The period grows with the time since the extension was last used: a twentieth of it, within bounds.
    fn watch_period(&self) -> Duration {
        let idle = self.last_used.lock().map(|t| t.elapsed()).unwrap_or(WATCH_IDLE);
        (idle / 20).clamp(WATCH_FAST, WATCH_IDLE)
    }

    fn only_pool_connections_left(&self) -> bool {
        let Ok(mut free) = self.free.try_lock() else {
            return false;
        };
        if free.len() < POOL_SIZE {
            return false;
        }
        let Some(conn) = free.last_mut() else {
            return false;
        };
        let count = conn
            .prepare_cached("SELECT count FROM duckdb_connection_count()")
            .and_then(|mut stmt| stmt.query_row([], |r| r.get::<_, u64>(0)));
        count.is_ok_and(|c| c as usize <= POOL_SIZE)
    }

    /// Closes the pool and drops its connections under the lock: dropping the last one shuts the database down
    /// (checkpoint, file lock), and the exit hook must not let the process end while the watchdog is doing that.
    fn release(&self) {
        self.closed.store(true, Ordering::SeqCst);
        if let Ok(mut free) = self.free.lock() {
            free.clear();
        }
        self.returned.notify_all();
    }

    /// Lets go of every connection as the process exits, so that the database shuts down as it does without the
    /// extension once the user's connections are gone. Connections a refresh on another thread is using are
    /// interrupted (its statements fail and roll back) and collected as they come back, for at most `EXIT_WAIT`;
    /// one still busy then is left alone rather than dropped under a running statement.
    pub fn release_at_exit(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let Ok(mut free) = self.free.lock() else {
            return;
        };
        free.clear();
        let deadline = Instant::now() + EXIT_WAIT;
        while self.lent.load(Ordering::SeqCst) > 0 {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            // Dropped connections' handles do nothing; a refresh runs several statements, so interrupt each.
            for handle in &self.interrupts {
                handle.interrupt();
            }
            free = match self.returned.wait_timeout(free, EXIT_SLICE.min(deadline - now)) {
                Ok((guard, _)) => guard,
                Err(_) => return,
            };
            free.clear();
        }
    }
}
