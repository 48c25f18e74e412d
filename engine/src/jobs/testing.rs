//! Job values for unit tests.

use trainyard_core::{JobStatus, JobView, Priority};

pub fn job(id: i64, priority: Priority, status: JobStatus, host: Option<&str>) -> JobView {
    JobView {
        id,
        sweep_id: 1,
        project: "p".into(),
        name: format!("run-{id}"),
        status,
        priority,
        command: vec!["true".into()],
        workdir: None,
        gpus: 1,
        host_pin: None,
        min_gpu_memory_mb: None,
        retries: 0,
        timeout_secs: None,
        params: Vec::new(),
        attempt: u32::from(host.is_some()),
        host_id: host.map(str::to_string),
        gpu_indices: Vec::new(),
        created_ms: 0,
        started_ms: None,
        finished_ms: None,
        duration_ms: None,
        exit_code: None,
        reason: None,
        cancel_requested: false,
        rerun_of: None,
    }
}
