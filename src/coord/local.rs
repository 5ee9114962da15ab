//! Claims kept in this process, for a database only this process can write (a DuckDB file): the workers of one
//! process share them, as the refreshes of one process share the pool's model locks.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{Claim, Coordinator, Holder};
use crate::error::{Error, Result};

/// Claims by (database instance, model): one process can load the extension into several databases.
fn claims() -> &'static Mutex<HashMap<(String, String), Holder>> {
    static CLAIMS: OnceLock<Mutex<HashMap<(String, String), Holder>>> = OnceLock::new();
    CLAIMS.get_or_init(Mutex::default)
}

/// When each model's last refresh under a claim finished, by (database instance, model).
fn done() -> &'static Mutex<HashMap<(String, String), i64>> {
    static DONE: OnceLock<Mutex<HashMap<(String, String), i64>>> = OnceLock::new();
    DONE.get_or_init(Mutex::default)
}

fn now_us() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

fn ttl_us(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX)
}

/// The in-process coordinator of one database instance.
pub struct Local {
    instance: String,
}

impl Local {
    pub fn new(instance: &str) -> Local {
        Local { instance: instance.to_string() }
    }

    fn key(&self, model: &str) -> (String, String) {
        (self.instance.clone(), model.to_string())
    }
}

impl Coordinator for Local {
    fn claim(&self, model: &str, owner: &str, ttl: Duration) -> Result<Claim> {
        let mut all = claims().lock().map_err(|_| Error::Closed)?;
        let now = now_us();
        if let Some(h) = all.get(&self.key(model)).filter(|h| h.expires_us >= now) {
            return Ok(Claim::Held(h.clone()));
        }
        let holder = Holder { owner: owner.to_string(), since_us: now, expires_us: now.saturating_add(ttl_us(ttl)) };
        all.insert(self.key(model), holder);
        let last_done = done().lock().map_err(|_| Error::Closed)?.get(&self.key(model)).copied();
        Ok(Claim::Won { last_done })
    }

    fn renew(&self, model: &str, owner: &str, ttl: Duration) -> Result<bool> {
        let mut all = claims().lock().map_err(|_| Error::Closed)?;
        match all.get_mut(&self.key(model)).filter(|h| h.owner == owner) {
            Some(h) => {
                h.expires_us = now_us().saturating_add(ttl_us(ttl));
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn release(&self, model: &str, owner: &str, finished: bool) -> Result<bool> {
        let mut all = claims().lock().map_err(|_| Error::Closed)?;
        let key = self.key(model);
        if all.get(&key).is_some_and(|h| h.owner == owner) {
            all.remove(&key);
            if finished {
                let mut done = done().lock().map_err(|_| Error::Closed)?;
                // Strictly later than the value before, so two releases in one microsecond still differ.
                let last = done.get(&key).copied().unwrap_or(0);
                done.insert(key, now_us().max(last + 1));
            }
            return Ok(true);
        }
        Ok(false)
    }

    fn holder(&self, model: &str) -> Result<Option<Holder>> {
        let all = claims().lock().map_err(|_| Error::Closed)?;
        Ok(all.get(&self.key(model)).filter(|h| h.expires_us >= now_us()).cloned())
    }

    fn held(&self) -> Result<Vec<(String, Holder)>> {
        let all = claims().lock().map_err(|_| Error::Closed)?;
        let now = now_us();
        Ok(all
            .iter()
            .filter(|((instance, _), h)| *instance == self.instance && h.expires_us >= now)
            .map(|((_, model), h)| (model.clone(), h.clone()))
            .collect())
    }

    fn last_done(&self) -> Result<HashMap<String, i64>> {
        let done = done().lock().map_err(|_| Error::Closed)?;
        Ok(done
            .iter()
            .filter(|((instance, _), _)| *instance == self.instance)
            .map(|((_, model), at)| (model.clone(), *at))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_owner_at_a_time_and_release_by_owner_only() {
        let c = Local::new("test-instance-a");
        let ttl = Duration::from_secs(60);
        assert!(matches!(c.claim("m", "w1", ttl).unwrap(), Claim::Won { .. }));
        assert!(matches!(c.claim("m", "w2", ttl).unwrap(), Claim::Held(h) if h.owner == "w1"));
        assert_eq!(
            c.held().unwrap().iter().map(|(m, h)| (m.as_str(), h.owner.as_str())).collect::<Vec<_>>(),
            [("m", "w1")]
        );
        assert!(!c.release("m", "w2", true).unwrap());
        assert!(!c.renew("m", "w2", ttl).unwrap());
        assert!(c.renew("m", "w1", ttl).unwrap());
        assert!(c.last_done().unwrap().is_empty());
        assert!(c.release("m", "w1", true).unwrap());
        let first = c.last_done().unwrap()["m"];
        assert_eq!(c.holder("m").unwrap(), None);
        assert!(matches!(c.claim("m", "w2", ttl).unwrap(), Claim::Won { .. }));
        assert!(c.release("m", "w2", true).unwrap());
        assert!(c.last_done().unwrap()["m"] > first);
        assert!(matches!(c.claim("m", "w2", ttl).unwrap(), Claim::Won { .. }));
        assert!(c.release("m", "w2", false).unwrap());
        assert!(c.last_done().unwrap()["m"] > first);
        // Another database instance in the same process has claims of its own.
        assert!(matches!(Local::new("test-instance-b").claim("m", "w1", ttl).unwrap(), Claim::Won { .. }));
    }

    #[test]
    fn an_expired_claim_is_nobodys() {
        let c = Local::new("test-instance-c");
        assert!(matches!(c.claim("m", "w1", Duration::ZERO).unwrap(), Claim::Won { .. }));
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(c.holder("m").unwrap(), None);
        assert!(matches!(c.claim("m", "w2", Duration::from_secs(60)).unwrap(), Claim::Won { .. }));
        assert!(!c.renew("m", "w1", Duration::from_secs(60)).unwrap());
    }
}
