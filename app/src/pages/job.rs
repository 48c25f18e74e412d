//! One job: where and how it ran, its attempts, config and live output.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use trainyard_core::catalog::JobLaunch;
use trainyard_core::protocol::codes;
use trainyard_core::runs::RunState;
use trainyard_core::{AttemptView, JobStatus, JobView};

use crate::components::job_actions::JobButtons;
use crate::components::job_duration::JobDuration;
use crate::components::job_log::JobLog;
use crate::components::job_manifest::{JobManifestLoad, JobManifestSection};
use crate::components::job_progress::JobProgress;
use crate::components::job_status::JobStatusBadge;
use crate::components::job_table::{gpu_list, placement, reason_text};
use crate::components::relative_time::{MaybeRelativeTime, RelativeTime};
use crate::components::run_charts::RunCharts;
use crate::components::run_files::{RunFiles, RunFilesLoad};
use crate::components::run_state::{RunOriginText, RunSyncBadge};
use crate::loaded::{load, Loaded};
use crate::server_fns::{
    get_job, get_job_manifest, list_run_files, load_job_launch, load_run_state, JobRecord, UiError,
};
use crate::state::fleet::Fleet;
use crate::state::jobs::JobStore;

#[component]
pub fn JobPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").and_then(|s| s.parse::<i64>().ok())));
    view! {
        {move || match id.get() {
            Some(id) => view! { <JobDetailView id=id/> }.into_any(),
            None => view! {
                <Title text="Job"/>
                <NoSuchJob>"Job ids are numbers, like " <code>"/jobs/12"</code> "."</NoSuchJob>
            }
            .into_any(),
        }}
    }
}

/// What the page says for an id that names no job, and where to go instead.
#[component]
fn NoSuchJob(children: Children) -> impl IntoView {
    view! {
        <h1>"No such job"</h1>
        <p>{children()} " " <a href="/queue">"Go to the Queue"</a> "."</p>
    }
}

#[component]
fn JobDetailView(id: i64) -> impl IntoView {
    let fleet = expect_context::<Fleet>();
    let jobs = expect_context::<JobStore>();
    // The page is built once per load: rebuilding it on every status change
    // disposed its buttons while their request was still in flight (a
    // cancel answered after the `job` event had already redrawn the page).
    let detail = load(move || fleet.resync.get(), move |_| get_job(id));
    let loads = RunLoads::new(id, fleet, jobs);
    crate::state::jobs::load_progress(jobs);
    // The log follows once the job is known to exist; set by an effect, so
    // only after hydration (the server renders no log stream).
    let known = RwSignal::new(false);
    Effect::new(move |_| {
        if jobs.job(id).is_some() {
            known.set(true);
        }
    });
    view! {
        <Title text=format!("Job {id}")/>
        <Transition fallback=|| view! { <p class="muted">"Loading job…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => {
                        jobs.upsert(detail.job.clone());
                        match jobs.job(id) {
                            Some(job) => view! {
                                <JobBody job=RwSignal::from(job) detail=detail loads=loads/>
                            }.into_any(),
                            None => ().into_any(),
                        }
                    }
                    Err(e) if e.is(codes::JOB_NOT_FOUND) => view! {
                        <NoSuchJob>{format!("There is no job {id} on this server.")}</NoSuchJob>
                    }
                    .into_any(),
                    Err(e) => view! {
                        <h1>{format!("Job {id}")}</h1>
                        <p class="error" role="alert">"Could not load this job: " {e.to_string()}</p>
                        <p><a href="/queue">"Back to the Queue"</a></p>
                    }
                    .into_any(),
                }
            })}
        </Transition>
        <Show when=move || known.get()>
            <div id="output"><JobLog id=id/></div>
        </Show>
    }
    .into_any()
}

/// Everything the page loads beside the job itself, made once with the page
/// and read inside the job's Suspense. Made in there, by the job's body,
/// they were made anew each time Leptos walked the Suspense's children to
/// look for pending reads (four more fetches a walk on the server), and one
/// server render in CI never finished.
#[derive(Clone, Copy)]
struct RunLoads {
    /// The job's changes of status or attempt ([`state_changes`]).
    changes: ReadSignal<u32>,
    state: Loaded<Result<RunState, UiError>>,
    launch: Loaded<Result<Option<JobLaunch>, UiError>>,
    manifest: JobManifestLoad,
    files: RunFilesLoad,
}

impl RunLoads {
    fn new(id: i64, fleet: Fleet, jobs: JobStore) -> RunLoads {
        let changes = state_changes(jobs, id);
        // Origin, sync state, code and files follow the job's state (a
        // retry syncs anew, a finished run has its last files) and the
        // live stream's resyncs, as the job itself does.
        let key = move || (fleet.resync.get(), changes.get());
        RunLoads {
            changes,
            state: load(key, move |_| load_run_state(id)),
            launch: load(move || id, load_job_launch),
            manifest: load(key, move |_| get_job_manifest(id)),
            files: load(key, move |_| list_run_files(id)),
        }
    }
}

