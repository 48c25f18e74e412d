//! Launch: pick a catalog task, fill its form, see the exact command line of
//! every run as you type (the server's own argv builder, run in the
//! browser), queue the jobs. `?task=T` picks a task; `?job=N` refills the
//! form with what launched job N ("Launch again").

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use trainyard_core::catalog::{
    form_schema, plan_launch, FieldDef, FieldKind, FieldValue, JobLaunch, LaunchError,
    LaunchErrors, LaunchPlan, LaunchRequest, Task,
};
use trainyard_core::config::SweepLimits;
use trainyard_core::Priority;

use crate::format::count;
use crate::server_fns::{
    launch_task, list_host_ids, load_job_launch, load_launch_tasks, LaunchOutcome, LaunchTask,
    LaunchTasks, UiError,
};

/// Field name → value as the form holds it (text as typed; a list is
/// several ticks of a select).
type Values = BTreeMap<String, FieldValue>;

#[component]
pub fn LaunchPage() -> impl IntoView {
    let query = use_query_map();
    let from_job =
        query.with_untracked(|q| q.get("job").and_then(|s| s.trim().parse::<i64>().ok()));
    let wanted = query.with_untracked(|q| q.get("task"));
    let tasks = LocalResource::new(load_launch_tasks);
    let prefill = LocalResource::new(move || async move {
        match from_job {
            Some(id) => load_job_launch(id).await.map(|l| (id, l)),
            None => Ok((0, None)),
        }
    });
    view! {
        <Title text="Launch"/>
        <div class="page-head">
            <h1>"Launch"</h1>
            <p class="muted">
                "Run a task of the " <a href="/catalog">"catalog"</a>
                ". A comma list in a field, or several ticks, makes a sweep: one job per combination."
            </p>
        </div>
        {move || match (tasks.get(), prefill.get()) {
            (Some(Ok(loaded)), Some(prefill)) => {
                let (note, prefill) = match prefill {
                    Ok((_, Some(l))) => (None, Some(l)),
                    Ok((0, None)) => (None, None),
                    Ok((id, None)) => (Some(format!("Job {id} was not launched from the catalog; the form starts empty.")), None),
                    Err(e) => (Some(format!("Could not read what launched that job: {e}")), None),
                };
                view! { <LaunchForm loaded=loaded prefill=prefill wanted=wanted.clone() note=note/> }.into_any()
            }
            (Some(Err(e)), _) => view! { <p class="error" role="alert">"Could not load the catalog's tasks: " {e.to_string()}</p> }.into_any(),
            _ => view! { <p class="muted" data-testid="launch-loading">"Loading tasks…"</p> }.into_any(),
        }}
    }
    .into_any()
}

/// What the last Queue sent, to show the server's answer at the fields
/// while they still hold those values.
#[derive(Debug, Clone, PartialEq)]
struct Sent {
    task: String,
    values: Values,
}

