//! Preemption (`--preempt`): which running jobs on the polling host to stop
//! so a higher-priority queued job fits. Pure: the caller holds the queue
//! lock, asks the agent to stop the victims and requeues them when they end.
//!
//! The rules, in order:
//! - only a GPU job preempts, and only jobs of strictly lower priority on
//!   one host (a job's GPUs are on one host), never one already stopping
//!   (cancel or preemption asked);
//! - a job pinned elsewhere, a job some other host could take now, and a
//!   job a preemption is already making room for preempt nothing;
//! - victims are taken lowest priority first, then most recently started
//!   first (it has the least work since its last checkpoint to lose), until
//!   their GPUs and the free ones fit the job; then any victim not needed
//!   for the fit is let go, so no more jobs stop than must;
//! - one decision per pass: the next pass sees it in flight.

use std::collections::HashSet;

use trainyard_core::Priority;

use super::dispatch::FreeGpu;
use super::job::JobSpec;

/// A running (or assigned) job on the polling host that could be stopped.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Running {
    pub id: i64,
    pub priority: Priority,
    /// Its GPUs, each with the GPU's total memory (MiB): what it frees.
    pub gpus: Vec<FreeGpu>,
    /// `None`: assigned, not started yet (the newest of all).
    pub started_ms: Option<i64>,
    /// A cancel or a preemption is already stopping it.
    pub stopping: bool,
}

/// A queued job as preemption sees it.
pub(crate) struct Waiting<'a> {
    pub spec: &'a JobSpec,
    pub priority: Priority,
}

/// What to stop, and for which job.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Decision {
    pub for_job: i64,
    pub victims: Vec<i64>,
}

/// The first queued job (in dispatch order) that preempting jobs on
/// `host_id` would place, with the jobs to stop; `None` if there is none.
/// `free` is what is still free after this pass's dispatch; `in_flight`
/// the jobs some preemption already makes room for; `fits_elsewhere`
/// whether another host could take a job now.
pub(crate) fn choose<'a>(
    waiting: impl Iterator<Item = Waiting<'a>>,
    host_id: &str,
    free: &[FreeGpu],
    running: &[Running],
    in_flight: &HashSet<i64>,
    fits_elsewhere: impl Fn(&JobSpec) -> bool,
) -> Option<Decision> {
    let lowest = running
        .iter()
        .filter(|r| !r.stopping)
        .map(|r| r.priority.rank())
        .max()?;
    for job in waiting {
        let spec = job.spec;
        if job.priority.rank() >= lowest {
            // Queue order is by priority: nothing later outranks a victim.
            break;
        }
        if spec.gpus == 0
            || in_flight.contains(&spec.id)
            || spec.host_pin.as_deref().is_some_and(|pin| pin != host_id)
            || fits_elsewhere(spec)
        {
            continue;
        }
        if let Some(victims) = victims_for(spec, job.priority, free, running) {
            return Some(Decision {
                for_job: spec.id,
                victims,
            });
        }
    }
    None
}

