//! `trainyard resume JOB_ID`: queue a failed, cancelled or lost job again
//! as its next attempt, from its last synced checkpoint (the CLI form of
//! `POST /api/v1/jobs/{id}/resume` and the Job page's *Resume*).

use clap::Args;
use trainyard_core::protocol::paths;
use trainyard_core::JobView;

use crate::remote::{RemoteServer, ServerArgs};

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The job to resume (its id, as on the Queue page).
    pub job: i64,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Asks the server to resume the job and prints what it queued; a job
/// that cannot resume is an error with the server's reason.
pub async fn run(args: ResumeArgs) -> anyhow::Result<()> {
    let server = RemoteServer::new(&args.server)?;
    let what = format!("resume job {}", args.job);
    let job: JobView = server
        .json(
            server.http.post(server.url(&paths::job_resume(args.job))),
            &what,
        )
        .await?;
    println!(
        "job {} {}: {} (attempt {} next)",
        job.id,
        job.name,
        job.status,
        job.attempt + 1
    );
    Ok(())
}
