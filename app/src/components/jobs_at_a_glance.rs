//! The Dashboard's "what is happening": the newest running jobs (where,
//! on which GPUs, for how long) and the head of the queue.

use leptos::prelude::*;
use trainyard_core::JobView;

use super::relative_time::RelativeTime;
use crate::format::count;
use crate::server_fns::DashboardJobs;

#[component]
pub fn JobsAtAGlance(jobs: DashboardJobs) -> impl IntoView {
    let more_running = jobs.running_count.saturating_sub(jobs.running.len());
    let more_queued = jobs.queued_count.saturating_sub(jobs.queue_head.len());
    view! {
        <section class="card glance" data-testid="running-jobs">
            <h2>
                "Running "
                <span class="num" data-testid="running-count">{jobs.running_count}</span>
            </h2>
            {if jobs.running.is_empty() {
                view! { <p class="muted">"Nothing is running. " <a href="/execute">"Start an experiment"</a> "."</p> }.into_any()
            } else {
                view! {
                    <ul class="glance-list">
                        {jobs.running.into_iter().map(|j| view! { <RunningJob job=j/> }).collect_view()}
                    </ul>
                }.into_any()
            }}
            {(more_running > 0).then(|| view! {
                <p class="muted small"><a href="/queue">{format!("and {} more", count(more_running, "job", "jobs"))}</a></p>
            })}
        </section>
        <section class="card glance" data-testid="queued-jobs">
            <h2>
                "Queued "
                <span class="num" data-testid="queued-count">{jobs.queued_count}</span>
            </h2>
            {if jobs.queue_head.is_empty() {
                view! { <p class="muted">"The queue is empty: every submitted job has a GPU."</p> }.into_any()
            } else {
                view! {
                    <ol class="glance-list">
                        {jobs.queue_head.into_iter().map(|j| view! { <QueuedJob job=j/> }).collect_view()}
                    </ol>
                }.into_any()
            }}
            {(more_queued > 0).then(|| view! {
                <p class="muted small"><a href="/queue">{format!("and {} more waiting", more_queued)}</a></p>
            })}
        </section>
    }
}

fn where_it_runs(job: &JobView) -> String {
    let host = job.host_id.clone().unwrap_or_else(|| "–".into());
    if job.gpu_indices.is_empty() {
        format!("{host} · CPU")
    } else {
        let gpus: Vec<String> = job.gpu_indices.iter().map(u32::to_string).collect();
        format!("{host} · GPU {}", gpus.join(","))
    }
}

#[component]
fn RunningJob(job: JobView) -> impl IntoView {
    let started = job.started_ms.unwrap_or(job.created_ms);
    view! {
        <li data-testid="running-job" data-job-id=job.id>
            <a href=format!("/jobs/{}", job.id)>{job.name.clone()}</a>
            <span class="muted small">{format!(" {} · ", job.project)}</span>
            <span class="small">{where_it_runs(&job)}</span>
            <span class="muted small">" · started " <RelativeTime ms=started/></span>
        </li>
    }
}

#[component]
fn QueuedJob(job: JobView) -> impl IntoView {
    let why = job.waiting.clone().unwrap_or_default();
    view! {
        <li data-testid="queued-job" data-job-id=job.id>
            <a href=format!("/jobs/{}", job.id)>{job.name.clone()}</a>
            <span class="muted small">{format!(" {} · {} · {} GPU", job.project, job.priority.label(), job.gpus)}</span>
            {(!why.is_empty()).then(|| view! { <span class="muted small">{format!(" · {why}")}</span> })}
        </li>
    }
}
