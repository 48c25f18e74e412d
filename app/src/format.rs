//! Numbers, times and file contents formatted for people.

/// Bytes as GiB with one decimal, e.g. "12.3 GiB".
pub fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

/// "used / total GiB".
pub fn gib_of(used: u64, total: u64) -> String {
    format!(
        "{:.1} / {:.1} GiB",
        used as f64 / (1u64 << 30) as f64,
        total as f64 / (1u64 << 30) as f64
    )
}

/// Percentage of `used` in `total`, 0 when total is 0.
pub fn fraction(used: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        (used as f64 / total as f64 * 100.0).clamp(0.0, 100.0)
    }
}

/// `text` percent-encoded for a URL path: unreserved characters and those
/// in `keep` stay as they are, every other byte becomes `%XX`.
pub fn percent_encode(text: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') || keep.contains(&b)
        {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// "1 host", "2 hosts".
/// The first 8 of a content hash's 16 hex digits (the whole one goes in a
/// `title`).
pub fn short_hash(hash: &str) -> String {
    hash.chars().take(8).collect()
}

pub fn count(n: usize, singular: &str, plural: &str) -> String {
    format!("{n} {}", if n == 1 { singular } else { plural })
}

/// "3 s ago", "5 min ago", "2 h ago", "4 d ago".
pub fn ago(elapsed_ms: i64) -> String {
    let s = (elapsed_ms.max(0) + 500) / 1000;
    match s {
        0..=59 => format!("{s} s ago"),
        60..=3599 => format!("{} min ago", s / 60),
        3600..=86_399 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86_400),
    }
}

/// A duration in seconds as "3 d 4 h", "2 h 5 min", "4 min", "12 s".
pub fn duration(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m} min")
    } else if m > 0 {
        format!("{m} min")
    } else {
        format!("{secs} s")
    }
}

/// A job's run time, precise enough to tick: "12 s", "4 min 05 s", "2 h 05 min".
pub fn elapsed(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}

/// Unix ms as an ISO-like UTC timestamp, for hover titles.
pub fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, mo, d) = civil_from_days(days);
    format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day); Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The bytes as text, if they are text (UTF-8 without NUL bytes); a
/// character cut at the end of a truncated preview is dropped. This is the
/// rule for what the Job page previews, not a general decoder.
#[cfg_attr(not(feature = "ssr"), allow(dead_code))]
pub fn preview_text(data: &[u8], truncated: bool) -> Option<String> {
    if data.contains(&0) {
        return None;
    }
    match std::str::from_utf8(data) {
        Ok(text) => Some(text.to_string()),
        Err(e) if truncated && e.error_len().is_none() => {
            Some(String::from_utf8_lossy(&data[..e.valid_up_to()]).into_owned())
        }
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_naturally() {
        assert_eq!(ago(0), "0 s ago");
        assert_eq!(ago(2_600), "3 s ago");
        assert_eq!(ago(-5_000), "0 s ago");
        assert_eq!(ago(125_000), "2 min ago");
        assert_eq!(ago(7_200_000), "2 h ago");
        assert_eq!(ago(3 * 86_400_000), "3 d ago");
    }

    #[test]
    fn timestamps_and_sizes_format() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_795_305_600_000), "2026-11-22 00:00:00 UTC");
        assert_eq!(gib(3 << 30), "3.0 GiB");
        assert_eq!(gib_of(1 << 30, 4 << 30), "1.0 / 4.0 GiB");
        assert_eq!(fraction(1, 0), 0.0);
        assert_eq!(duration(90_061), "1 d 1 h");
        assert_eq!(duration(59), "59 s");
        assert_eq!(count(1, "host", "hosts"), "1 host");
        assert_eq!(count(0, "host", "hosts"), "0 hosts");
        assert_eq!(elapsed(12_900), "12 s");
        assert_eq!(elapsed(245_000), "4 min 05 s");
        assert_eq!(elapsed(7_500_000), "2 h 05 min");
    }

    #[test]
    fn previews_are_text_or_nothing() {
        assert_eq!(
            preview_text(b"epoch,loss\n1,0.5\n", false).as_deref(),
            Some("epoch,loss\n1,0.5\n")
        );
        assert_eq!(preview_text(b"\x89PNG\0\0", false), None);
        // "é" cut in half by the preview limit.
        assert_eq!(preview_text(b"caf\xc3", true).as_deref(), Some("caf"));
        assert_eq!(preview_text(b"caf\xc3", false), None);
    }
}