#[component]
fn LaunchForm(
    loaded: LaunchTasks,
    prefill: Option<JobLaunch>,
    wanted: Option<String>,
    note: Option<String>,
) -> impl IntoView {
    if loaded.tasks.is_empty() {
        return view! {
            <p class="muted" data-testid="launch-no-tasks">
                "The running catalog has no enabled task. " <a href="/catalog">"Edit the catalog"</a> "."
            </p>
        }
        .into_any();
    }
    let limits = SweepLimits {
        max_runs: loaded.max_runs,
    };
    let tasks = StoredValue::new(loaded.tasks);
    let has = |name: &str| tasks.with_value(|t| t.iter().any(|t| t.task_type == name));
    let mut notes: Vec<String> = note.into_iter().collect();
    let asked = prefill.as_ref().map(|l| l.task_type.clone()).or(wanted);
    let first = tasks.with_value(|t| t[0].task_type.clone());
    let initial_task = match asked {
        Some(name) if has(&name) => name,
        Some(name) => {
            notes.push(format!(
                "There is no enabled task {name:?} in the running catalog."
            ));
            first
        }
        None => first,
    };
    let initial_values: Values = match &prefill {
        Some(l) if l.task_type == initial_task => {
            if let Some(rev) = Some(l.revision_id).filter(|r| Some(*r) != loaded.revision_id) {
                notes.push(format!(
                    "Job {} was launched from catalog revision {rev}; the form is the running revision's.",
                    l.job_id
                ));
            }
            tasks.with_value(|t| {
                let task = t.iter().find(|t| t.task_type == initial_task);
                l.values
                    .iter()
                    .filter(|(k, _)| task.is_some_and(|t| t.fields.iter().any(|f| f.name == **k)))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
        }
        _ => Values::new(),
    };

    let task_name = RwSignal::new(initial_task);
    let values = RwSignal::new(initial_values);
    let task = Memo::new(move |_| {
        task_name.with(|n| tasks.with_value(|t| t.iter().find(|t| t.task_type == *n).cloned()))
    });
    let plan = Memo::new(move |_| {
        task.with(|t| {
            t.as_ref()
                .map(|t| values.with(|v| plan_launch(t, v, &limits, &|_| None)))
        })
    });
    let options = LaunchOptions::new();
    let launch = Action::new(|input: &LaunchTask| launch_task(input.request.clone()));
    let sent = RwSignal::new(None::<Sent>);
    // Problems per field: the browser's own check, or the server's refusal
    // while the form still holds what was sent.
    let problems = Memo::new(move |_| {
        let server = match launch.value().get() {
            Some(Ok(LaunchOutcome::Invalid(errors)))
                if sent.with(|s| {
                    s.as_ref().is_some_and(|s| {
                        task_name.with(|t| *t == s.task) && values.with(|v| *v == s.values)
                    })
                }) =>
            {
                Some(errors)
            }
            _ => None,
        };
        server.unwrap_or_else(|| match plan.get() {
            Some(Err(LaunchErrors(errors))) => errors,
            _ => Vec::new(),
        })
    });
    let runs = Signal::derive(move || match plan.get() {
        Some(Ok(p)) => Some(p),
        _ => None,
    });
    let options_error = Signal::derive(move || options.parse().err());
    let can_queue = Signal::derive(move || {
        runs.with(Option::is_some)
            && problems.with(Vec::is_empty)
            && options_error.with(Option::is_none)
            && !launch.pending().get()
    });
    let do_queue = move || {
        if !can_queue.get_untracked() {
            return;
        }
        let Ok((priority, gpus, host)) = options.parse() else {
            return;
        };
        let task_type = task_name.get_untracked();
        let v = values.get_untracked();
        sent.set(Some(Sent {
            task: task_type.clone(),
            values: v.clone(),
        }));
        launch.dispatch(LaunchTask {
            request: LaunchRequest {
                task_type,
                values: v,
                priority,
                gpus,
                host,
                min_gpu_memory_mb: None,
                preview: false,
            },
        });
    };

    view! {
        {notes.into_iter().map(|n| view! { <p class="warning" data-testid="launch-note">{n}</p> }).collect_view()}
        <form
            class="launch"
            on:submit=move |ev| {
                ev.prevent_default();
                do_queue();
            }
        >
            <section class="card launch-form">
                <div class="fields">
                    <label for="launch-task">"Task"</label>
                    <select
                        id="launch-task"
                        data-testid="launch-task"
                        prop:value=move || task_name.get()
                        on:change=move |ev| {
                            task_name.set(event_target_value(&ev));
                            values.set(Values::new());
                        }
                    >
                        {tasks.with_value(|t| t.iter().map(|t| {
                            let name = t.task_type.clone();
                            let label = if t.title.is_empty() || t.title == t.task_type {
                                t.task_type.clone()
                            } else {
                                format!("{} ({})", t.title, t.task_type)
                            };
                            view! { <option value=name.clone() selected=move || task_name.with(|n| *n == name)>{label}</option> }
                        }).collect_view())}
                    </select>
                </div>
                {move || task.get().map(|t| view! { <TaskFields task=t values=values problems=problems/> })}
            </section>
            <aside class="card submit-card">
                <p class="run-count num" data-testid="launch-run-count" data-valid=move || runs.with(Option::is_some).to_string()>
                    {move || match runs.get() {
                        Some(p) => view! { <strong>{count(p.runs.len(), "run", "runs")}</strong> }.into_any(),
                        None => view! {
                            <strong class="error">{move || count(problems.with(Vec::len), "problem", "problems")}</strong>
                            <span class="muted small">" in the form"</span>
                        }.into_any(),
                    }}
                </p>
                <OptionFields options=options/>
                {move || options_error.get().map(|e| view! { <p class="error small" role="alert">{e}</p> })}
                <GeneralProblems problems=problems/>
                <button type="submit" class="primary" data-testid="launch-queue" disabled=move || !can_queue.get()>
                    {move || match runs.get() {
                        _ if launch.pending().get() => "Queueing…".to_string(),
                        Some(p) => format!("Queue {}", count(p.runs.len(), "job", "jobs")),
                        None => "Queue".to_string(),
                    }}
                </button>
                <LaunchResultLine launch=launch/>
            </aside>
            <LaunchPreview runs=runs/>
        </form>
    }
    .into_any()
}

/// The task's visible fields, by group, each with its problem next to it.
#[component]
fn TaskFields(
    task: Task,
    values: RwSignal<Values>,
    problems: Memo<Vec<LaunchError>>,
) -> impl IntoView {
    let form = form_schema(&task);
    let description = (!form.description.is_empty()).then(|| form.description.clone());
    let hidden = task.hidden_fields.len();
    view! {
        {description.map(|d| view! { <p class="muted small" data-testid="task-description">{d}</p> })}
        {form.groups.iter().map(|group| {
            let fields: Vec<FieldDef> = form.fields.iter().filter(|f| f.group == *group).cloned().collect();
            view! {
                <fieldset class="field-group" data-group=group.clone()>
                    <legend>{group.clone()}</legend>
                    <div class="fields">
                        {fields.into_iter().map(|f| view! { <FieldInput field=f values=values problems=problems/> }).collect_view()}
                    </div>
                </fieldset>
            }
        }).collect_view()}
        {(hidden > 0).then(|| view! {
            <p class="muted small">{format!("{} not on the form: passed with {}.", count(hidden, "hidden field", "hidden fields"), if hidden == 1 { "its default" } else { "their defaults" })}</p>
        })}
    }
}

/// "0.01", "16, 32" as a text box shows a value.
fn as_text(v: &FieldValue) -> String {
    match v {
        FieldValue::List(items) => items
            .iter()
            .map(FieldValue::arg)
            .collect::<Vec<_>>()
            .join(", "),
        v => v.arg(),
    }
}

/// What the field's hint says: its default and range.
fn hint(f: &FieldDef) -> String {
    let mut parts = Vec::new();
    if let Some(d) = f.default.as_ref().filter(|d| !d.is_empty()) {
        parts.push(format!("default {}", d.arg()));
    }
    match (f.min, f.max) {
        (Some(lo), Some(hi)) => parts.push(format!("{lo} to {hi}")),
        (Some(lo), None) => parts.push(format!("at least {lo}")),
        (None, Some(hi)) => parts.push(format!("at most {hi}")),
        (None, None) => {}
    }
    if f.required && f.default.is_none() {
        parts.push("required".into());
    }
    parts.join(" · ")
}

#[component]
fn FieldInput(
    field: FieldDef,
    values: RwSignal<Values>,
    problems: Memo<Vec<LaunchError>>,
) -> impl IntoView {
    let name = field.name.clone();
    let id = format!("field-{name}");
    let label = if field.label.is_empty() {
        name.clone()
    } else {
        field.label.clone()
    };
    let error = {
        let name = name.clone();
        Memo::new(move |_| {
            problems.with(|p| {
                let msgs: Vec<&str> = p
                    .iter()
                    .filter(|e| e.field.as_deref() == Some(name.as_str()))
                    .map(|e| e.message.as_str())
                    .collect();
                (!msgs.is_empty()).then(|| msgs.join("; "))
            })
        })
    };
    let input = match field.kind {
        FieldKind::Boolean => {
            let default = matches!(field.default, Some(FieldValue::Bool(true)));
            let n = name.clone();
            let checked = move || match values.with(|v| v.get(&n).cloned()) {
                Some(FieldValue::Bool(b)) => b,
                Some(other) => {
                    other.coerce(trainyard_core::catalog::ValueType::Bool)
                        == Ok(FieldValue::Bool(true))
                }
                None => default,
            };
            let n = name.clone();
            view! {
                <input
                    type="checkbox"
                    id=id.clone()
                    data-testid=id.clone()
                    prop:checked=checked
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        values.update(|v| {
                            v.insert(n.clone(), FieldValue::Bool(on));
                        });
                    }
                />
            }
            .into_any()
        }
        FieldKind::Select => {
            let choices = field.choices.clone();
            let default = field.default.clone();
            view! {
                <span class="choices" id=id.clone() data-testid=id.clone() role="group" aria-label=label.clone()>
                    {choices.iter().map(|choice| {
                        let n = name.clone();
                        let all = choices.clone();
                        let default = default.clone();
                        let c = choice.clone();
                        let ticked = move || {
                            values.with(|v| match v.get(&n) {
                                Some(FieldValue::List(items)) => items.contains(&c),
                                Some(one) => *one == c || one.arg() == c.arg(),
                                None => default.as_ref() == Some(&c),
                            })
                        };
                        let n = name.clone();
                        let c = choice.clone();
                        let shown = choice.arg();
                        let default_for_toggle = field.default.clone();
                        view! {
                            <label class="choice">
                                <input
                                    type="checkbox"
                                    value=shown.clone()
                                    prop:checked=ticked
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        values.update(|v| {
                                            let current: Vec<FieldValue> = match v.get(&n) {
                                                Some(FieldValue::List(items)) => items.clone(),
                                                Some(one) => vec![one.clone()],
                                                None => default_for_toggle.iter().cloned().collect(),
                                            };
                                            let picked: Vec<FieldValue> = all
                                                .iter()
                                                .filter(|x| if **x == c { on } else { current.iter().any(|y| y == *x || y.arg() == x.arg()) })
                                                .cloned()
                                                .collect();
                                            let value = match picked.as_slice() {
                                                [one] => one.clone(),
                                                _ => FieldValue::List(picked),
                                            };
                                            v.insert(n.clone(), value);
                                        });
                                    }
                                />
                                {shown}
                            </label>
                        }
                    }).collect_view()}
                </span>
            }
            .into_any()
        }
        FieldKind::Text | FieldKind::Number => {
            let n = name.clone();
            let text = move || values.with(|v| v.get(&n).map(as_text).unwrap_or_default());
            let n = name.clone();
            let placeholder = field
                .default
                .as_ref()
                .map(FieldValue::arg)
                .unwrap_or_default();
            let numeric = field.kind == FieldKind::Number;
            view! {
                <input
                    type="text"
                    id=id.clone()
                    data-testid=id.clone()
                    inputmode=if numeric { "decimal" } else { "text" }
                    autocomplete="off"
                    spellcheck="false"
                    placeholder=placeholder
                    aria-invalid=move || error.with(Option::is_some).to_string()
                    prop:value=text
                    on:input=move |ev| {
                        let raw = event_target_value(&ev);
                        values.update(|v| {
                            if raw.trim().is_empty() {
                                v.remove(&n);
                            } else {
                                v.insert(n.clone(), FieldValue::Text(raw));
                            }
                        });
                    }
                />
            }
            .into_any()
        }
    };
    let hint = hint(&field);
    let description = field.description.clone();
    let required = field.required;
    let error_id = format!("field-error-{name}");
    view! {
        <label for=id.clone()>{label}{required.then_some(" *")}</label>
        <div class="field" data-field=name.clone()>
            {input}
            {(!hint.is_empty()).then(|| view! { <span class="muted small field-hint">{hint}</span> })}
            {(!description.is_empty()).then(|| view! { <p class="muted small field-description">{description}</p> })}
            {move || error.get().map(|e| view! { <p class="error small" role="alert" data-testid=error_id.clone()>{e}</p> })}
        </div>
    }
}