/// Counts the job's changes of status or attempt after the first one this
/// page saw. Set by an effect, so it stays 0 on the server and through
/// hydration: what the server loaded is read, not fetched again.
fn state_changes(jobs: JobStore, id: i64) -> ReadSignal<u32> {
    let (changes, set_changes) = signal(0u32);
    Effect::new(move |seen: Option<Option<(JobStatus, u32)>>| {
        let now = jobs.job(id).map(|j| j.with(|j| (j.status, j.attempt)));
        let seen = seen.flatten();
        if seen.is_some() && now.is_some() && seen != now {
            set_changes.update(|n| *n += 1);
        }
        now.or(seen)
    });
    changes
}

#[component]
fn JobBody(job: RwSignal<JobView>, detail: JobRecord, loads: RunLoads) -> impl IntoView {
    let id = detail.job.id;
    let sweep_id = detail.job.sweep_id;
    let attempts = RwSignal::new(Ok(detail.attempts.clone()));
    follow_attempts(id, loads.changes, attempts);
    let active = Signal::derive(move || job.with(|j| j.status.is_active()));
    view! {
        <div class="page-head job-head">
            <h1>
                <span class="muted num">{format!("#{id} ")}</span>
                <span data-testid="job-name">{move || job.with(|j| j.name.clone())}</span>
            </h1>
            <JobStatusBadge
                status=Signal::derive(move || job.with(|j| j.status))
                cancelling=Signal::derive(move || job.with(|j| j.cancel_requested))
            />
            <JobProgress id=id active=Signal::derive(move || job.with(|j| j.status == JobStatus::Running))/>
            <JobButtons job=job open_rerun=true resume=true/>
        </div>
        <div class="job-grid">
            <section class="card">
                <h2>"Run"</h2>
                <JobFacts job=job sweep_id=sweep_id loads=loads/>
            </section>
            <section class="card">
                <h2>"Attempts"</h2>
                {move || match attempts.get() {
                    Ok(attempts) => {
                        let mlflow = job.with(|j| {
                            j.reason.as_deref() == Some(trainyard_core::runs::MLFLOW_RUN_REASON)
                        });
                        view! { <AttemptsTable attempts=attempts mlflow=mlflow/> }.into_any()
                    }
                    Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                }}
            </section>
        </div>
        <nav class="section-nav" aria-label="Sections of this run">
            <a href="#metrics">"Metrics"</a>
            <a href="#files">"Files"</a>
            <a href="#code">"Code"</a>
            <a href="#config">"Config"</a>
            <a href="#output">"Output"</a>
        </nav>
        <div id="metrics">
            <RunCharts id=id active=active/>
        </div>
        <div id="files">
            <RunFiles id=id active=active files=loads.files/>
        </div>
        <JobManifestSection id=id job=job manifest=loads.manifest/>
        <section class="card" id="config">
            <h2>"Resolved config"</h2>
            <pre class="config-view" data-testid="job-config">{detail.config_yaml.clone()}</pre>
        </section>
    }
    .into_any()
}

/// Only the attempts table follows the live job: it is fetched again when
/// the job's status or attempt changes (the page itself is not rebuilt).
fn follow_attempts(
    id: i64,
    changes: ReadSignal<u32>,
    attempts: RwSignal<Result<Vec<AttemptView>, String>>,
) {
    Effect::new(move |before: Option<u32>| {
        let now = changes.get();
        if before.is_some_and(|before| before != now) {
            leptos::task::spawn_local(async move {
                let fetched = get_job(id)
                    .await
                    .map(|d| d.attempts)
                    .map_err(|e| e.to_string());
                // An answer for a state the job has already left is dropped;
                // the later change fetched again.
                if changes.try_get_untracked() == Some(now) {
                    attempts.try_set(fetched);
                }
            });
        }
        now
    });
}

