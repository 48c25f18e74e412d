//! The Queue table's sort model: the default queue order, the column a
//! header click chooses and its direction, and how that travels in the URL
//! (`?sort=started&dir=desc`).

use std::cmp::Ordering;

use trainyard_core::{JobStatus, JobView};

use crate::components::job_duration::run_ms;

/// Queue order: what runs, then what waits (in the order it will start),
/// then what ended, newest first.
fn queue_order(a: &JobView, b: &JobView) -> Ordering {
    fn group(status: JobStatus) -> u8 {
        match status {
            JobStatus::Running | JobStatus::Assigned => 0,
            JobStatus::Queued => 1,
            JobStatus::Lost => 2,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled => 3,
        }
    }
    group(a.status)
        .cmp(&group(b.status))
        .then_with(|| match a.status {
            JobStatus::Queued => a
                .priority
                .rank()
                .cmp(&b.priority.rank())
                .then(a.id.cmp(&b.id)),
            _ => b.id.cmp(&a.id),
        })
}

/// A column of the job table that can be sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    Id,
    Name,
    Project,
    Status,
    Priority,
    Host,
    Started,
    Duration,
    Attempt,
}

impl SortKey {
    pub const ALL: [SortKey; 9] = [
        SortKey::Id,
        SortKey::Name,
        SortKey::Project,
        SortKey::Status,
        SortKey::Priority,
        SortKey::Host,
        SortKey::Started,
        SortKey::Duration,
        SortKey::Attempt,
    ];

    /// Its name in the URL (`?sort=started`).
    pub fn param(self) -> &'static str {
        match self {
            SortKey::Id => "id",
            SortKey::Name => "name",
            SortKey::Project => "project",
            SortKey::Status => "status",
            SortKey::Priority => "priority",
            SortKey::Host => "host",
            SortKey::Started => "started",
            SortKey::Duration => "duration",
            SortKey::Attempt => "attempt",
        }
    }

    pub fn from_param(param: &str) -> Option<SortKey> {
        SortKey::ALL.into_iter().find(|k| k.param() == param)
    }
}

/// Which way a column sorts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortDir {
    Asc,
    Desc,
}

/// A header the user chose to sort the job table by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobSort {
    pub key: SortKey,
    pub dir: SortDir,
}

impl JobSort {
    /// Reads `?sort=…&dir=…`; an unknown column means the default order.
    pub fn from_query(sort: Option<&str>, dir: Option<&str>) -> Option<JobSort> {
        let key = SortKey::from_param(sort?)?;
        let dir = match dir {
            Some("desc") => SortDir::Desc,
            _ => SortDir::Asc,
        };
        Some(JobSort { key, dir })
    }

    /// The `dir` query value.
    pub fn dir_param(self) -> &'static str {
        match self.dir {
            SortDir::Asc => "asc",
            SortDir::Desc => "desc",
        }
    }

    /// The sort after a click on `key`'s header: ascending, descending, then
    /// back to the default order.
    pub fn after_click(current: Option<JobSort>, key: SortKey) -> Option<JobSort> {
        match current {
            Some(JobSort {
                key: k,
                dir: SortDir::Asc,
            }) if k == key => Some(JobSort {
                key,
                dir: SortDir::Desc,
            }),
            Some(JobSort {
                key: k,
                dir: SortDir::Desc,
            }) if k == key => None,
            _ => Some(JobSort {
                key,
                dir: SortDir::Asc,
            }),
        }
    }
}