/// The fewest lower-priority jobs whose GPUs, with `free`, fit `spec`.
fn victims_for(
    spec: &JobSpec,
    priority: Priority,
    free: &[FreeGpu],
    running: &[Running],
) -> Option<Vec<i64>> {
    let min_memory = spec.min_gpu_memory_mb.unwrap_or(0);
    let usable = |g: &FreeGpu| {
        g.free_memory_mb >= min_memory
            && (spec.gpu_ids.is_empty() || spec.gpu_ids.contains(&g.index))
    };
    let have = free.iter().filter(|g| usable(g)).count();
    let need = (spec.gpus as usize).checked_sub(have).filter(|n| *n > 0)?;
    let mut candidates: Vec<&Running> = running
        .iter()
        .filter(|r| !r.stopping && r.priority.rank() > priority.rank())
        .collect();
    // Lowest priority first, then the most recently started.
    candidates.sort_by_key(|r| {
        (
            std::cmp::Reverse(r.priority.rank()),
            std::cmp::Reverse(r.started_ms.unwrap_or(i64::MAX)),
            r.id,
        )
    });
    let frees = |r: &Running| r.gpus.iter().filter(|g| usable(g)).count();
    let mut taken = Vec::new();
    let mut freed = 0;
    for r in candidates {
        if freed >= need {
            break;
        }
        let n = frees(r);
        if n > 0 {
            taken.push(r);
            freed += n;
        }
    }
    if freed < need {
        return None;
    }
    // Let go of victims the fit does not need, latest taken first.
    for i in (0..taken.len()).rev() {
        let n = frees(taken[i]);
        if freed - n >= need {
            freed -= n;
            taken.remove(i);
        }
    }
    Some(taken.into_iter().map(|r| r.id).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::testing::job;
    use trainyard_core::JobStatus;

    fn gpu(index: u32) -> FreeGpu {
        FreeGpu {
            index,
            free_memory_mb: 80_000,
        }
    }

    fn spec(id: i64, gpus: u32) -> JobSpec {
        let mut spec = JobSpec::clone(&job(id, Priority::High, JobStatus::Queued, None).spec);
        spec.gpus = gpus;
        spec
    }

    fn running(id: i64, priority: Priority, gpus: &[u32], started_ms: i64) -> Running {
        Running {
            id,
            priority,
            gpus: gpus.iter().map(|i| gpu(*i)).collect(),
            started_ms: Some(started_ms),
            stopping: false,
        }
    }

    fn decide(
        waiting: &[(&JobSpec, Priority)],
        free: &[FreeGpu],
        running: &[Running],
    ) -> Option<Decision> {
        choose(
            waiting.iter().map(|(spec, priority)| Waiting {
                spec,
                priority: *priority,
            }),
            "h",
            free,
            running,
            &HashSet::new(),
            |_| false,
        )
    }

    #[test]
    fn a_high_job_stops_the_lowest_priority_most_recent_job_that_frees_enough() {
        let high = spec(9, 1);
        let busy = [
            running(1, Priority::Normal, &[0], 10),
            running(2, Priority::Low, &[1], 10),
            running(3, Priority::Low, &[2], 20),
        ];
        assert_eq!(
            decide(&[(&high, Priority::High)], &[], &busy),
            Some(Decision {
                for_job: 9,
                victims: vec![3]
            })
        );
    }

    #[test]
    fn equal_or_higher_priority_jobs_are_never_preempted() {
        let normal = spec(9, 1);
        let busy = [
            running(1, Priority::Normal, &[0], 10),
            running(2, Priority::High, &[1], 10),
        ];
        assert_eq!(decide(&[(&normal, Priority::Normal)], &[], &busy), None);
        let high = spec(10, 1);
        let only_high = [running(2, Priority::High, &[1], 10)];
        assert_eq!(decide(&[(&high, Priority::High)], &[], &only_high), None);
    }

    #[test]
    fn the_fewest_victims_are_stopped_and_free_gpus_count() {
        let two = spec(9, 2);
        // GPU 3 is free; one more is needed: the one-GPU low job, not both.
        let busy = [
            running(1, Priority::Low, &[0, 1], 30),
            running(2, Priority::Low, &[2], 10),
        ];
        assert_eq!(
            decide(&[(&two, Priority::High)], &[gpu(3)], &busy),
            Some(Decision {
                for_job: 9,
                victims: vec![1]
            }),
            "the most recent low job frees two GPUs, enough alone"
        );
        let four = spec(10, 4);
        assert_eq!(
            decide(&[(&four, Priority::High)], &[gpu(3)], &busy).map(|d| d.victims.len()),
            Some(2)
        );
        let five = spec(11, 5);
        assert_eq!(
            decide(&[(&five, Priority::High)], &[gpu(3)], &busy),
            None,
            "stopping everything still would not fit it: nothing is stopped"
        );
    }

    #[test]
    fn pinned_elsewhere_in_flight_placeable_and_stopping_jobs_preempt_nothing() {
        let mut pinned = spec(9, 1);
        pinned.host_pin = Some("other".into());
        let busy = [running(1, Priority::Low, &[0], 10)];
        assert_eq!(decide(&[(&pinned, Priority::High)], &[], &busy), None);

        let mut here = spec(10, 1);
        here.host_pin = Some("h".into());
        assert_eq!(
            decide(&[(&here, Priority::High)], &[], &busy).map(|d| d.victims),
            Some(vec![1]),
            "pinned to this host: it may preempt here"
        );

        let high = spec(11, 1);
        let in_flight = HashSet::from([11]);
        let waiting = [Waiting {
            spec: &high,
            priority: Priority::High,
        }];
        assert_eq!(
            choose(waiting.into_iter(), "h", &[], &busy, &in_flight, |_| false),
            None
        );
        let waiting = [Waiting {
            spec: &high,
            priority: Priority::High,
        }];
        assert_eq!(
            choose(
                waiting.into_iter(),
                "h",
                &[],
                &busy,
                &HashSet::new(),
                |_| true
            ),
            None,
            "another host can take it now"
        );
        let mut stopping = busy[0].clone();
        stopping.stopping = true;
        assert_eq!(decide(&[(&high, Priority::High)], &[], &[stopping]), None);
    }

    #[test]
    fn exact_gpu_ids_and_memory_limit_what_a_victim_frees() {
        let mut exact = spec(9, 1);
        exact.gpu_ids = vec![1];
        let busy = [
            running(1, Priority::Low, &[0], 50),
            running(2, Priority::Low, &[1], 10),
        ];
        assert_eq!(
            decide(&[(&exact, Priority::High)], &[], &busy).map(|d| d.victims),
            Some(vec![2]),
            "only the job on GPU 1 frees what it asks for"
        );
        let mut hungry = spec(10, 1);
        hungry.min_gpu_memory_mb = Some(100_000);
        assert_eq!(decide(&[(&hungry, Priority::High)], &[], &busy), None);
    }
}
