//! What this agent may still start: GPUs not held by its own jobs, CPU
//! slots for `gpus: 0` jobs, and the overall `--max-jobs` limit.

/// The operator's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// CPU-only jobs that may run at once.
    pub cpu_slots: u32,
    /// Jobs of any kind that may run at once; `None` = no limit.
    pub max_jobs: Option<u32>,
}

/// Free capacity, as advertised in a poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Free {
    pub gpus: Vec<u32>,
    pub cpu_slots: u32,
    pub job_slots: u32,
}

impl Limits {
    /// Capacity left on a host with GPUs `inventory` while jobs holding
    /// `running` (one GPU list per job, empty for a CPU job) run.
    pub fn free<'a>(
        &self,
        inventory: &[u32],
        running: impl IntoIterator<Item = &'a [u32]>,
    ) -> Free {
        let mut used_gpus = Vec::new();
        let mut jobs = 0u32;
        let mut cpu_jobs = 0u32;
        for gpus in running {
            jobs = jobs.saturating_add(1);
            if gpus.is_empty() {
                cpu_jobs = cpu_jobs.saturating_add(1);
            }
            used_gpus.extend_from_slice(gpus);
        }
        let mut gpus: Vec<u32> = inventory
            .iter()
            .copied()
            .filter(|gpu| !used_gpus.contains(gpu))
            .collect();
        gpus.sort_unstable();
        gpus.dedup();
        Free {
            gpus,
            cpu_slots: self.cpu_slots.saturating_sub(cpu_jobs),
            // "No limit" is sent as the largest number the field holds.
            job_slots: self
                .max_jobs
                .map_or(u32::MAX, |max| max.saturating_sub(jobs)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNLIMITED: Limits = Limits {
        cpu_slots: 1,
        max_jobs: None,
    };

    #[test]
    fn gpus_held_by_running_jobs_are_not_free() {
        let free = UNLIMITED.free(&[0, 1, 2, 3], [&[1u32, 3][..], &[0][..]]);
        assert_eq!(free.gpus, [2]);
        assert_eq!(free.cpu_slots, 1);
        assert_eq!(free.job_slots, u32::MAX);
    }

    #[test]
    fn cpu_jobs_use_cpu_slots_and_every_job_uses_a_job_slot() {
        let limits = Limits {
            cpu_slots: 2,
            max_jobs: Some(3),
        };
        let free = limits.free(&[0, 1], [&[][..], &[0][..]]);
        assert_eq!(
            free,
            Free {
                gpus: vec![1],
                cpu_slots: 1,
                job_slots: 1
            }
        );
        let full = limits.free(&[0, 1], [&[][..], &[][..], &[][..], &[0][..]]);
        assert_eq!((full.cpu_slots, full.job_slots), (0, 0));
    }

    #[test]
    fn a_vanished_gpu_is_not_advertised_even_if_a_job_used_it() {
        let free = UNLIMITED.free(&[0], [&[5u32][..]]);
        assert_eq!(free.gpus, [0]);
    }
}