#[component]
fn JobFacts(job: RwSignal<JobView>, sweep_id: i64, loads: RunLoads) -> impl IntoView {
    let time = move |f: fn(&JobView) -> Option<i64>| {
        view! { <MaybeRelativeTime ms=Signal::derive(move || job.with(f))/> }
    };
    view! {
        <dl class="facts">
            <dt>"Project"</dt>
            <dd>{move || job.with(|j| j.project.clone())}
                " · " <a href=format!("/queue?sweep={sweep_id}")>{format!("sweep {sweep_id}")}</a></dd>
            <dt>"Where"</dt>
            <dd data-testid="job-host">{move || job.with(placement)}</dd>
            <RunStateFacts state=loads.state/>
            <dt>"Priority"</dt>
            <dd>{move || job.with(|j| j.priority.label())}</dd>
            <dt>"Command"</dt>
            <dd><code>{move || job.with(|j| j.command.join(" "))}</code></dd>
            <dt>"Queued"</dt>
            <dd>{time(|j| Some(j.created_ms))}</dd>
            <dt>"Started"</dt>
            <dd>{time(|j| j.started_ms)}</dd>
            <dt>"Finished"</dt>
            <dd>{time(|j| j.finished_ms)}</dd>
            <dt>"Duration"</dt>
            <dd><JobDuration job=job/></dd>
            <dt>"Exit code"</dt>
            <dd class="num" data-testid="job-exit-code">{move || job.with(|j| j.exit_code.map_or("–".to_string(), |c| c.to_string()))}</dd>
            <dt>"Attempt"</dt>
            <dd class="num">{move || job.with(|j| format!("{} of {} allowed", j.attempt, j.retries + 1))}</dd>
            <dt>"Reason"</dt>
            <dd data-testid="job-reason">{move || job.with(reason_text).unwrap_or_else(|| "–".into())}</dd>
            {move || job.with(|j| j.rerun_of).map(|of| view! {
                <dt>"Re-run of"</dt>
                <dd><a href=format!("/jobs/{of}")>{format!("#{of}")}</a></dd>
            })}
            <LaunchFacts id=job.with_untracked(|j| j.id) launch=loads.launch/>
        </dl>
    }
    .into_any()
}

/// For a job launched from the catalog: its task, the catalog revision,
/// and "Launch again" (the Launch page refilled with this job's values).
/// Nothing for a job submitted as a config.
#[component]
fn LaunchFacts(id: i64, launch: Loaded<Result<Option<JobLaunch>, UiError>>) -> impl IntoView {
    move || {
        launch.get().and_then(Result::ok).flatten().map(|l| {
            view! {
                <dt>"Launched from"</dt>
                <dd data-testid="job-launch" data-task=l.task_type.clone() data-revision=l.revision_id>
                    "task " <code>{l.task_type.clone()}</code>
                    {format!(" · catalog revision {}", l.revision_id)}
                    " · " <a href=format!("/launch?job={id}") data-testid="launch-again">"Launch again"</a>
                </dd>
            }
        })
    }
}

/// Origin, sync state and archive state (loaded again when the job's
/// status or attempt changes: sync follows them).
#[component]
fn RunStateFacts(state: Loaded<Result<RunState, UiError>>) -> impl IntoView {
    view! {
        <dt>"Origin · sync"</dt>
        <dd>
            <Transition fallback=|| "…">
                {move || Suspend::new(async move {
                    match state.await {
                        Ok(s) => {
                            let archived = s.archived_ms.is_some();
                            view! {
                                <RunOriginText state=s.clone()/>" · "<RunSyncBadge state=s/>
                                {archived.then(|| view! { " · " <span class="badge run-archived" data-testid="run-archived">"archived"</span> })}
                            }.into_any()
                        }
                        Err(e) => view! { <span class="error small">{e.to_string()}</span> }.into_any(),
                    }
                })}
            </Transition>
        </dd>
    }
}

#[component]
fn AttemptsTable(attempts: Vec<AttemptView>, mlflow: bool) -> impl IntoView {
    if attempts.is_empty() && mlflow {
        return view! {
            <p class="muted small" data-testid="mlflow-run">
                "Logged by an MLflow client: it ran outside Trainyard's hosts, so there are no attempts. Its metrics, params and artifacts are below."
            </p>
        }
        .into_any();
    }
    if attempts.is_empty() {
        return view! { <p class="muted small">"Not started yet: it waits in the queue for a host."</p> }.into_any();
    }
    view! {
        <div class="table-scroll">
            <table class="data" data-testid="attempts">
                <thead>
                    <tr>
                        <th scope="col" class="num">"#"</th>
                        <th scope="col">"Host · GPUs"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Started"</th>
                        <th scope="col" class="num">"Exit"</th>
                        <th scope="col">"Reason"</th>
                    </tr>
                </thead>
                <tbody>
                    {attempts
                        .into_iter()
                        .map(|a| {
                            let started = a.started_ms.unwrap_or(a.assigned_ms);
                            view! {
                                <tr>
                                    <td class="num">{a.attempt}</td>
                                    <td>{format!("{} · {}", a.host_id, gpu_list(&a.gpu_indices))}</td>
                                    <td><JobStatusBadge status=a.status/></td>
                                    <td><RelativeTime ms=started/></td>
                                    <td class="num">{a.exit_code.map_or("–".to_string(), |c| c.to_string())}</td>
                                    <td class="reason">{a.reason.unwrap_or_default()}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
