//! Job values for unit tests.

use trainyard_core::{JobStatus, JobView, Priority};

use super::job::Job;
use crate::store::JobRow;

/// A job as the scheduler holds it; `host` gives it attempt 1 there.
pub fn job(id: i64, priority: Priority, status: JobStatus, host: Option<&str>) -> Job {
    let view = JobView {
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
    };
    Job::from_row(
        JobRow {
            view,
            config_yaml: String::new(),
        },
        None,
    )
}
