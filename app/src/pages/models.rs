//! The Models page: every model, a model's versions per stage (LATEST,
//! source run and metric, downloads, promote, move LATEST), the best run of
//! a project ranked by a metric with *publish best* and *register this
//! run*, and a browser upload. The chosen model lives in the URL
//! (`/models?model=resnet`), and a project page links here with its
//! project filled in (`/models?project=demo`).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use trainyard_core::models::{
    BestMode, BestRunReport, ModelSource, ModelSummary, ModelVersionView, ModelView,
    PromoteRequest, PublishBest, RankedRun, RegisterFromRun, Stage,
};
use trainyard_core::protocol::paths;
use trainyard_core::serving::{ServeRequest, ServingState, ServingView, DEFAULT_HEALTH_PATH};

use crate::components::job_status::JobStatusBadge;
use crate::components::relative_time::RelativeTime;
use crate::components::run_files::size_text;
use crate::components::runs_table::metric_text;
use crate::format::{count, percent_encode, short_hash};
use crate::loaded::load;
use crate::server_fns::{
    list_models, list_projects, load_model, project_metric_keys, promote_version, publish_best_run,
    rank_runs, register_run, serve_stage, set_latest_version, stop_stage,
};

/// The Models page's address for one model.
pub fn model_href(name: &str) -> String {
    format!("/models?model={}", percent_encode(name, b""))
}

#[component]
pub fn ModelsPage() -> impl IntoView {
    let query = use_query_map();
    let selected = Memo::new(move |_| query.with(|q| q.get("model")));
    let project = query
        .with_untracked(|q| q.get("project"))
        .unwrap_or_default();
    // Bumped after anything that makes or moves a version: lists refetch.
    let changed = RwSignal::new(0u32);
    let all = load(move || changed.get(), |_| list_models());
    view! {
        <Title text="Models"/>
        <div class="page-head"><h1>"Models"</h1></div>
        <div class="models-layout">
            <aside class="card model-list" aria-label="Models">
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || all.get().map(|result| match result {
                        Ok(list) if list.is_empty() => view! {
                            <p class="muted" data-testid="models-empty">
                                "No models yet. Publish a project's best run below, or upload files."
                            </p>
                        }.into_any(),
                        Ok(list) => view! { <ModelList list=list selected=selected/> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    })}
                </Transition>
            </aside>
            <div class="model-detail">
                {move || match selected.get() {
                    Some(name) => view! { <ModelVersions name=name changed=changed/> }.into_any(),
                    None => view! {
                        <p class="muted">"Pick a model to see its versions, download them, promote them to release and move LATEST."</p>
                    }.into_any(),
                }}
                <PublishBestForm project=project model=selected changed=changed/>
                <UploadForm model=selected changed=changed/>
            </div>
        </div>
    }
}

