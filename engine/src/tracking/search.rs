//! `runs/search`: the runs of some experiments that pass a filter, in the
//! asked order, a page at a time; and metric histories.

use std::cmp::Ordering;

use super::filter::{parse_order_by, Filter, KeyKind, OrderBy, Subject, Value};
use super::{invalid, HistoryPoint, MetricHistory, TrackedRun, Tracking};
use crate::error::EngineError;
use crate::metrics::Metrics;

/// Most runs one search may return (MLflow's threshold).
pub const MAX_SEARCH_RESULTS: u32 = 50_000;
/// Most points of one history page.
pub const MAX_HISTORY_RESULTS: u64 = 25_000;

/// Which runs a search sees, by lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ViewType {
    #[default]
    ActiveOnly,
    DeletedOnly,
    All,
}

impl ViewType {
    /// From MLflow's name or number; `None` for anything else.
    pub fn parse(text: &str) -> Option<ViewType> {
        Some(match text {
            "ACTIVE_ONLY" | "1" => ViewType::ActiveOnly,
            "DELETED_ONLY" | "2" => ViewType::DeletedOnly,
            "ALL" | "3" => ViewType::All,
            _ => return None,
        })
    }

    pub fn shows(self, deleted: bool) -> bool {
        match self {
            ViewType::ActiveOnly => !deleted,
            ViewType::DeletedOnly => deleted,
            ViewType::All => true,
        }
    }
}

/// A `runs/search` request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunSearch {
    pub experiment_ids: Vec<i64>,
    pub filter: String,
    pub view: ViewType,
    pub max_results: u32,
    pub order_by: Vec<String>,
    pub page_token: Option<String>,
}

/// A page of runs.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSearchPage {
    pub runs: Vec<TrackedRun>,
    pub next_page_token: Option<String>,
}

/// Page tokens are an offset into the ordered result.
fn offset_of(token: &Option<String>) -> Result<usize, EngineError> {
    match token.as_deref() {
        None | Some("") => Ok(0),
        Some(t) => t.parse::<usize>().map_err(|_| {
            invalid(
                "page_token",
                format!("invalid page token {:?}", super::short(t)),
            )
        }),
    }
}

impl Tracking {
    /// Runs of `q.experiment_ids` passing `q.filter`; archived runs are
    /// MLflow's deleted ones.
    pub async fn search_runs(
        &self,
        q: &RunSearch,
        metrics: &Metrics,
    ) -> Result<RunSearchPage, EngineError> {
        if q.max_results == 0 || q.max_results > MAX_SEARCH_RESULTS {
            return Err(invalid(
                "max_results",
                format!(
                    "Invalid value {} for parameter 'max_results' supplied. It must be between 1 and {MAX_SEARCH_RESULTS}",
                    q.max_results
                ),
            ));
        }
        let filter = Filter::parse(&q.filter).map_err(|e| invalid("filter", e.0))?;
        let orders: Vec<OrderBy> = q
            .order_by
            .iter()
            .map(|o| parse_order_by(o).map_err(|e| invalid("order_by", e.0)))
            .collect::<Result<_, _>>()?;
        for o in &orders {
            if o.key.kind == KeyKind::Attribute && !RunSubject::is_attribute(&o.key.name) {
                return Err(invalid(
                    "order_by",
                    format!("invalid attribute key {:?}", o.key.name),
                ));
            }
        }
        let offset = offset_of(&q.page_token)?;
        let mut projects = Vec::new();
        for id in &q.experiment_ids {
            projects.push(self.experiment_row(*id).await?.project);
        }
        let mut runs = Vec::new();
        for job_id in self.store.job_ids_of_projects(&projects).await? {
            let is_deleted = self.store.is_archived(job_id).await?;
            if !q.view.shows(is_deleted) {
                continue;
            }
            let Some(job) = self.store.job(job_id).await? else {
                continue;
            };
            let run = self.tracked(job, metrics, is_deleted).await?;
            if filter
                .matches(&RunSubject(&run))
                .map_err(|e| invalid("filter", e.0))?
            {
                runs.push(run);
            }
        }
        runs.sort_by(|a, b| {
            for o in &orders {
                let ordering = compare(&RunSubject(a), &RunSubject(b), o);
                if ordering != Ordering::Equal {
                    return ordering;
                }
            }
            b.start_ms.cmp(&a.start_ms).then(a.id.cmp(&b.id))
        });
        let total = runs.len();
        let page: Vec<TrackedRun> = runs
            .into_iter()
            .skip(offset)
            .take(q.max_results as usize)
            .collect();
        let end = offset + page.len();
        Ok(RunSearchPage {
            runs: page,
            next_page_token: (end < total).then(|| end.to_string()),
        })
    }

