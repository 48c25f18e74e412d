//! Which hosts a listing answers, and which page of them: the rules behind
//! `GET /api/v1/hosts` and the Devices page, so both filter and page alike.
//!
//! Hosts are always ordered by id. A page starts either at an `offset` into
//! the matching hosts (jump to page N) or `after` a host id (keyset: stable
//! while hosts come and go, what a script walking the whole fleet wants).

use serde::{Deserialize, Serialize};

use crate::health::HostHealth;
use crate::host::HostView;

/// Hosts per page unless `limit` says otherwise.
pub const DEFAULT_HOST_PAGE: usize = 100;
/// The most hosts one page may hold (about 2.8 KB each with 8 GPUs).
pub const MAX_HOST_PAGE: usize = 1000;
/// The longest search text accepted.
pub const MAX_HOST_SEARCH_CHARS: usize = 256;
/// The most GPUs a heartbeat may report, so the most `min_free_gpus` can ask.
pub const MAX_FREE_GPUS_FILTER: u32 = 64;

/// The query string as sent, every value kept as text so a bad one can be
/// named. An unknown parameter is refused (a typo must not silently widen
/// the answer to the whole fleet).
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostListParams {
    /// Hosts per page, 0–1000 (0: only the count). Default 100.
    pub limit: Option<String>,
    /// Skip this many matching hosts.
    pub offset: Option<String>,
    /// Start after this host id (a previous page's `next_after`).
    pub after: Option<String>,
    /// Comma-separated health states: `healthy,stale,disconnected`.
    pub health: Option<String>,
    /// Case-insensitive substring of the host id, hostname or a GPU's name.
    pub q: Option<String>,
    /// Only hosts with at least this many free GPUs (idle, per their last heartbeat).
    pub min_free_gpus: Option<String>,
}

/// Which hosts match: every condition given must hold.
#[derive(Debug, Default, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HostFilter {
    /// Health states to keep; empty keeps all.
    #[serde(default)]
    pub health: Vec<HostHealth>,
    /// Searched for in the host id, hostname and GPU names, ignoring ASCII case.
    #[serde(default)]
    pub search: String,
    /// At least this many GPUs free ([`crate::host::gpu_is_free`]); 0 keeps all.
    #[serde(default)]
    pub min_free_gpus: u32,
}

impl HostFilter {
    /// Whether nothing is filtered out.
    pub fn is_everything(&self) -> bool {
        self.health.is_empty() && self.search.is_empty() && self.min_free_gpus == 0
    }

    pub fn matches(&self, host: &HostView) -> bool {
        (self.health.is_empty() || self.health.contains(&host.health))
            && (self.min_free_gpus == 0 || host.free_gpu_count() >= self.min_free_gpus as usize)
            && (self.search.is_empty() || self.search_matches(host))
    }

    fn search_matches(&self, host: &HostView) -> bool {
        let needle = self.search.as_str();
        contains_ignore_ascii_case(&host.host_id, needle)
            || contains_ignore_ascii_case(&host.hostname, needle)
            || host
                .gpus
                .iter()
                .any(|g| contains_ignore_ascii_case(&g.name, needle))
    }
}

/// Where a page starts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HostStart {
    /// This many matching hosts in.
    Offset(usize),
    /// After this host id (which need not exist any more).
    After(String),
}

/// One page of the fleet: a filter, where to start, how many.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HostQuery {
    pub filter: HostFilter,
    pub start: HostStart,
    /// 0..=[`MAX_HOST_PAGE`].
    pub limit: usize,
}

impl Default for HostQuery {
    fn default() -> Self {
        HostQuery {
            filter: HostFilter::default(),
            start: HostStart::Offset(0),
            limit: DEFAULT_HOST_PAGE,
        }
    }
}

/// A query value that cannot be used, and which one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct HostQueryError {
    pub field: &'static str,
    pub message: String,
}

fn bad(field: &'static str, message: impl Into<String>) -> HostQueryError {
    HostQueryError {
        field,
        message: message.into(),
    }
}