/// Problems of the launch as a whole (no field named).
#[component]
fn GeneralProblems(problems: Memo<Vec<LaunchError>>) -> impl IntoView {
    move || {
        let general: Vec<String> = problems.with(|p| {
            p.iter()
                .filter(|e| e.field.is_none())
                .map(|e| e.message.clone())
                .collect()
        });
        (!general.is_empty()).then(|| {
            view! {
                <ul class="problems" role="alert" data-testid="launch-problems">
                    {general.into_iter().map(|m| view! { <li>{m}</li> }).collect_view()}
                </ul>
            }
        })
    }
}

/// Priority, GPUs per job and host, as on Execute.
#[derive(Clone, Copy)]
struct LaunchOptions {
    priority: RwSignal<Priority>,
    gpus: RwSignal<String>,
    host: RwSignal<String>,
}

impl LaunchOptions {
    fn new() -> LaunchOptions {
        LaunchOptions {
            priority: RwSignal::new(Priority::default()),
            gpus: RwSignal::new(String::new()),
            host: RwSignal::new(String::new()),
        }
    }

    #[allow(clippy::type_complexity)]
    fn parse(&self) -> Result<(Option<Priority>, Option<u32>, Option<String>), String> {
        let gpus = self.gpus.get();
        let gpus =
            match gpus.trim() {
                "" => None,
                g => Some(g.parse::<u32>().map_err(|_| {
                    "GPUs per job must be a whole number, or empty for 1".to_string()
                })?),
            };
        let host = self.host.get().trim().to_string();
        Ok((
            Some(self.priority.get()),
            gpus,
            (!host.is_empty()).then_some(host),
        ))
    }
}