/// Orders jobs by the chosen column, or in queue order when none is chosen.
/// Jobs without a value (no host, not started) come last either way; ties
/// keep id order so rows do not swap places on a redraw. `now_ms` measures
/// running jobs' duration.
pub fn sort_jobs(jobs: &mut [JobView], sort: Option<JobSort>, now_ms: i64) {
    let Some(JobSort { key, dir }) = sort else {
        jobs.sort_by(queue_order);
        return;
    };
    let directed = |o: Ordering| match dir {
        SortDir::Asc => o,
        SortDir::Desc => o.reverse(),
    };
    jobs.sort_by(|a, b| {
        let by_key = match key {
            SortKey::Id => directed(a.id.cmp(&b.id)),
            SortKey::Name => directed(text_order(&a.name, &b.name)),
            SortKey::Project => directed(text_order(&a.project, &b.project)),
            SortKey::Status => directed(status_rank(a.status).cmp(&status_rank(b.status))),
            SortKey::Priority => directed(a.priority.rank().cmp(&b.priority.rank())),
            SortKey::Host => missing_last(
                a.host_id.as_deref(),
                b.host_id.as_deref(),
                directed,
                text_order,
            ),
            SortKey::Started => {
                missing_last(a.started_ms, b.started_ms, directed, |x, y| x.cmp(&y))
            }
            SortKey::Duration => {
                missing_last(run_ms(a, now_ms), run_ms(b, now_ms), directed, |x, y| {
                    x.cmp(&y)
                })
            }
            SortKey::Attempt => directed(a.attempt.cmp(&b.attempt)),
        };
        by_key.then(a.id.cmp(&b.id))
    });
}

/// Case-insensitive, so "Bert" sorts next to "bert", not after "zed".
fn text_order(a: &str, b: &str) -> Ordering {
    a.to_lowercase()
        .cmp(&b.to_lowercase())
        .then_with(|| a.cmp(b))
}

/// A job's place in its life: waiting, running, then how it ended.
fn status_rank(status: JobStatus) -> usize {
    JobStatus::ALL
        .iter()
        .position(|s| *s == status)
        .unwrap_or(usize::MAX)
}

