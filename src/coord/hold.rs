//! Holding a claim while a refresh runs: renewed every third of its time to live on a thread of its own, with a
//! fence that tells the refresh, just before it commits, whether the claim still surely holds.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::{Coordinator, Fence};
use crate::error::Result;

/// One claim being held: `who` names the holder in the message of a lost claim ("worker w1", "incremental_refresh").
pub struct Hold<'a> {
    pub coord: &'a dyn Coordinator,
    pub key: &'a str,
    pub owner: &'a str,
    pub who: String,
    /// What to do when the claim was lost, for the end of that message.
    pub hint: &'static str,
    pub ttl: Duration,
    /// When the claim was sent: it surely lasts `ttl` from then.
    pub claimed: Instant,
}

impl Hold<'_> {
    /// Runs `work` with the fence its commit must ask while the claim is renewed, then releases the claim; `ok` says
    /// whether the outcome counts as a finished refresh. A release that fails leaves the claim to expire on its own.
    pub fn run<T>(&self, work: impl FnOnce(Fence) -> T, ok: impl Fn(&T) -> bool) -> T {
        let renewal = Arc::new(Renewal::new(self.ttl, self.claimed));
        let fence = {
            let (renewal, who, hint) = (renewal.clone(), self.who.clone(), self.hint);
            Fence::new(move || renewal.lost(&who, hint))
        };
        let outcome = std::thread::scope(|scope| {
            let (coord, owner, key, ttl, renewal) = (self.coord, self.owner, self.key, self.ttl, &renewal);
            scope.spawn(move || renewal.keep(|| coord.renew(key, owner, ttl)));
            let outcome = work(fence);
            renewal.stop();
            outcome
        });
        let _ = self.coord.release(self.key, self.owner, ok(&outcome));
        outcome
    }
}

/// The renewal of one claim while its refresh runs, and what the refresh asks before committing.
struct Renewal {
    ttl: Duration,
    /// The claim is certainly held until then: the last renewal was sent before it, and the claim lasts `ttl`.
    valid_until: Mutex<Instant>,
    lost: AtomicBool,
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl Renewal {
    fn new(ttl: Duration, claimed: Instant) -> Renewal {
        Renewal {
            ttl,
            valid_until: Mutex::new(claimed + ttl),
            lost: AtomicBool::new(false),
            stopped: Mutex::new(false),
            wake: Condvar::new(),
        }
    }

    /// Renews every third of the time to live until stopped; a renewal that fails or is refused marks the claim lost.
    fn keep(&self, renew: impl Fn() -> Result<bool>) {
        loop {
            // The lock is let go while renewing, so a refresh that ends meanwhile is not held up by it.
            {
                let Ok(stopped) = self.stopped.lock() else { break };
                let Ok((stopped, _)) = self.wake.wait_timeout_while(stopped, self.ttl / 3, |s| !*s) else { break };
                if *stopped {
                    return;
                }
            }
            let sent = Instant::now();
            match renew() {
                Ok(true) => {
                    if let Ok(mut until) = self.valid_until.lock() {
                        *until = sent + self.ttl;
                    }
                }
                _ => break,
            }
        }
        self.lost.store(true, Ordering::SeqCst);
    }

    fn stop(&self) {
        if let Ok(mut stopped) = self.stopped.lock() {
            *stopped = true;
        }
        self.wake.notify_all();
    }

    /// Why the refresh must not commit: the claim was lost, or less than a quarter of its time to live is left (a
    /// commit takes time, and another worker may take the model the moment the claim expires).
    fn lost(&self, who: &str, hint: &str) -> Option<String> {
        let left = self.valid_until.lock().map(|u| u.saturating_duration_since(Instant::now())).unwrap_or_default();
        if self.lost.load(Ordering::SeqCst) || left < self.ttl / 4 {
            return Some(format!(
                "{who} lost its claim on the model while refreshing it (the claim could not be renewed in time), so another worker may be refreshing it; this refresh was rolled back instead of committing{hint}"
            ));
        }
        None
    }
}