impl HostListParams {
    /// Checks every value; the first bad one is named.
    pub fn query(&self) -> Result<HostQuery, HostQueryError> {
        let limit = match given(&self.limit) {
            None => DEFAULT_HOST_PAGE,
            Some(raw) => whole("limit", raw, MAX_HOST_PAGE as u64)? as usize,
        };
        let start = match (given(&self.offset), self.after.as_deref()) {
            (Some(_), Some(_)) => {
                return Err(bad(
                    "offset",
                    "give offset or after, not both (after continues from a host id, offset counts from the first match)",
                ))
            }
            (Some(raw), None) => HostStart::Offset(whole("offset", raw, u32::MAX as u64)? as usize),
            (None, Some(after)) => {
                if after.len() > MAX_HOST_SEARCH_CHARS {
                    return Err(bad(
                        "after",
                        format!("at most {MAX_HOST_SEARCH_CHARS} bytes (a host id)"),
                    ));
                }
                HostStart::After(after.to_string())
            }
            (None, None) => HostStart::Offset(0),
        };
        let health = match given(&self.health) {
            None => Vec::new(),
            Some(raw) => parse_health_list(raw)?,
        };
        let search = self.q.as_deref().unwrap_or_default().trim().to_string();
        if search.chars().count() > MAX_HOST_SEARCH_CHARS {
            return Err(bad(
                "q",
                format!("at most {MAX_HOST_SEARCH_CHARS} characters"),
            ));
        }
        let min_free_gpus = match given(&self.min_free_gpus) {
            None => 0,
            Some(raw) => whole("min_free_gpus", raw, u64::from(MAX_FREE_GPUS_FILTER))? as u32,
        };
        Ok(HostQuery {
            filter: HostFilter {
                health,
                search,
                min_free_gpus,
            },
            start,
            limit,
        })
    }
}

/// A parameter that is present and not blank.
fn given(raw: &Option<String>) -> Option<&str> {
    raw.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A whole number in `0..=max`, with a message that says what was wrong.
fn whole(field: &'static str, raw: &str, max: u64) -> Result<u64, HostQueryError> {
    let digits = raw.strip_prefix('+').unwrap_or(raw);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return match digits.parse::<u64>() {
            Ok(n) if n <= max => Ok(n),
            _ => Err(bad(field, format!("{raw} is too large; at most {max}"))),
        };
    }
    let negative = raw
        .strip_prefix('-')
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()));
    if negative {
        return Err(bad(field, format!("{raw} is negative; use 0 to {max}")));
    }
    Err(bad(
        field,
        format!("{raw:?} is not a whole number (0 to {max})"),
    ))
}

/// `healthy,stale` → the states, each at most once.
pub fn parse_health_list(raw: &str) -> Result<Vec<HostHealth>, HostQueryError> {
    let mut states = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let state = match part.to_ascii_lowercase().as_str() {
            "healthy" => HostHealth::Healthy,
            "stale" => HostHealth::Stale,
            "disconnected" => HostHealth::Disconnected,
            _ => {
                return Err(bad(
                    "health",
                    format!(
                    "unknown state {part:?}; use healthy, stale or disconnected (comma-separated)"
                ),
                ))
            }
        };
        if !states.contains(&state) {
            states.push(state);
        }
    }
    Ok(states)
}

/// One page of hosts and where it sits in all the matching ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostsPage {
    /// Hosts matching the filter, on every page.
    pub total: usize,
    /// How many matching hosts come before this page's first.
    pub offset: usize,
    /// The page size asked for.
    pub limit: usize,
    /// Pass as `after` for the next page; `null` on the last one.
    pub next_after: Option<String>,
    pub hosts: Vec<HostView>,
}

