//! What an imported run's files say about it: its parameters (the config's
//! scalar leaves) and its status, by CVLab-Kit's rules in order:
//! 1. a `status` field in the config;
//! 2. succeeded when the last epoch reached `epochs`/`num_epochs`/`max_epochs`;
//! 3. running while the CSV changed within the last hour;
//! 4. failed when the CSV has no rows;
//! 5. otherwise failed as "terminated" (no update for over an hour).

use trainyard_core::JobStatus;

/// Parameters shown as columns; more are left out.
const MAX_PARAMS: usize = 64;
/// A CSV untouched this long belongs to a run that is no longer running.
pub const FRESH_MS: i64 = 60 * 60 * 1000;

/// `key: value` scalar leaves of a YAML mapping as dotted keys, in file
/// order. Lists and multi-line values are kept as their text. A plain
/// reader (indentation and `key: value`), enough for configs written by
/// training code; anything it cannot read is left out.
pub fn config_params(yaml: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut parents: Vec<(usize, String)> = Vec::new();
    for line in yaml.lines() {
        let trimmed = line.trim_end();
        let content = trimmed.trim_start();
        if content.is_empty() || content.starts_with('#') || content.starts_with('-') {
            continue;
        }
        let indent = trimmed.len() - content.len();
        let Some((key, value)) = content.split_once(':') else {
            continue;
        };
        let key = key.trim().trim_matches(['"', '\'']);
        if key.is_empty() {
            continue;
        }
        while parents.last().is_some_and(|(depth, _)| *depth >= indent) {
            parents.pop();
        }
        let value = strip_comment(value).trim();
        let dotted = parents
            .iter()
            .map(|(_, k)| k.as_str())
            .chain(std::iter::once(key))
            .collect::<Vec<_>>()
            .join(".");
        if value.is_empty() {
            parents.push((indent, key.to_string()));
        } else if params.len() < MAX_PARAMS {
            params.push((dotted, value.trim_matches(['"', '\'']).to_string()));
        }
    }
    params
}

fn strip_comment(value: &str) -> &str {
    match value.find(" #") {
        Some(at) => &value[..at],
        None => value,
    }
}

/// The inputs of the status rules.
#[derive(Debug, Clone, Default)]
pub struct Evidence<'a> {
    pub params: &'a [(String, String)],
    /// Data rows indexed from the CSV (`None`: the run has no CSV).
    pub csv_rows: Option<u64>,
    /// The last epoch seen (an `epoch` metric, else the last step).
    pub last_epoch: Option<f64>,
    /// When the CSV (or, without one, the newest file) last changed.
    pub last_change_ms: i64,
    pub now_ms: i64,
}

/// The status and, when not plainly succeeded or running, why.
pub fn infer_status(e: &Evidence<'_>) -> (JobStatus, Option<String>) {
    let param = |names: &[&str]| {
        names.iter().find_map(|name| {
            e.params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        })
    };
    if let Some(stated) = param(&["status"]) {
        let lower = stated.to_ascii_lowercase();
        let status = match lower.as_str() {
            "completed" | "complete" | "done" | "finished" | "succeeded" | "success" => {
                Some(JobStatus::Succeeded)
            }
            "running" => Some(JobStatus::Running),
            "failed" | "error" | "crashed" => Some(JobStatus::Failed),
            "cancelled" | "canceled" | "stopped" => Some(JobStatus::Cancelled),
            _ => None,
        };
        if let Some(status) = status {
            return (
                status,
                Some(format!("status {stated:?} in the run's config")),
            );
        }
    }
    let total = param(&["epochs", "num_epochs", "max_epochs", "total_epochs"])
        .and_then(|v| v.parse::<f64>().ok());
    if let (Some(total), Some(last)) = (total, e.last_epoch) {
        // Epochs may be counted from 0 or 1.
        if last + 1.0 >= total {
            return (JobStatus::Succeeded, None);
        }
    }
    if e.now_ms - e.last_change_ms <= FRESH_MS {
        return (
            JobStatus::Running,
            Some("imported: its files changed within the last hour".into()),
        );
    }
    if e.csv_rows == Some(0) {
        return (
            JobStatus::Failed,
            Some("imported: its CSV has no rows".into()),
        );
    }
    (
        JobStatus::Failed,
        Some("terminated: no update for over an hour before it reached its last epoch".into()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_dotted_scalar_leaves() {
        let yaml = "# comment\nmodel:\n  name: resnet18 # inline\n  layers: [1, 2]\nlr: 0.1\nepochs: 10\nlist:\n  - a\n\"quoted\": 'x'\n";
        assert_eq!(
            config_params(yaml),
            vec![
                ("model.name".into(), "resnet18".into()),
                ("model.layers".into(), "[1, 2]".into()),
                ("lr".into(), "0.1".into()),
                ("epochs".into(), "10".into()),
                ("quoted".into(), "x".into()),
            ]
        );
        assert!(config_params("{not yaml").is_empty());
    }

    #[test]
    fn status_rules_apply_in_order() {
        let hour = FRESH_MS;
        let params = vec![("epochs".to_string(), "10".to_string())];
        let base = Evidence {
            params: &params,
            csv_rows: Some(5),
            last_epoch: Some(4.0),
            last_change_ms: 0,
            now_ms: 2 * hour,
        };
        assert_eq!(infer_status(&base).0, JobStatus::Failed);
        assert!(infer_status(&base)
            .1
            .unwrap_or_default()
            .contains("terminated"));
        let done = Evidence {
            last_epoch: Some(9.0),
            ..base.clone()
        };
        assert_eq!(infer_status(&done).0, JobStatus::Succeeded);
        let fresh = Evidence {
            last_change_ms: 2 * hour - 1000,
            ..base.clone()
        };
        assert_eq!(infer_status(&fresh).0, JobStatus::Running);
        let empty = Evidence {
            csv_rows: Some(0),
            last_epoch: None,
            ..base.clone()
        };
        assert!(infer_status(&empty)
            .1
            .unwrap_or_default()
            .contains("no rows"));
        let stated = vec![("status".to_string(), "completed".to_string())];
        let told = Evidence {
            params: &stated,
            ..base
        };
        assert_eq!(infer_status(&told).0, JobStatus::Succeeded);
    }
}
