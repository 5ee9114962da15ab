//! Whether a model is due for a refresh, and how far behind its sources it is: from what its sources' feeds say
//! and its `target_lag`. Pure; `incremental_models()` shows it and `incremental_work` takes due models only.

use crate::model::TargetLag;

/// What is known of one model before deciding.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub built: bool,
    /// Whether something it reads changed since its last refresh: known for models whose sources are all DuckLake
    /// feeds, None (unknown without running its probe) for the others.
    pub pending: Option<bool>,
    /// The time its data is current as of: the commit time of the oldest snapshot it read, or its last refresh.
    pub data_us: Option<i64>,
    pub target_lag: Option<TargetLag>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Freshness {
    /// Seconds its data is behind now; 0 when nothing it reads changed.
    pub lag_seconds: Option<f64>,
    pub due: bool,
}

/// A lag is "about to be exceeded" once this share of it has passed, leaving the rest for the refresh itself.
const LAG_SHARE: f64 = 0.8;

/// Each model's freshness; `readers[i]` lists the models that read model `i`, which decide for a `'downstream'` lag.
pub fn decide(facts: &[Facts], readers: &[Vec<usize>], now_us: i64) -> Vec<Freshness> {
    let lag = |f: &Facts| match f.pending {
        Some(false) => Some(0.0),
        _ => f.data_us.map(|d| (now_us - d).max(0) as f64 / 1e6),
    };
    let mut out: Vec<Freshness> = facts
        .iter()
        .map(|f| {
            let lag_seconds = lag(f);
            let due = !f.built
                || match (f.pending, &f.target_lag) {
                    (Some(false), _) => false,
                    (_, None) => true,
                    (_, Some(TargetLag::Interval { seconds, .. })) => {
                        lag_seconds.is_none_or(|l| l >= seconds * LAG_SHARE)
                    }
                    (_, Some(TargetLag::Downstream)) => false,
                };
            Freshness { lag_seconds, due }
        })
        .collect();
    // A 'downstream' model is due when it has changes and a model reading it is due; chains settle in as many
    // rounds as they are long.
    for _ in 0..facts.len() {
        let mut changed = false;
        for (i, f) in facts.iter().enumerate() {
            let waiting = f.target_lag == Some(TargetLag::Downstream) && f.built && f.pending != Some(false);
            if waiting && !out[i].due && readers[i].iter().any(|&r| out[r].due) {
                out[i].due = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(pending: Option<bool>, data_s: i64, lag: Option<TargetLag>) -> Facts {
        Facts { built: true, pending, data_us: Some(data_s * 1_000_000), target_lag: lag }
    }

    #[test]
    fn due_when_changed_and_the_lag_is_near() {
        let minute = || Some(TargetLag::Interval { text: "1 minute".into(), seconds: 60.0 });
        let all = [
            facts(Some(false), 0, None),
            facts(Some(true), 990, None),
            facts(Some(true), 990, minute()),
            facts(Some(true), 940, minute()),
            facts(None, 999, None),
            Facts { built: false, pending: None, data_us: None, target_lag: None },
        ];
        let got = decide(&all, &vec![Vec::new(); all.len()], 1000 * 1_000_000);
        assert_eq!(got.iter().map(|f| f.due).collect::<Vec<_>>(), [false, true, false, true, true, true]);
        assert_eq!(got[0].lag_seconds, Some(0.0));
        assert_eq!(got[2].lag_seconds, Some(10.0));
    }

    #[test]
    fn downstream_follows_its_readers() {
        let all = [facts(Some(true), 0, Some(TargetLag::Downstream)), facts(Some(true), 0, None)];
        let got = decide(&all, &[vec![1], vec![]], 10);
        assert!(got[0].due && got[1].due);
        let quiet = [facts(Some(true), 0, Some(TargetLag::Downstream)), facts(Some(false), 0, None)];
        assert!(!decide(&quiet, &[vec![1], vec![]], 10)[0].due);
    }
}
