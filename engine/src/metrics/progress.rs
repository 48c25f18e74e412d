//! How far running jobs are, read from their metric lines
//! (`VTM_PROGRESS::{"epoch":3,"total_epochs":10}`, or a `TRAINYARD_METRIC`
//! line with `epoch`/`step` and `total_epochs`/`epochs`/`total_steps`).
//! Kept in memory only: it matters while a job runs, and the next line
//! after a restart brings it back.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use trainyard_core::runs::RunProgress;

use super::MetricLine;

/// Progress events per job are sent at most this often (the last step
/// always is), so a job printing thousands of steps a second cannot flood
/// the event stream.
const MIN_EVENT_INTERVAL: Duration = Duration::from_secs(1);

struct Track {
    /// The first progress seen and when: the rate for the ETA.
    first: (f64, Instant),
    latest: RunProgress,
    published: Option<Instant>,
}

/// Latest progress per job.
#[derive(Default)]
pub(crate) struct ProgressTracker {
    jobs: Mutex<HashMap<i64, Track>>,
}

impl ProgressTracker {
    /// Folds `lines` of job `job_id` in; the progress to publish, if any.
    pub fn observe(&self, job_id: i64, lines: &[MetricLine], now: Instant) -> Option<RunProgress> {
        let (current, total, unit) = lines.iter().rev().find_map(progress_of)?;
        let mut jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        let track = jobs.entry(job_id).or_insert_with(|| Track {
            first: (current, now),
            latest: RunProgress {
                job_id,
                current: f64::NAN,
                total,
                unit: unit.into(),
                eta_secs: None,
            },
            published: None,
        });
        if current < track.first.0 {
            // A restarted attempt starts over: so does the rate.
            track.first = (current, now);
        }
        let done = current - track.first.0;
        let eta_secs = (done > 0.0).then(|| {
            let per_unit = now.duration_since(track.first.1).as_secs_f64() / done;
            (per_unit * (total - current).max(0.0)).round() as u64
        });
        let changed = track.latest.current != current || track.latest.total != total;
        track.latest = RunProgress {
            job_id,
            current,
            total,
            unit: unit.into(),
            eta_secs,
        };
        let due = track
            .published
            .is_none_or(|at| now.duration_since(at) >= MIN_EVENT_INTERVAL);
        if changed && (due || current >= total) {
            track.published = Some(now);
            return Some(track.latest.clone());
        }
        None
    }

    pub fn snapshot(&self) -> Vec<RunProgress> {
        let jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        let mut all: Vec<RunProgress> = jobs.values().map(|t| t.latest.clone()).collect();
        all.sort_by_key(|p| p.job_id);
        all
    }
}

/// `(current, total, unit)` if the line says how far the job is.
fn progress_of(line: &MetricLine) -> Option<(f64, f64, &'static str)> {
    let value = |key: &str| line.values.iter().find(|(k, _)| k == key).map(|(_, v)| *v);
    let (total, unit, current_key) =
        if let Some(t) = value("total_epochs").or_else(|| value("epochs")) {
            (t, "epoch", "epoch")
        } else {
            (value("total_steps")?, "step", "step")
        };
    // The step key (`step`, else `iteration`, else `epoch`) is taken out of
    // the values, so a missing one is the line's step.
    let current = value(current_key).or(line.step)?;
    (total > 0.0 && current.is_finite()).then_some((current, total, unit))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(step: Option<f64>, values: &[(&str, f64)]) -> MetricLine {
        MetricLine {
            links: Vec::new(),
            step,
            values: values.iter().map(|(k, v)| ((*k).to_string(), *v)).collect(),
            skipped: Vec::new(),
        }
    }

    #[test]
    fn vtm_epochs_and_trainyard_steps_both_give_progress() {
        // VTM_PROGRESS::{"epoch":3,"total_epochs":10}: epoch became the step.
        assert_eq!(
            progress_of(&line(Some(3.0), &[("total_epochs", 10.0)])),
            Some((3.0, 10.0, "epoch"))
        );
        // TRAINYARD_METRIC::{"step":120,"epoch":2,"epochs":5}
        assert_eq!(
            progress_of(&line(Some(120.0), &[("epoch", 2.0), ("epochs", 5.0)])),
            Some((2.0, 5.0, "epoch"))
        );
        assert_eq!(
            progress_of(&line(Some(40.0), &[("total_steps", 100.0)])),
            Some((40.0, 100.0, "step"))
        );
        assert_eq!(progress_of(&line(Some(4.0), &[("loss", 0.5)])), None);
        assert_eq!(
            progress_of(&line(Some(4.0), &[("total_epochs", 0.0)])),
            None
        );
    }

    #[test]
    fn eta_follows_the_rate_and_events_are_throttled() {
        let tracker = ProgressTracker::default();
        let t0 = Instant::now();
        let first = tracker.observe(7, &[line(Some(1.0), &[("total_epochs", 11.0)])], t0);
        assert_eq!(first.map(|p| p.eta_secs), Some(None));
        // 100 ms later: changed, but too soon for another event.
        let soon = t0 + Duration::from_millis(100);
        assert_eq!(
            tracker.observe(7, &[line(Some(2.0), &[("total_epochs", 11.0)])], soon),
            None
        );
        // One epoch took 2 s, so 8 left take 16 s.
        let later = t0 + Duration::from_secs(4);
        let p = tracker
            .observe(7, &[line(Some(3.0), &[("total_epochs", 11.0)])], later)
            .unwrap_or_else(|| panic!("no event"));
        assert_eq!((p.current, p.total, p.eta_secs), (3.0, 11.0, Some(16)));
        // The last epoch is always sent, however soon.
        let end = later + Duration::from_millis(10);
        assert!(tracker
            .observe(7, &[line(Some(11.0), &[("total_epochs", 11.0)])], end)
            .is_some());
        assert_eq!(tracker.snapshot().len(), 1);
    }
}
