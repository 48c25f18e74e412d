//! CPU, memory and disk numbers for the heartbeat, via `sysinfo`.

use std::path::{Path, PathBuf};

use sysinfo::{CpuRefreshKind, DiskRefreshKind, Disks, MemoryRefreshKind, RefreshKind, System};
use trainyard_core::SystemStats;

use super::sanitize::clamp_percent;

/// Samples host resource use. Kept alive between heartbeats because CPU
/// usage is a difference between two refreshes: each sample's CPU % covers
/// the time since the previous sample, with no blocking wait.
pub(crate) struct SystemSampler {
    system: System,
    disks: Disks,
    work_dir: PathBuf,
}

impl SystemSampler {
    /// Starts sampling; the first [`sample`](Self::sample)'s CPU % covers the
    /// time since this call.
    pub fn new(work_dir: impl Into<PathBuf>) -> Self {
        let system = System::new_with_specifics(
            RefreshKind::nothing()
                .with_cpu(CpuRefreshKind::nothing().with_cpu_usage())
                .with_memory(MemoryRefreshKind::nothing().with_ram()),
        );
        let disks =
            Disks::new_with_refreshed_list_specifics(DiskRefreshKind::nothing().with_storage());
        Self {
            system,
            disks,
            work_dir: work_dir.into(),
        }
    }

    /// Current numbers, clamped so the server's validation accepts them.
    pub fn sample(&mut self) -> SystemStats {
        self.system.refresh_cpu_usage();
        self.system
            .refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
        // `true` drops unmounted disks; the list is re-read so new mounts appear.
        self.disks
            .refresh_specifics(true, DiskRefreshKind::nothing().with_storage());

        let memory_total = self.system.total_memory();
        let (disk_used, disk_total) = self.work_dir_disk_usage();
        SystemStats {
            cpu_percent: clamp_percent(self.system.global_cpu_usage()),
            cpu_count: u32::try_from(self.system.cpus().len()).unwrap_or(u32::MAX),
            memory_used_bytes: self.system.used_memory().min(memory_total),
            memory_total_bytes: memory_total,
            disk_used_bytes: disk_used,
            disk_total_bytes: disk_total,
        }
    }

    /// (used, total) bytes of the disk holding the work dir, or (0, 0) when
    /// no mounted disk contains it.
    fn work_dir_disk_usage(&self) -> (u64, u64) {
        // Canonicalized each time: the directory may be created or moved
        // after start-up, and symlinks must resolve to the real mount.
        let dir = std::fs::canonicalize(&self.work_dir)
            .or_else(|_| std::path::absolute(&self.work_dir))
            .unwrap_or_else(|_| self.work_dir.clone());
        let mounts = self.disks.list().iter().map(|d| d.mount_point());
        let Some(index) = longest_mount_prefix(&dir, mounts) else {
            return (0, 0);
        };
        let Some(disk) = self.disks.list().get(index) else {
            return (0, 0);
        };
        let total = disk.total_space();
        let used = total.saturating_sub(disk.available_space());
        (used, total)
    }
}

/// Index of the mount point that contains `dir` with the most path
/// components (`/data/scratch` beats `/data` beats `/`).
fn longest_mount_prefix<'a>(dir: &Path, mounts: impl Iterator<Item = &'a Path>) -> Option<usize> {
    mounts
        .enumerate()
        .filter(|(_, mount)| dir.starts_with(mount))
        .max_by_key(|(_, mount)| mount.components().count())
        .map(|(index, _)| index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deepest_containing_mount_wins() {
        let mounts = [
            Path::new("/"),
            Path::new("/data"),
            Path::new("/data/scratch"),
            Path::new("/dat"),
        ];
        let pick = |dir: &str| longest_mount_prefix(Path::new(dir), mounts.iter().copied());
        assert_eq!(pick("/data/scratch/run1"), Some(2));
        assert_eq!(pick("/data/other"), Some(1));
        assert_eq!(
            pick("/database"),
            Some(0),
            "prefixes match whole components only"
        );
        assert_eq!(
            longest_mount_prefix(Path::new("/x"), [Path::new("/y")].into_iter()),
            None
        );
    }

    #[test]
    fn samples_on_this_machine_are_plausible() {
        let mut sampler = SystemSampler::new(".");
        for _ in 0..3 {
            let stats = sampler.sample();
            assert!((0.0..=100.0).contains(&stats.cpu_percent), "{stats:?}");
            assert!(stats.cpu_count >= 1, "{stats:?}");
            assert!(stats.memory_total_bytes > 0, "{stats:?}");
            assert!(
                stats.memory_used_bytes <= stats.memory_total_bytes,
                "{stats:?}"
            );
            assert!(stats.disk_used_bytes <= stats.disk_total_bytes, "{stats:?}");
        }
    }
}