    /// Points of metric `key` of run `id`, a page of at most `max_results`.
    pub async fn metric_history(
        &self,
        id: i64,
        key: &str,
        max_results: Option<u64>,
        page_token: &Option<String>,
        metrics: &Metrics,
    ) -> Result<MetricHistory, EngineError> {
        self.run_job(id).await?;
        let limit = max_results.unwrap_or(MAX_HISTORY_RESULTS);
        if limit == 0 || limit > MAX_HISTORY_RESULTS {
            return Err(invalid(
                "max_results",
                format!("must be between 1 and {MAX_HISTORY_RESULTS}, got {limit}"),
            ));
        }
        let offset = offset_of(page_token)? as u64;
        let page = metrics.history(id, key, offset, limit).await?;
        let end = offset + page.points.len() as u64;
        Ok(MetricHistory {
            points: page
                .points
                .into_iter()
                .map(|(step, value, time_ms)| HistoryPoint {
                    value,
                    step: step as i64,
                    timestamp_ms: time_ms,
                })
                .collect(),
            next_page_token: (end < page.total).then(|| end.to_string()),
        })
    }
}

/// Orders by one clause; runs without the key go last either way.
fn compare(a: &RunSubject, b: &RunSubject, o: &OrderBy) -> Ordering {
    let value = |s: &RunSubject| match o.key.kind {
        KeyKind::Metric => s.metric(&o.key.name).map(Value::Number),
        KeyKind::Param => s.param(&o.key.name).map(Value::Text),
        KeyKind::Tag => s.tag(&o.key.name).map(Value::Text),
        KeyKind::Attribute => s.attribute(&o.key.name),
    };
    match (value(a), value(b)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => {
            let ordering = match (&x, &y) {
                (Value::Number(x), Value::Number(y)) => x.total_cmp(y),
                (Value::Text(x), Value::Text(y)) => x.cmp(y),
                (Value::Number(_), Value::Text(_)) => Ordering::Less,
                (Value::Text(_), Value::Number(_)) => Ordering::Greater,
            };
            if o.ascending {
                ordering
            } else {
                ordering.reverse()
            }
        }
    }
}

/// A run as the filter language sees it.
pub(super) struct RunSubject<'a>(pub &'a TrackedRun);

impl RunSubject<'_> {
    fn is_attribute(name: &str) -> bool {
        matches!(
            name,
            "run_id"
                | "run_name"
                | "status"
                | "start_time"
                | "end_time"
                | "user_id"
                | "artifact_uri"
                | "lifecycle_stage"
                | "created"
                | "Created"
        )
    }
}

impl Subject for RunSubject<'_> {
    fn attribute(&self, name: &str) -> Option<Value> {
        let r = self.0;
        Some(match name {
            "run_id" => Value::Text(r.id.to_string()),
            "run_name" => Value::Text(r.name.clone()),
            "status" => Value::Text(r.status.label().to_string()),
            "start_time" | "created" | "Created" => Value::Number(r.start_ms as f64),
            "end_time" => Value::Number(r.end_ms? as f64),
            "user_id" => Value::Text(r.user_id.clone()),
            "lifecycle_stage" => Value::Text(r.lifecycle_stage.clone()),
            _ => return None,
        })
    }
    fn known_attribute(&self, name: &str) -> bool {
        Self::is_attribute(name)
    }
    fn tag(&self, key: &str) -> Option<String> {
        self.0
            .tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }
    fn param(&self, key: &str) -> Option<String> {
        self.0
            .params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }
    fn metric(&self, key: &str) -> Option<f64> {
        self.0
            .metrics
            .iter()
            .find(|m| m.key == key)
            .map(|m| m.value)
    }
}