#[component]
fn OptionFields(options: LaunchOptions) -> impl IntoView {
    let hosts = LocalResource::new(list_host_ids);
    let host_ids = move || hosts.get().and_then(Result::ok).unwrap_or_default();
    view! {
        <div class="fields">
            <label for="launch-priority">"Priority"</label>
            <select
                id="launch-priority"
                data-testid="launch-priority"
                prop:value=move || options.priority.get().label()
                on:change=move |ev| {
                    if let Ok(p) = event_target_value(&ev).parse() {
                        options.priority.set(p);
                    }
                }
            >
                {Priority::ALL
                    .into_iter()
                    .map(|p| view! { <option value=p.label() selected=move || options.priority.get() == p>{p.label()}</option> })
                    .collect_view()}
            </select>
            <label for="launch-gpus">"GPUs per job"</label>
            <input
                id="launch-gpus"
                type="number"
                min="0"
                inputmode="numeric"
                data-testid="launch-gpus"
                placeholder="1"
                prop:value=move || options.gpus.get()
                on:input=move |ev| options.gpus.set(event_target_value(&ev))
            />
            <label for="launch-host">"Host"</label>
            <input
                id="launch-host"
                list="launch-known-hosts"
                autocomplete="off"
                data-testid="launch-host"
                placeholder="any host"
                prop:value=move || options.host.get()
                on:input=move |ev| options.host.set(event_target_value(&ev))
            />
            <datalist id="launch-known-hosts">
                {move || host_ids().into_iter().map(|id| view! { <option value=id></option> }).collect_view()}
            </datalist>
        </div>
    }
}