/// The page `query` selects from `hosts`, which must be ordered by id.
/// Works on any reference to a host (the server keeps them shared).
pub fn page_of<H: AsRef<HostView>>(hosts: &[H], query: &HostQuery) -> HostsPage {
    let mut total = 0;
    let mut offset = 0;
    let mut picked: Vec<&HostView> = Vec::new();
    let mut more = false;
    for host in hosts.iter().map(AsRef::as_ref) {
        if !query.filter.matches(host) {
            continue;
        }
        total += 1;
        let before_start = match &query.start {
            HostStart::Offset(skip) => total <= *skip,
            HostStart::After(id) => host.host_id.as_str() <= id.as_str(),
        };
        if before_start {
            offset += 1;
        } else if picked.len() < query.limit {
            picked.push(host);
        } else {
            more = true;
        }
    }
    let next_after = if more {
        picked.last().map(|h| h.host_id.clone())
    } else {
        None
    };
    HostsPage {
        total,
        offset,
        limit: query.limit,
        next_after,
        hosts: picked.into_iter().cloned().collect(),
    }
}

/// `needle` in `haystack`, ASCII letters compared without case.
fn contains_ignore_ascii_case(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heartbeat::GpuStats;

    fn host(id: &str, health: HostHealth, free: usize, busy: usize) -> HostView {
        let gpu = |i: usize, busy: bool| GpuStats {
            index: i as u32,
            name: "NVIDIA H100 80GB HBM3".into(),
            utilization_percent: if busy { 90.0 } else { 0.0 },
            memory_total_bytes: 100,
            ..Default::default()
        };
        HostView {
            host_id: id.into(),
            hostname: format!("{id}.lab"),
            agent_version: String::new(),
            health,
            last_seen_ms: 0,
            first_seen_ms: 0,
            system: Default::default(),
            gpus: (0..free)
                .map(|i| gpu(i, false))
                .chain((free..free + busy).map(|i| gpu(i, true)))
                .collect(),
            gpu_error: None,
        }
    }

    fn params(pairs: &[(&str, &str)]) -> HostListParams {
        let mut p = HostListParams::default();
        for (k, v) in pairs {
            let v = Some(v.to_string());
            match *k {
                "limit" => p.limit = v,
                "offset" => p.offset = v,
                "after" => p.after = v,
                "health" => p.health = v,
                "q" => p.q = v,
                "min_free_gpus" => p.min_free_gpus = v,
                other => panic!("no parameter {other}"),
            }
        }
        p
    }

    fn error(pairs: &[(&str, &str)]) -> String {
        params(pairs).query().expect_err("refused").to_string()
    }

    fn fleet() -> Vec<HostView> {
        (0..10)
            .map(|i| {
                let health = match i % 5 {
                    3 => HostHealth::Stale,
                    4 => HostHealth::Disconnected,
                    _ => HostHealth::Healthy,
                };
                host(&format!("gpu-{i:02}"), health, i % 3, 2)
            })
            .collect()
    }

    fn ids(page: &HostsPage) -> Vec<&str> {
        page.hosts.iter().map(|h| h.host_id.as_str()).collect()
    }

    #[test]
    fn defaults_are_the_first_hundred_of_everything() {
        let q = HostListParams::default().query().unwrap();
        assert_eq!(q, HostQuery::default());
        let page = page_of(&fleet(), &q);
        assert_eq!((page.total, page.offset, page.next_after), (10, 0, None));
        assert_eq!(page.hosts.len(), 10);
    }

    #[test]
    fn offset_and_after_walk_the_same_pages() {
        let hosts = fleet();
        let first = page_of(&hosts, &params(&[("limit", "4")]).query().unwrap());
        assert_eq!(ids(&first), ["gpu-00", "gpu-01", "gpu-02", "gpu-03"]);
        assert_eq!(first.next_after.as_deref(), Some("gpu-03"));
        let by_offset = page_of(
            &hosts,
            &params(&[("limit", "4"), ("offset", "4")]).query().unwrap(),
        );
        let by_after = page_of(
            &hosts,
            &params(&[("limit", "4"), ("after", "gpu-03")])
                .query()
                .unwrap(),
        );
        assert_eq!(by_offset, by_after);
        assert_eq!(by_after.offset, 4);
        let last = page_of(
            &hosts,
            &params(&[("limit", "4"), ("after", "gpu-07")])
                .query()
                .unwrap(),
        );
        assert_eq!(ids(&last), ["gpu-08", "gpu-09"]);
        assert_eq!(last.next_after, None, "the last page says so");
        // A cursor that is no host (one removed since) still continues in order.
        let gone = page_of(&hosts, &params(&[("after", "gpu-03x")]).query().unwrap());
        assert_eq!(ids(&gone)[0], "gpu-04");
        let past = page_of(&hosts, &params(&[("offset", "50")]).query().unwrap());
        assert_eq!((past.total, past.hosts.len()), (10, 0));
    }

    #[test]
    fn limit_zero_only_counts() {
        let page = page_of(
            &fleet(),
            &params(&[("limit", "0"), ("health", "stale")])
                .query()
                .unwrap(),
        );
        assert_eq!(
            (page.total, page.hosts.len(), page.next_after),
            (2, 0, None)
        );
    }

    #[test]
    fn filters_combine() {
        let hosts = fleet();
        let q = |pairs: &[(&str, &str)]| page_of(&hosts, &params(pairs).query().unwrap());
        assert_eq!(
            ids(&q(&[("health", "stale,disconnected")])),
            ["gpu-03", "gpu-04", "gpu-08", "gpu-09"]
        );
        assert_eq!(ids(&q(&[("health", " Healthy , healthy ")])).len(), 6);
        assert_eq!(
            ids(&q(&[("min_free_gpus", "2")])),
            ["gpu-02", "gpu-05", "gpu-08"]
        );
        assert_eq!(ids(&q(&[("q", "GPU-0")])).len(), 10, "case does not matter");
        assert_eq!(
            ids(&q(&[("q", "01.LAB")])),
            ["gpu-01"],
            "the hostname is searched"
        );
        assert_eq!(
            ids(&q(&[("q", "h100")])).len(),
            10,
            "GPU names are searched"
        );
        assert_eq!(ids(&q(&[("q", "nothing-like-it")])).len(), 0);
        assert_eq!(
            ids(&q(&[
                ("health", "healthy"),
                ("min_free_gpus", "1"),
                ("q", "gpu-0")
            ])),
            ["gpu-01", "gpu-02", "gpu-05", "gpu-07"]
        );
    }

    #[test]
    fn bad_values_are_named() {
        assert!(error(&[("limit", "abc")]).starts_with("limit: \"abc\" is not a whole number"));
        assert!(error(&[("limit", "1001")]).starts_with("limit: 1001 is too large"));
        assert!(error(&[("limit", "99999999999999999999999")]).starts_with("limit:"));
        assert!(error(&[("limit", "-1")]).starts_with("limit: -1 is negative"));
        assert!(error(&[("limit", "1.5")]).starts_with("limit:"));
        assert!(error(&[("offset", "-5")]).starts_with("offset: -5 is negative"));
        assert!(error(&[("offset", "1e3")]).starts_with("offset:"));
        assert!(error(&[("offset", "3"), ("after", "gpu-01")])
            .starts_with("offset: give offset or after"));
        assert!(error(&[("health", "sick")]).contains("health: unknown state \"sick\""));
        assert!(error(&[("health", "healthy,,zombie")]).contains("\"zombie\""));
        assert!(error(&[("min_free_gpus", "65")]).starts_with("min_free_gpus:"));
        assert!(error(&[("min_free_gpus", "x")]).starts_with("min_free_gpus:"));
        assert!(error(&[("q", &"x".repeat(257))]).starts_with("q: at most"));
        assert!(error(&[("after", &"x".repeat(257))]).starts_with("after:"));
    }

    #[test]
    fn blank_values_mean_the_default() {
        let q = params(&[
            ("limit", ""),
            ("offset", " "),
            ("health", ""),
            ("q", "  "),
            ("min_free_gpus", ""),
        ])
        .query()
        .unwrap();
        assert_eq!(q, HostQuery::default());
    }

    #[test]
    fn search_is_byte_safe() {
        // Multi-byte text never splits a character or panics.
        let mut h = host("gpu-01", HostHealth::Healthy, 0, 0);
        h.hostname = "größe-ü".into();
        let f = |s: &str| {
            HostFilter {
                search: s.into(),
                ..Default::default()
            }
            .matches(&h)
        };
        assert!(f("ößE"));
        assert!(!f("ü-x"));
        assert!(!f("Ö"), "non-ASCII letters are compared exactly");
    }
}