#[component]
fn ModelList(list: Vec<ModelSummary>, selected: Memo<Option<String>>) -> impl IntoView {
    view! {
        <ul class="model-names">
            {list.into_iter().map(|m| {
                let here = m.name.clone();
                let latest = |stage: &str, v: &Option<String>| v.as_ref().map(|v| format!("{stage} {v}"));
                let pointers: Vec<String> = [latest("dev", &m.latest_dev), latest("release", &m.latest_release)]
                    .into_iter().flatten().collect();
                view! {
                    <li class:selected=move || selected.get().as_deref() == Some(here.as_str())>
                        <a href=model_href(&m.name) data-testid="model-link">{m.name.clone()}</a>
                        <span class="muted small">
                            {format!(" {} v", m.versions)}
                            {(!pointers.is_empty()).then(|| format!(" · {}", pointers.join(", ")))}
                        </span>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

/// One model's stages, each with its versions.
#[component]
fn ModelVersions(name: String, changed: RwSignal<u32>) -> impl IntoView {
    let for_fetch = name.clone();
    let model = load(
        move || changed.get(),
        move |_| load_model(for_fetch.clone()),
    );
    view! {
        <section class="card" data-testid="model-versions">
            <h2>{name.clone()}</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || model.get().map(|result| match result {
                    Ok(view) => view! { <Stages model=view changed=changed/> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Stages(model: ModelView, changed: RwSignal<u32>) -> impl IntoView {
    let name = model.name.clone();
    let serving = model.serving;
    model
        .stages
        .into_iter()
        .map(|stage| {
            let name = name.clone();
            // The stage's newest deployment, if it ever served.
            let deployment = serving
                .iter()
                .filter(|d| d.stage == stage.stage)
                .max_by_key(|d| d.id)
                .cloned();
            let has_latest = stage.latest.is_some();
            let title = match &stage.latest {
                Some(v) => format!("{} · LATEST {v}", stage.stage),
                None => format!("{} · no versions", stage.stage),
            };
            view! {
                <h3 data-testid="stage-title" data-stage=stage.stage.as_str()>{title}</h3>
                {(!stage.versions.is_empty()).then(|| view! {
                    <div class="table-scroll">
                        <table class="data" data-testid="stage-versions" data-stage=stage.stage.as_str()>
                            <thead><tr>
                                <th>"Version"</th><th>"Source"</th><th class="num">"Files"</th><th class="num">"Size"</th>
                                <th>"Registered"</th><th>"By"</th><th>"Download"</th><th></th>
                            </tr></thead>
                            <tbody>
                                {stage.versions.into_iter().rev().map(|v| view! {
                                    <VersionRow name=name.clone() version=v changed=changed/>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                })}
                <ServingPanel name=name.clone() stage=stage.stage has_latest=has_latest deployment=deployment changed=changed/>
            }
        })
        .collect_view()
}

/// What serves a stage (state, URL, host, the job's live log, the last
/// lines of a failure) and the Serve / Stop buttons.
#[component]
fn ServingPanel(
    name: String,
    stage: Stage,
    has_latest: bool,
    deployment: Option<ServingView>,
    changed: RwSignal<u32>,
) -> impl IntoView {
    let command = RwSignal::new(
        deployment
            .as_ref()
            .map(|d| d.command.clone())
            .unwrap_or_default(),
    );
    let health = RwSignal::new(
        deployment
            .as_ref()
            .map(|d| d.health_path.clone())
            .unwrap_or_else(|| DEFAULT_HEALTH_PATH.to_string()),
    );
    let (serve_name, stop_name) = (name.clone(), name.clone());
    let serve = Action::new(move |_: &()| {
        let name = serve_name.clone();
        let request = ServeRequest {
            command: Some(command.get_untracked()).filter(|c| !c.trim().is_empty()),
            health_path: Some(health.get_untracked()).filter(|h| !h.trim().is_empty()),
            ..ServeRequest::default()
        };
        async move { serve_stage(name, stage.as_str().into(), request).await }
    });
    let stop = Action::new(move |_: &()| {
        let name = stop_name.clone();
        async move { stop_stage(name, stage.as_str().into()).await }
    });
    Effect::new(move |_| {
        let done =
            matches!(serve.value().get(), Some(Ok(_))) || matches!(stop.value().get(), Some(Ok(_)));
        if done {
            changed.update(|n| *n += 1);
        }
    });
    let live = deployment
        .as_ref()
        .is_some_and(|d| matches!(d.state, ServingState::Starting | ServingState::Serving));
    // A deployment on its way up is read again in a second (each new
    // reading renders this panel again, until it serves or fails).
    #[cfg(feature = "hydrate")]
    if deployment
        .as_ref()
        .is_some_and(|d| d.state == ServingState::Starting)
    {
        set_timeout(
            move || changed.update(|n| *n += 1),
            std::time::Duration::from_secs(1),
        );
    }
    view! {
        <div class="serving" data-testid="serving" data-stage=stage.as_str()>
            {deployment.map(|d| view! { <DeploymentState deployment=d/> })}
            <div class="form-grid">
                <label>"Command "
                    <input data-testid="serve-command" size="60"
                        placeholder="default: the last command, else mlflow models serve -m {model_dir} -p {port}"
                        prop:value=move || command.get() on:input=move |ev| command.set(event_target_value(&ev))/>
                </label>
                <label>"Health path "
                    <input data-testid="serve-health" size="10" prop:value=move || health.get()
                        on:input=move |ev| health.set(event_target_value(&ev))/>
                </label>
                <button data-testid="serve-stage" disabled=move || !has_latest || serve.pending().get()
                    title=if has_latest { "Serve this stage's LATEST" } else { "The stage has no version yet" }
                    on:click=move |_| { serve.dispatch(()); }>
                    {if live { "Serve LATEST again" } else { "Serve LATEST" }}
                </button>
                {live.then(|| view! {
                    <button data-testid="stop-serving" disabled=move || stop.pending().get()
                        on:click=move |_| { stop.dispatch(()); }>"Stop"</button>
                })}
            </div>
            {move || serve.value().get().and_then(Result::err).or_else(|| stop.value().get().and_then(Result::err)).map(|e| view! {
                <p class="error small" role="alert" data-testid="serve-error">{e.to_string()}</p>
            })}
        </div>
    }
}

#[component]
fn DeploymentState(deployment: ServingView) -> impl IntoView {
    let d = deployment;
    let badge = match d.state {
        ServingState::Serving => "badge serving-ok",
        ServingState::Failed => "badge serving-failed",
        ServingState::Starting => "badge serving-starting",
        ServingState::Stopped => "badge serving-stopped",
    };
    view! {
        <p class="small" data-testid="serving-state" data-state=d.state.as_str()>
            <span class=badge>{d.state.as_str()}</span>
            {format!(" {} ", d.version)}
            {(d.state == ServingState::Serving).then(|| view! {
                <a href=d.url.clone() data-testid="serving-url">{d.url.clone()}</a>
            })}
            {d.host.clone().map(|h| format!(" on {h}"))}
            {d.endpoint.clone().filter(|_| d.state == ServingState::Serving).map(|e| format!(" ({e})"))}
            " · " <a href=format!("/jobs/{}", d.job_id) data-testid="serving-job">{format!("job #{} log", d.job_id)}</a>
        </p>
        {d.reason.clone().map(|r| view! { <p class="error small" data-testid="serving-reason">{r}</p> })}
        {(!d.last_lines.is_empty()).then(|| view! {
            <pre class="log-tail small" data-testid="serving-lines">{d.last_lines.join("\n")}</pre>
        })}
    }
}

#[component]
fn VersionRow(name: String, version: ModelVersionView, changed: RwSignal<u32>) -> impl IntoView {
    let stage = version.stage.as_str();
    let bundle = paths::model_bundle(&name, stage, &version.version);
    let manifest = paths::model_manifest(&name, stage, &version.version);
    let notes = version.notes.clone();
    view! {
        <tr data-testid="version-row" data-version=version.version.clone() data-latest=version.latest.to_string()>
            <td>
                <code>{version.version.clone()}</code>
                {version.latest.then(|| view! { <span class="badge ok" data-testid="latest-badge">"LATEST"</span> })}
                {(!notes.is_empty()).then(|| view! { <div class="muted small">{notes.clone()}</div> })}
            </td>
            <td class="small"><SourceText source=version.source.clone()/></td>
            <td class="num">{version.files}</td>
            <td class="num">{size_text(version.bytes)}</td>
            <td><RelativeTime ms=version.created_ms/></td>
            <td class="small">{version.registered_by.clone()}</td>
            <td class="small">
                <a href=bundle download data-testid="bundle-link" title=format!("xxh3 {}", version.bundle_xxh3)>
                    {format!("bundle.tar.gz ({})", size_text(version.bundle_bytes))}
                </a>
                " · "
                <a href=manifest data-testid="manifest-link">"manifest"</a>
            </td>
            <td class="row-actions">
                {(version.stage == Stage::Dev).then(|| view! {
                    <PromoteButton name=name.clone() version=version.version.clone() changed=changed/>
                })}
                {(!version.latest).then(|| view! {
                    <SetLatestButton name=name.clone() stage=version.stage version=version.version.clone() changed=changed/>
                })}
            </td>
        </tr>
    }
}

/// Where a version came from: a run (linked, with the metric that chose
/// it), an upload, or another stage's version.
#[component]
fn SourceText(source: ModelSource) -> impl IntoView {
    match source {
        ModelSource::Run {
            job_id,
            run_name,
            metric,
            ..
        } => view! {
            <a href=format!("/jobs/{job_id}") data-testid="source-run">{format!("#{job_id} {run_name}")}</a>
            {metric.map(|m| view! {
                <div class="muted" data-testid="source-metric">
                    {format!("{} {} = {} at step {}", m.mode.as_str(), m.key, metric_text(m.value), metric_text(m.step))}
                </div>
            })}
        }
        .into_any(),
        ModelSource::Upload => view! { <span>"upload"</span> }.into_any(),
        ModelSource::Promotion {
            from_stage,
            source_version,
            source_bundle_xxh3,
            origin,
        } => view! {
            <span title=format!("source bundle xxh3 {source_bundle_xxh3}") data-testid="source-promotion">
                {format!("promoted from {from_stage} {source_version}")}
            </span>
            <div class="muted"><SourceText source=*origin/></div>
        }
        .into_any(),
    }
}

#[component]
fn PromoteButton(name: String, version: String, changed: RwSignal<u32>) -> impl IntoView {
    let promote = Action::new(move |_: &()| {
        let (name, version) = (name.clone(), version.clone());
        let request = PromoteRequest {
            to: Stage::Release.as_str().into(),
            ..PromoteRequest::default()
        };
        async move { promote_version(name, version, request).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = promote.value().get() {
            changed.update(|n| *n += 1);
        }
    });
    view! {
        <button data-testid="promote-version" disabled=move || promote.pending().get()
            on:click=move |_| { promote.dispatch(()); }>"Promote to release"</button>
        {move || promote.value().get().and_then(|r| r.err()).map(|e| view! {
            <span class="error small" role="alert">{e.to_string()}</span>
        })}
    }
}

#[component]
fn SetLatestButton(
    name: String,
    stage: Stage,
    version: String,
    changed: RwSignal<u32>,
) -> impl IntoView {
    let set = Action::new(move |_: &()| {
        let (name, version) = (name.clone(), version.clone());
        async move { set_latest_version(name, stage.as_str().into(), version).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = set.value().get() {
            changed.update(|n| *n += 1);
        }
    });
    view! {
        <button data-testid="set-latest" disabled=move || set.pending().get()
            on:click=move |_| { set.dispatch(()); }>"Make LATEST"</button>
        {move || set.value().get().and_then(|r| r.err()).map(|e| view! {
            <span class="error small" role="alert">{e.to_string()}</span>
        })}
    }
}

/// What the publish form works on, read once per click.
#[derive(Clone)]
struct PublishChoice {
    model: String,
    project: String,
    sweep: Option<i64>,
    metric: String,
    mode: BestMode,
    stage: String,
    notes: String,
}

/// The publish form's fields, shared with the ranking's rows (a row's
/// *Register this run* reads the form as it is when clicked).
#[derive(Clone, Copy)]
struct PublishFields {
    model: RwSignal<String>,
    project: RwSignal<String>,
    sweep: RwSignal<String>,
    metric: RwSignal<String>,
    mode: RwSignal<BestMode>,
    stage: RwSignal<String>,
    notes: RwSignal<String>,
}

impl PublishFields {
    fn read(&self) -> PublishChoice {
        PublishChoice {
            model: self.model.get_untracked().trim().to_string(),
            project: self.project.get_untracked(),
            sweep: self.sweep.get_untracked().trim().parse().ok(),
            metric: self.metric.get_untracked().trim().to_string(),
            mode: self.mode.get_untracked(),
            stage: self.stage.get_untracked(),
            notes: self.notes.get_untracked(),
        }
    }
}

/// Ranks a project's runs by a metric, then publishes the best one (or
/// registers any ranked run) as a version.
#[component]
fn PublishBestForm(
    project: String,
    model: Memo<Option<String>>,
    changed: RwSignal<u32>,
) -> impl IntoView {
    let fields = PublishFields {
        model: RwSignal::new(model.get_untracked().unwrap_or_default()),
        project: RwSignal::new(project),
        sweep: RwSignal::new(String::new()),
        metric: RwSignal::new(String::new()),
        mode: RwSignal::new(BestMode::Max),
        stage: RwSignal::new(Stage::Dev.as_str().to_string()),
        notes: RwSignal::new(String::new()),
    };
    let PublishFields {
        model: model_name,
        project,
        sweep,
        metric,
        mode,
        stage,
        notes,
    } = fields;
    // Picking another model in the list fills its name in.
    Effect::new(move |_| {
        if let Some(m) = model.get() {
            model_name.set(m);
        }
    });
    let projects = load(|| (), |_| list_projects());
    let metrics = load(
        move || project.get(),
        |p| async move {
            if p.is_empty() {
                Ok(Vec::new())
            } else {
                project_metric_keys(p).await
            }
        },
    );
    // The first metric of a newly chosen project, unless one it has is typed.
    Effect::new(move |_| {
        if let Some(Ok(keys)) = metrics.get() {
            if !keys.contains(&metric.get_untracked()) {
                metric.set(keys.first().cloned().unwrap_or_default());
            }
        }
    });
    let rank = Action::new(move |c: &PublishChoice| {
        let c = c.clone();
        async move { rank_runs(c.project, c.sweep, c.metric, c.mode).await }
    });
    let publish = Action::new(move |c: &PublishChoice| {
        let c = c.clone();
        let request = PublishBest {
            project: c.project,
            sweep: c.sweep,
            metric: c.metric,
            mode: c.mode,
            stage: Some(c.stage),
            files: None,
            version: None,
            notes: Some(c.notes).filter(|n| !n.trim().is_empty()),
            set_latest: Some(true),
        };
        async move { publish_best_run(c.model, request).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = publish.value().get() {
            changed.update(|n| *n += 1);
        }
    });
    view! {
        <section class="card publish-form" data-testid="publish-best">
            <h2>"Best run"</h2>
            <p class="muted small">
                "Runs are ranked by their best value of the metric (not the last), ties to the newest; runs without it are listed as skipped. "
                "The version holds the run's checkpoint (best_checkpoint.pt, model.pt… or the newest *.pt) and its config."
            </p>
            <div class="form-grid">
                <label>"Project "
                    <select data-testid="best-project" prop:value=move || project.get()
                        on:change=move |ev| project.set(event_target_value(&ev))>
                        <option value="">"–"</option>
                        <Transition fallback=|| ()>
                            {move || projects.get().and_then(Result::ok).map(|list| list.into_iter().map(|p| {
                                let selected = p.name == project.get_untracked();
                                view! { <option value=p.name.clone() selected=selected>{p.name.clone()}</option> }
                            }).collect_view())}
                        </Transition>
                    </select>
                </label>
                <label>"Metric "
                    <input data-testid="best-metric" list="best-metric-keys" prop:value=move || metric.get()
                        on:input=move |ev| metric.set(event_target_value(&ev))/>
                    <datalist id="best-metric-keys">
                        <Transition fallback=|| ()>
                            {move || metrics.get().and_then(Result::ok).map(|keys| keys.into_iter().map(|k| view! {
                                <option value=k.clone()></option>
                            }).collect_view())}
                        </Transition>
                    </datalist>
                </label>
                <label>"Better is "
                    <select data-testid="best-mode"
                        on:change=move |ev| mode.set(if event_target_value(&ev) == "min" { BestMode::Min } else { BestMode::Max })>
                        <option value="max" selected=true>"higher (max)"</option>
                        <option value="min">"lower (min)"</option>
                    </select>
                </label>
                <label>"Sweep "
                    <input data-testid="best-sweep" inputmode="numeric" placeholder="all" size="6"
                        prop:value=move || sweep.get() on:input=move |ev| sweep.set(event_target_value(&ev))/>
                </label>
            </div>
            <button data-testid="rank-runs" disabled=move || rank.pending().get()
                on:click=move |_| { rank.dispatch(fields.read()); }>"Rank runs"</button>
            {move || rank.value().get().map(|r| match r {
                Ok(report) => view! { <Ranking report=report fields=fields changed=changed/> }.into_any(),
                Err(e) => view! { <p class="error small" role="alert" data-testid="rank-error">{e.to_string()}</p> }.into_any(),
            })}
            <div class="form-grid">
                <label>"Model "
                    <input data-testid="publish-model" placeholder="resnet50-cls" prop:value=move || model_name.get()
                        on:input=move |ev| model_name.set(event_target_value(&ev))/>
                </label>
                <label>"Stage "
                    <select data-testid="publish-stage" on:change=move |ev| stage.set(event_target_value(&ev))>
                        <option value="dev" selected=true>"dev"</option>
                        <option value="release">"release"</option>
                    </select>
                </label>
                <label>"Notes "
                    <input data-testid="publish-notes" prop:value=move || notes.get()
                        on:input=move |ev| notes.set(event_target_value(&ev))/>
                </label>
            </div>
            <button data-testid="publish-best-run" disabled=move || publish.pending().get()
                on:click=move |_| { publish.dispatch(fields.read()); }>"Publish the best run"</button>
            {move || publish.value().get().map(|r| match r {
                Ok(done) => view! {
                    <p class="small" data-testid="publish-result">
                        {format!("{} {} {} from run #{} ({} = {} at step {})",
                            done.version.model, done.version.stage, done.version.version, done.best.job_id,
                            metric.get_untracked(), metric_text(done.best.best.value), metric_text(done.best.best.step))}
                        " · " <a href=model_href(&done.version.model)>"open"</a>
                    </p>
                }.into_any(),
                Err(e) => view! { <p class="error small" role="alert" data-testid="publish-error">{e.to_string()}</p> }.into_any(),
            })}
        </section>
    }
}

/// The ranked runs and the skipped ones; any ranked run can be registered.
#[component]
fn Ranking(report: BestRunReport, fields: PublishFields, changed: RwSignal<u32>) -> impl IntoView {
    let skipped = report.skipped.clone();
    view! {
        {if report.ranked.is_empty() {
            view! { <p class="muted small" data-testid="no-ranked">{format!("No run of {} logged {}.", report.project, report.metric)}</p> }.into_any()
        } else {
            view! {
                <div class="table-scroll">
                    <table class="data" data-testid="ranked-runs">
                        <thead><tr>
                            <th class="num">"#"</th><th>"Run"</th><th>"Status"</th>
                            <th class="num">{format!("best {}", report.metric)}</th><th class="num">"at step"</th>
                            <th class="num">"last"</th><th></th>
                        </tr></thead>
                        <tbody>
                            {report.ranked.into_iter().enumerate().map(|(i, run)| view! {
                                <RankedRow rank=i + 1 run=run fields=fields changed=changed/>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any()
        }}
        {(!skipped.is_empty()).then(|| view! {
            <details class="small" data-testid="skipped-runs">
                <summary>{format!("{} skipped", count(skipped.len(), "run", "runs"))}</summary>
                <ul>
                    {skipped.into_iter().map(|s| view! {
                        <li><a href=format!("/jobs/{}", s.job_id)>{format!("#{} {}", s.job_id, s.name)}</a>": " {s.reason}</li>
                    }).collect_view()}
                </ul>
            </details>
        })}
    }
}

#[component]
fn RankedRow(
    rank: usize,
    run: RankedRun,
    fields: PublishFields,
    changed: RwSignal<u32>,
) -> impl IntoView {
    let job_id = run.job_id;
    let register = Action::new(move |_: &()| {
        let c = fields.read();
        let request = RegisterFromRun {
            job_id,
            stage: Some(c.stage),
            notes: Some(c.notes).filter(|n| !n.trim().is_empty()),
            ..RegisterFromRun::default()
        };
        async move { register_run(c.model, request).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = register.value().get() {
            changed.update(|n| *n += 1);
        }
    });
    view! {
        <tr data-testid="ranked-row" data-job-id=job_id>
            <td class="num">{rank}</td>
            <td><a href=format!("/jobs/{job_id}")>{format!("#{job_id} {}", run.name)}</a></td>
            <td><JobStatusBadge status=run.status/></td>
            <td class="num" data-testid="ranked-best">{metric_text(run.best.value)}</td>
            <td class="num">{metric_text(run.best.step)}</td>
            <td class="num">{metric_text(run.last.value)}</td>
            <td>
                <button data-testid="register-run" disabled=move || register.pending().get()
                    on:click=move |_| { register.dispatch(()); }>"Register this run"</button>
                {move || register.value().get().map(|r| match r {
                    Ok(v) => view! { <span class="small" data-testid="register-result">{format!(" {} {}", v.stage, v.version)}</span> }.into_any(),
                    Err(e) => view! { <span class="error small" role="alert">{e.to_string()}</span> }.into_any(),
                })}
            </td>
        </tr>
    }
}

/// Files from this computer as a new version: a multipart POST to the
/// REST route with the session cookie (the files stream to disk there).
#[component]
fn UploadForm(model: Memo<Option<String>>, changed: RwSignal<u32>) -> impl IntoView {
    let form = NodeRef::<leptos::html::Form>::new();
    let model_name = RwSignal::new(model.get_untracked().unwrap_or_default());
    Effect::new(move |_| {
        if let Some(m) = model.get() {
            model_name.set(m);
        }
    });
    let upload = Action::new_local(move |name: &String| {
        let name = name.clone();
        let element = form.get_untracked();
        async move { upload_version(name, element).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = upload.value().get() {
            changed.update(|n| *n += 1);
        }
    });
    view! {
        <section class="card model-upload" data-testid="model-upload">
            <h2>"Upload a version"</h2>
            <form node_ref=form on:submit=move |ev| {
                ev.prevent_default();
                upload.dispatch(model_name.get_untracked().trim().to_string());
            }>
                <div class="form-grid">
                    <label>"Model "
                        <input data-testid="upload-model" prop:value=move || model_name.get()
                            on:input=move |ev| model_name.set(event_target_value(&ev))/>
                    </label>
                    <label>"Stage "
                        <select name="stage" data-testid="upload-stage">
                            <option value="dev" selected=true>"dev"</option>
                            <option value="release">"release"</option>
                        </select>
                    </label>
                    <label>"Version name "
                        <input name="version" data-testid="upload-version" placeholder="next number"/>
                    </label>
                    <label>"Notes " <input name="notes" data-testid="upload-notes"/></label>
                </div>
                <input type="file" name="file" multiple=true data-testid="upload-files" aria-label="Files"/>
                <button type="submit" data-testid="upload-model-files" disabled=move || upload.pending().get()>"Upload"</button>
            </form>
            {move || upload.value().get().map(|r| match r {
                Ok(v) => view! {
                    <p class="small" data-testid="upload-result">
                        {format!("{} {} {}: {} files, bundle {}", v.model, v.stage, v.version, v.files, short_hash(&v.bundle_xxh3))}
                    </p>
                }.into_any(),
                Err(e) => view! { <p class="error small" role="alert" data-testid="upload-error">{e}</p> }.into_any(),
            })}
        </section>
    }
}

/// Posts the form's files and fields to `POST /api/v1/models/{name}/versions`.
#[cfg(feature = "hydrate")]
async fn upload_version(
    name: String,
    form: Option<web_sys::HtmlFormElement>,
) -> Result<ModelVersionView, String> {
    use trainyard_core::protocol::ApiErrorBody;
    if name.is_empty() {
        return Err("model: give the model a name".into());
    }
    let form = form.ok_or("the form is not on the page yet")?;
    let data = web_sys::FormData::new_with_form(&form).map_err(|_| "could not read the form")?;
    let response = gloo_net::http::Request::post(&paths::model_versions(&name))
        .body(data)
        .map_err(|e| e.to_string())?
        .send()
        .await
        .map_err(|e| format!("upload failed: {e}"))?;
    if response.ok() {
        return response.json().await.map_err(|e| e.to_string());
    }
    let status = response.status();
    match response.json::<ApiErrorBody>().await {
        Ok(body) => Err(body.message),
        Err(_) => Err(format!("upload refused ({status})")),
    }
}

#[cfg(not(feature = "hydrate"))]
async fn upload_version<F>(_name: String, _form: Option<F>) -> Result<ModelVersionView, String> {
    Err("uploads run in the browser".into())
}
