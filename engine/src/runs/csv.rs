//! The runs table as CSV: every run matching the filter (not just one
//! page), one column per parameter and metric.

use std::fmt::Write;

use trainyard_core::runs::{RunsQuery, MAX_PAGE_SIZE};

use super::Results;
use crate::error::EngineError;
use crate::hosts::Hosts;

/// Rows exported at most; the rest are left out with a note in the log.
const MAX_EXPORT_ROWS: u64 = 100_000;

impl Results {
    /// Runs matching `q` (its page and page size are ignored) as CSV text.
    pub async fn runs_csv(&self, q: &RunsQuery, hosts: &Hosts) -> Result<String, EngineError> {
        let mut q = q.clone();
        q.page = 0;
        q.page_size = MAX_PAGE_SIZE;
        let first = self.runs_page(&q, hosts).await?;
        let mut out = String::new();
        let mut header = vec!["id", "name", "status", "started_ms", "duration_s"]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>();
        header.extend(first.param_keys.iter().cloned());
        header.extend(first.metric_keys.iter().cloned());
        header.extend(
            [
                "tags",
                "notes",
                "server_origin",
                "sync_status",
                "archived_ms",
            ]
            .map(String::from),
        );
        push_record(&mut out, header.iter().map(String::as_str));
        let (params, metrics) = (first.param_keys.clone(), first.metric_keys.clone());
        let mut page = first;
        let mut written = 0;
        loop {
            for row in &page.rows {
                let job = &row.job;
                let mut record = vec![
                    job.id.to_string(),
                    job.name.clone(),
                    job.status.label().to_string(),
                    job.started_ms.map(|t| t.to_string()).unwrap_or_default(),
                    job.duration_ms
                        .map(|d| format!("{:.3}", d as f64 / 1000.0))
                        .unwrap_or_default(),
                ];
                record.extend(params.iter().map(|k| {
                    job.params
                        .iter()
                        .find(|(p, _)| p == k)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                }));
                record.extend(metrics.iter().map(|k| {
                    row.metrics
                        .iter()
                        .find(|(m, _)| m == k)
                        .map(|(_, v)| v.to_string())
                        .unwrap_or_default()
                }));
                record.push(row.notes.tags.join(", "));
                record.push(row.notes.notes.clone());
                let state = &row.state;
                record.push(
                    state
                        .server_origin
                        .as_ref()
                        .map(|o| o.label().to_string())
                        .unwrap_or_default(),
                );
                record.push(
                    state
                        .sync_status
                        .map(|s| s.label().to_string())
                        .unwrap_or_default(),
                );
                record.push(state.archived_ms.map(|t| t.to_string()).unwrap_or_default());
                push_record(&mut out, record.iter().map(String::as_str));
                written += 1;
            }
            if written >= page.total.min(MAX_EXPORT_ROWS) || page.rows.is_empty() {
                break;
            }
            q.page += 1;
            page = self.runs_page(&q, hosts).await?;
        }
        Ok(out)
    }
}

/// One CSV line (RFC 4180: fields with `,`, `"` or line breaks are quoted).
fn push_record<'a>(out: &mut String, fields: impl Iterator<Item = &'a str>) {
    for (i, field) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        if field.contains([',', '"', '\n', '\r']) {
            let _ = write!(out, "\"{}\"", field.replace('"', "\"\""));
        } else {
            out.push_str(field);
        }
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::push_record;

    #[test]
    fn fields_with_commas_quotes_and_newlines_are_quoted() {
        let mut out = String::new();
        push_record(
            &mut out,
            ["a", "b,c", "say \"hi\"", "two\nlines"].into_iter(),
        );
        assert_eq!(out, "a,\"b,c\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n");
    }
}
