//! Wall-clock helpers. Health uses monotonic `Instant`s; wall time is only
//! stored and shown.

use std::time::{SystemTime, UNIX_EPOCH};

/// Current Unix time in milliseconds on this server.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