/// One argv entry as a shell would need it written (for reading only:
/// nothing runs a shell).
fn shell_word(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

/// The command line of a run, as the job page shows it.
pub(crate) fn command_line(argv: &[String]) -> String {
    argv.iter()
        .map(|a| shell_word(a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs shown at most in the preview table.
const PREVIEW_ROWS: usize = 100;

#[component]
fn LaunchPreview(#[prop(into)] runs: Signal<Option<LaunchPlan>>) -> impl IntoView {
    let axes = move || {
        runs.with(|p| {
            p.as_ref()
                .and_then(|p| p.runs.first())
                .map(|r| r.params.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>())
                .unwrap_or_default()
        })
    };
    view! {
        <section class="card run-preview">
            <header class="card-head">
                <h2>"Runs"</h2>
                <span class="muted small num" data-testid="launch-preview-note">
                    {move || runs.with(|p| match p {
                        Some(p) if p.runs.len() > PREVIEW_ROWS => format!("showing {PREVIEW_ROWS} of {}", p.runs.len()),
                        _ => String::new(),
                    })}
                </span>
            </header>
            <Show
                when=move || runs.with(Option::is_some)
                fallback=|| view! { <p class="muted small">"Fix the form to see its runs."</p> }
            >
                <div class="table-scroll">
                    <table class="data" data-testid="launch-preview">
                        <thead>
                            <tr>
                                <th scope="col" class="num">"#"</th>
                                <th scope="col">"Run name"</th>
                                {move || axes().into_iter().map(|key| view! { <th scope="col">{key}</th> }).collect_view()}
                                <th scope="col">"Command"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {move || runs.get().map(|p| p.runs.into_iter().take(PREVIEW_ROWS).enumerate().map(|(i, r)| {
                                let argv = serde_json::to_string(&r.argv).unwrap_or_default();
                                view! {
                                    <tr data-testid="launch-preview-row" data-argv=argv>
                                        <td class="num muted">{i + 1}</td>
                                        <td class="mono">{r.name}</td>
                                        {r.params.into_iter().map(|(_, v)| view! { <td class="mono">{v}</td> }).collect_view()}
                                        <td><code data-testid="launch-command">{command_line(&r.argv)}</code></td>
                                    </tr>
                                }
                            }).collect_view())}
                        </tbody>
                    </table>
                </div>
            </Show>
        </section>
    }
    .into_any()
}

/// "Queued 2 jobs" with links to them, or why not.
#[component]
fn LaunchResultLine(launch: Action<LaunchTask, Result<LaunchOutcome, UiError>>) -> impl IntoView {
    move || {
        launch.value().get().map(|result: Result<LaunchOutcome, UiError>| match result {
            Ok(LaunchOutcome::Queued(r)) => {
                let sweep = r.sweep_id;
                view! {
                    <p class="ok" role="status" data-testid="launch-result" data-outcome="queued">
                        {format!("Queued {}: ", count(r.jobs.len(), "job", "jobs"))}
                        {r.jobs.iter().map(|j| view! {
                            <a href=format!("/jobs/{}", j.id) data-testid="launched-job" data-id=j.id>{format!("#{}", j.id)}</a>" "
                        }).collect_view()}
                        {sweep.map(|s| view! { <a href=format!("/queue?sweep={s}") data-testid="launch-queue-link">{format!("See sweep {s} in the Queue")}</a> })}
                    </p>
                }
                .into_any()
            }
            Ok(LaunchOutcome::Invalid(errors)) => view! {
                <p class="error" role="alert" data-testid="launch-result" data-outcome="refused">
                    {format!("The server refused it: {}, shown at the fields.", count(errors.len(), "problem", "problems"))}
                </p>
            }
            .into_any(),
            Err(e) => view! {
                <p class="error" role="alert" data-testid="launch-result" data-outcome="error">
                    "Could not queue it: " {e.to_string()}
                </p>
            }
            .into_any(),
        })
    }
}
