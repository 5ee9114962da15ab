//! Who refreshes which model: a claim on a model for an owner and a time to live, renewed while held, released by its owner.

pub mod hold;
pub mod leases;
pub mod local;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::Result;

/// Who holds a model, and since when (microseconds since the epoch, as the coordinator's clock reads them).
#[derive(Debug, Clone, PartialEq)]
pub struct Holder {
    pub owner: String,
    pub since_us: i64,
    pub expires_us: i64,
}

/// The answer to a claim.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The model is the caller's until the time to live runs out or it is released. `last_done` is when its last
    /// refresh under a claim finished (as `Coordinator::last_done` reads it), read by the claim itself.
    Won { last_done: Option<i64> },
    /// Someone else holds it and their claim has not expired.
    Held(Holder),
    /// Another claim raced this one; nothing is held, and trying again later is safe.
    Lost,
}

/// Exclusive claims on models by name. A claim on a free or expired model takes it; renewal and release succeed only
/// for the owner that holds it.
pub trait Coordinator: Send + Sync {
    /// Takes `model` for `owner` for `ttl` when it is free or its holder's time ran out.
    fn claim(&self, model: &str, owner: &str, ttl: Duration) -> Result<Claim>;
    /// Extends the owner's claim by `ttl` from now; false when the owner no longer holds the model.
    fn renew(&self, model: &str, owner: &str, ttl: Duration) -> Result<bool>;
    /// Lets go of the model if `owner` holds it; `done` records that a refresh finished now. False when not held.
    fn release(&self, model: &str, owner: &str, done: bool) -> Result<bool>;
    /// Who holds the model now, if anyone (an expired claim is nobody's).
    fn holder(&self, model: &str) -> Result<Option<Holder>>;
    /// Every model held now, with its holder.
    fn held(&self) -> Result<Vec<(String, Holder)>>;
    /// When each model's last refresh under a claim finished (a release with `done`), as the coordinator's clock
    /// reads it: a value that changed since a worker looked says another worker refreshed the model meanwhile.
    fn last_done(&self) -> Result<HashMap<String, i64>>;
}

/// Asked just before a refresh commits: the reason it must not (the claim it runs under was lost), or nothing.
#[derive(Clone, Default)]
pub struct Fence(Option<Arc<dyn Fn() -> Option<String> + Send + Sync>>);

impl Fence {
    pub fn new(check: impl Fn() -> Option<String> + Send + Sync + 'static) -> Fence {
        Fence(Some(Arc::new(check)))
    }

    /// Why the refresh must roll back instead of committing; `None` lets it commit.
    pub fn lost(&self) -> Option<String> {
        self.0.as_ref().and_then(|check| check())
    }
}

impl fmt::Debug for Fence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "Fence(checked)" } else { "Fence(none)" })
    }
}