/// Compares two optional values in the chosen direction, absent ones last.
fn missing_last<T>(
    a: Option<T>,
    b: Option<T>,
    directed: impl Fn(Ordering) -> Ordering,
    cmp: impl Fn(T, T) -> Ordering,
) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => directed(cmp(a, b)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trainyard_core::Priority;

    fn job(id: i64, status: JobStatus, priority: Priority) -> JobView {
        JobView {
            id,
            sweep_id: 1,
            project: "demo".into(),
            name: format!("job{id}"),
            status,
            priority,
            ..JobView::default()
        }
    }

    #[test]
    fn running_jobs_come_first_then_the_queue_in_start_order_then_history() {
        let mut jobs = [
            job(1, JobStatus::Succeeded, Priority::Normal),
            job(2, JobStatus::Queued, Priority::Low),
            job(3, JobStatus::Queued, Priority::High),
            job(4, JobStatus::Running, Priority::Normal),
            job(5, JobStatus::Failed, Priority::Normal),
            job(6, JobStatus::Queued, Priority::High),
        ];
        jobs.sort_by(queue_order);
        let ids: Vec<i64> = jobs.iter().map(|j| j.id).collect();
        assert_eq!(ids, vec![4, 3, 6, 2, 5, 1]);
    }

    fn ids(jobs: &[JobView]) -> Vec<i64> {
        jobs.iter().map(|j| j.id).collect()
    }

    fn sorted(mut jobs: Vec<JobView>, key: SortKey, dir: SortDir) -> Vec<i64> {
        sort_jobs(&mut jobs, Some(JobSort { key, dir }), 10_000);
        ids(&jobs)
    }

    #[test]
    fn no_chosen_column_keeps_the_queue_order() {
        let mut jobs = vec![
            job(1, JobStatus::Succeeded, Priority::Normal),
            job(2, JobStatus::Queued, Priority::Normal),
            job(3, JobStatus::Running, Priority::Normal),
        ];
        sort_jobs(&mut jobs, None, 0);
        assert_eq!(ids(&jobs), vec![3, 2, 1]);
    }

    #[test]
    fn id_sorts_both_ways() {
        let jobs: Vec<JobView> = [3, 1, 2]
            .map(|id| job(id, JobStatus::Queued, Priority::Normal))
            .into();
        assert_eq!(
            sorted(jobs.clone(), SortKey::Id, SortDir::Asc),
            vec![1, 2, 3]
        );
        assert_eq!(sorted(jobs, SortKey::Id, SortDir::Desc), vec![3, 2, 1]);
    }

    #[test]
    fn names_sort_ignoring_case_and_ties_keep_id_order() {
        let mut jobs: Vec<JobView> = [1, 2, 3, 4]
            .map(|id| job(id, JobStatus::Queued, Priority::Normal))
            .into();
        jobs[0].name = "zed".into();
        jobs[1].name = "Bert".into();
        jobs[2].name = "bert".into();
        jobs[3].name = "Bert".into();
        assert_eq!(
            sorted(jobs.clone(), SortKey::Name, SortDir::Asc),
            vec![2, 4, 3, 1]
        );
        assert_eq!(sorted(jobs, SortKey::Name, SortDir::Desc), vec![1, 3, 2, 4]);
    }

    #[test]
    fn jobs_without_a_host_or_start_come_last_in_both_directions() {
        let mut jobs: Vec<JobView> = [1, 2, 3, 4]
            .map(|id| job(id, JobStatus::Running, Priority::Normal))
            .into();
        jobs[1].host_id = Some("gpu-b".into());
        jobs[1].started_ms = Some(2_000);
        jobs[3].host_id = Some("gpu-a".into());
        jobs[3].started_ms = Some(1_000);
        for key in [SortKey::Host, SortKey::Started, SortKey::Duration] {
            assert_eq!(
                sorted(jobs.clone(), key, SortDir::Asc)[2..],
                [1, 3],
                "{key:?} asc"
            );
            assert_eq!(
                sorted(jobs.clone(), key, SortDir::Desc)[2..],
                [1, 3],
                "{key:?} desc"
            );
        }
        assert_eq!(
            sorted(jobs.clone(), SortKey::Host, SortDir::Asc),
            vec![4, 2, 1, 3]
        );
        assert_eq!(
            sorted(jobs.clone(), SortKey::Started, SortDir::Desc),
            vec![2, 4, 1, 3]
        );
        // Started at 1 s and 2 s, both still running at 10 s.
        assert_eq!(
            sorted(jobs, SortKey::Duration, SortDir::Desc),
            vec![4, 2, 1, 3]
        );
    }

    #[test]
    fn finished_jobs_sort_by_measured_duration() {
        let mut jobs: Vec<JobView> = [1, 2]
            .map(|id| job(id, JobStatus::Succeeded, Priority::Normal))
            .into();
        jobs[0].started_ms = Some(0);
        jobs[0].duration_ms = Some(5_000);
        jobs[1].started_ms = Some(0);
        jobs[1].duration_ms = Some(500);
        assert_eq!(sorted(jobs, SortKey::Duration, SortDir::Asc), vec![2, 1]);
    }

    #[test]
    fn status_priority_and_attempt_sort_by_meaning_not_label() {
        let mut jobs = vec![
            job(1, JobStatus::Succeeded, Priority::Low),
            job(2, JobStatus::Running, Priority::High),
            job(3, JobStatus::Queued, Priority::Normal),
        ];
        jobs[0].attempt = 2;
        jobs[1].attempt = 1;
        assert_eq!(
            sorted(jobs.clone(), SortKey::Status, SortDir::Asc),
            vec![3, 2, 1]
        );
        assert_eq!(
            sorted(jobs.clone(), SortKey::Priority, SortDir::Asc),
            vec![2, 3, 1]
        );
        assert_eq!(sorted(jobs, SortKey::Attempt, SortDir::Desc), vec![1, 2, 3]);
    }

    #[test]
    fn a_header_cycles_ascending_descending_default() {
        let asc = JobSort::after_click(None, SortKey::Started);
        assert_eq!(asc, JobSort::from_query(Some("started"), None));
        let desc = JobSort::after_click(asc, SortKey::Started);
        assert_eq!(desc, JobSort::from_query(Some("started"), Some("desc")));
        assert_eq!(JobSort::after_click(desc, SortKey::Started), None);
        // Another header starts over, ascending.
        assert_eq!(
            JobSort::after_click(desc, SortKey::Id),
            JobSort::from_query(Some("id"), Some("asc"))
        );
    }

    #[test]
    fn unknown_sort_in_the_url_means_the_default_order() {
        assert_eq!(JobSort::from_query(Some("colour"), Some("desc")), None);
        assert_eq!(JobSort::from_query(None, Some("desc")), None);
    }
}
