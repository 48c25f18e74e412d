//! Matching queued jobs to one host's free slots. Pure: the caller holds the
//! queue lock and writes the result.
//!
//! Jobs are taken in queue order (priority, then FIFO). A job that does not
//! fit (pinned elsewhere, needs more GPUs or memory than are free) is
//! skipped, so smaller jobs behind it may still start: a 4-GPU job waits for
//! a whole free host while 1-GPU jobs keep the other GPUs busy.

use super::job::JobSpec;

/// A free GPU on the polling host.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FreeGpu {
    pub index: u32,
    /// Free memory per the host's latest heartbeat.
    pub free_memory_mb: u64,
}

/// What the polling host can still take.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Capacity {
    pub gpus: Vec<FreeGpu>,
    pub cpu_slots: u32,
    pub job_slots: u32,
}

/// Picks jobs for `host_id` from `queue`, taking their slots out of
/// `capacity`. Returns (job id, GPU indices) pairs.
pub(crate) fn pick<'a>(
    queue: impl Iterator<Item = &'a JobSpec>,
    host_id: &str,
    capacity: &mut Capacity,
) -> Vec<(i64, Vec<u32>)> {
    let mut picked = Vec::new();
    for job in queue {
        if capacity.job_slots == 0 {
            break;
        }
        if capacity.gpus.is_empty() && capacity.cpu_slots == 0 {
            break;
        }
        if job.host_pin.as_deref().is_some_and(|pin| pin != host_id) {
            continue;
        }
        if job.gpus == 0 {
            if capacity.cpu_slots == 0 {
                continue;
            }
            capacity.cpu_slots -= 1;
            capacity.job_slots -= 1;
            picked.push((job.id, Vec::new()));
            continue;
        }
        let min_free = job.min_gpu_memory_mb.unwrap_or(0);
        let usable = |g: &&FreeGpu| {
            g.free_memory_mb >= min_free
                && (job.gpu_ids.is_empty() || job.gpu_ids.contains(&g.index))
        };
        let fitting: Vec<u32> = capacity
            .gpus
            .iter()
            .filter(usable)
            .map(|g| g.index)
            .take(job.gpus as usize)
            .collect();
        if fitting.len() < job.gpus as usize {
            continue;
        }
        capacity.gpus.retain(|g| !fitting.contains(&g.index));
        capacity.job_slots -= 1;
        picked.push((job.id, fitting));
    }
    picked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::testing::job;
    use trainyard_core::{JobStatus, Priority};

    fn gpus(n: u32, free_mb: u64) -> Vec<FreeGpu> {
        (0..n)
            .map(|index| FreeGpu {
                index,
                free_memory_mb: free_mb,
            })
            .collect()
    }

    fn queued(id: i64, gpus: u32) -> JobSpec {
        let mut spec = JobSpec::clone(&job(id, Priority::Normal, JobStatus::Queued, None).spec);
        spec.gpus = gpus;
        spec
    }

    #[test]
    fn four_gpu_host_runs_four_one_gpu_jobs_on_distinct_gpus() {
        let queue: Vec<_> = (1..=6).map(|id| queued(id, 1)).collect();
        let mut cap = Capacity {
            gpus: gpus(4, 10_000),
            cpu_slots: 0,
            job_slots: 100,
        };
        let picked = pick(queue.iter(), "h", &mut cap);
        assert_eq!(
            picked,
            vec![(1, vec![0]), (2, vec![1]), (3, vec![2]), (4, vec![3])]
        );
        assert!(cap.gpus.is_empty());
    }

    #[test]
    fn a_two_gpu_job_gets_two_gpus_and_smaller_jobs_backfill() {
        let queue = [queued(1, 1), queued(2, 2), queued(3, 2), queued(4, 1)];
        let mut cap = Capacity {
            gpus: gpus(4, 10_000),
            cpu_slots: 0,
            job_slots: 100,
        };
        let picked = pick(queue.iter(), "h", &mut cap);
        assert_eq!(picked, vec![(1, vec![0]), (2, vec![1, 2]), (4, vec![3])]);
    }

    #[test]
    fn pins_memory_and_slot_limits_are_respected() {
        let mut pinned = queued(1, 1);
        pinned.host_pin = Some("other".into());
        let mut hungry = queued(2, 1);
        hungry.min_gpu_memory_mb = Some(20_000);
        let cpu = queued(3, 0);
        let plain = queued(4, 1);
        let queue = [pinned, hungry, cpu, plain];
        let mut cap = Capacity {
            gpus: gpus(2, 10_000),
            cpu_slots: 1,
            job_slots: 1,
        };
        let picked = pick(queue.iter(), "h", &mut cap);
        assert_eq!(
            picked,
            vec![(3, vec![])],
            "one job slot: the CPU job comes first in the queue"
        );
        let mut cap = Capacity {
            gpus: gpus(2, 10_000),
            cpu_slots: 0,
            job_slots: 9,
        };
        let picked = pick(queue.iter(), "h", &mut cap);
        assert_eq!(picked, vec![(4, vec![0])]);
    }

    #[test]
    fn a_job_asking_for_exact_gpus_waits_for_those_and_leaves_the_rest() {
        let mut exact = queued(1, 2);
        exact.gpu_ids = vec![2, 3];
        let mut cap = Capacity {
            gpus: gpus(4, 10_000),
            cpu_slots: 0,
            job_slots: 4,
        };
        // GPU 3 is busy: the job waits even though two others are free.
        cap.gpus.retain(|g| g.index != 3);
        let one = queued(2, 1);
        assert_eq!(
            pick([&exact, &one].into_iter(), "h", &mut cap),
            [(2, vec![0])]
        );
        let mut cap = Capacity {
            gpus: gpus(4, 10_000),
            cpu_slots: 0,
            job_slots: 4,
        };
        assert_eq!(
            pick([&exact, &one].into_iter(), "h", &mut cap),
            [(1, vec![2, 3]), (2, vec![0])]
        );
    }
}
