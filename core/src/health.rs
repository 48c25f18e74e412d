//! Host health, derived from how long ago the server last heard from a host.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Whether a host is reporting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostHealth {
    /// Heard from within `stale_after`.
    Healthy,
    /// Silent for longer than `stale_after`: probably a hiccup, gets no new work.
    Stale,
    /// Silent for longer than `disconnected_after`: gone; may be removed.
    Disconnected,
}

impl HostHealth {
    /// Lower-case label used in the UI and CSS classes.
    pub fn label(self) -> &'static str {
        match self {
            HostHealth::Healthy => "healthy",
            HostHealth::Stale => "stale",
            HostHealth::Disconnected => "disconnected",
        }
    }
}

/// The two silences that move a host from healthy to stale to disconnected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthThresholds {
    pub stale_after: Duration,
    pub disconnected_after: Duration,
}

impl Default for HealthThresholds {
    /// 15 s is five missed 3 s heartbeats; 60 s matches what labs know from CVLab-Kit.
    fn default() -> Self {
        HealthThresholds {
            stale_after: Duration::from_secs(15),
            disconnected_after: Duration::from_secs(60),
        }
    }
}

impl HealthThresholds {
    /// Health of a host last heard from `silence` ago.
    pub fn classify(&self, silence: Duration) -> HostHealth {
        if silence > self.disconnected_after {
            HostHealth::Disconnected
        } else if silence > self.stale_after {
            HostHealth::Stale
        } else {
            HostHealth::Healthy
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_moves_from_healthy_to_stale_to_disconnected() {
        let t = HealthThresholds::default();
        assert_eq!(t.classify(Duration::from_secs(0)), HostHealth::Healthy);
        assert_eq!(t.classify(Duration::from_secs(15)), HostHealth::Healthy);
        assert_eq!(t.classify(Duration::from_millis(15_001)), HostHealth::Stale);
        assert_eq!(t.classify(Duration::from_secs(60)), HostHealth::Stale);
        assert_eq!(
            t.classify(Duration::from_secs(61)),
            HostHealth::Disconnected
        );
    }
}
