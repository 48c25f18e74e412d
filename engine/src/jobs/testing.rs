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
        gpus: 1,
        attempt: u32::from(host.is_some()),
        host_id: host.map(str::to_string),
        ..JobView::default()
    }
}
