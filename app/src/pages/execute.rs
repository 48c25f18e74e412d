//! Execute: write an experiment config, see its runs as you type, queue it.

use leptos::prelude::*;
use leptos_meta::Title;
use trainyard_core::{Priority, SubmitOptions};

use crate::components::config_editor::ConfigEditor;
use crate::components::config_problems::ConfigProblems;
use crate::components::run_preview::RunPreview;
use crate::experiment::{check, Checked, Diagnostic, Summary, EXAMPLE};
use crate::format::count;
use crate::server_fns::{
    list_host_ids, max_sweep_runs, submit_experiment, SubmitExperiment, SubmitOutcome, UiError,
};

/// Choices that override the config's own scheduling keys.
#[derive(Clone, Copy)]
struct Overrides {
    priority: RwSignal<Option<Priority>>,
    gpus: RwSignal<String>,
    host: RwSignal<String>,
    min_gpu_memory_mb: RwSignal<String>,
}

impl Overrides {
    fn new() -> Overrides {
        Overrides {
            priority: RwSignal::new(None),
            gpus: RwSignal::new(String::new()),
            host: RwSignal::new(String::new()),
            min_gpu_memory_mb: RwSignal::new(String::new()),
        }
    }

    /// The options to submit, or what is wrong with a field.
    fn options(&self) -> Result<SubmitOptions, String> {
        let number = |value: String, what: &str| -> Result<Option<u64>, String> {
            let value = value.trim().to_string();
            if value.is_empty() {
                return Ok(None);
            }
            value
                .parse::<u64>()
                .map(Some)
                .map_err(|_| format!("{what} must be a whole number, or empty to use the config's"))
        };
        let gpus = number(self.gpus.get(), "GPUs")?
            .map(|n| u32::try_from(n).map_err(|_| "GPUs: too many".to_string()))
            .transpose()?;
        let host = self.host.get().trim().to_string();
        Ok(SubmitOptions {
            priority: self.priority.get(),
            gpus,
            host: (!host.is_empty()).then_some(host),
            min_gpu_memory_mb: number(self.min_gpu_memory_mb.get(), "Minimum free GPU memory")?,
        })
    }
}

#[component]
pub fn ExecutePage() -> impl IntoView {
    let text = RwSignal::new(EXAMPLE.to_string());
    // What the checks below look at: `text`, 150 ms after the last edit.
    let checked_text = RwSignal::new(EXAMPLE.to_string());
    #[cfg(feature = "hydrate")]
    debounce(text, checked_text);
    let checked = Memo::new(move |_| checked_text.with(|t| check(t)));
    let summary = Signal::derive(move || match checked.get() {
        Checked::Valid(s) => Some(s),
        Checked::Invalid(_) => None,
    });
    let cap = LocalResource::new(max_sweep_runs);
    let cap = Signal::derive(move || cap.get().and_then(Result::ok));
    let over_cap = Signal::derive(
        move || matches!((summary.get(), cap.get()), (Some(s), Some(cap)) if s.run_count > cap),
    );

    let overrides = Overrides::new();
    let submit = Action::new(|input: &SubmitExperiment| {
        submit_experiment(input.yaml.clone(), input.options.clone())
    });
    let submitted = RwSignal::new(String::new());
    // Problems the server found in the text it was sent, while it is unchanged.
    let diagnostics = Memo::new(move |_| match checked.get() {
        Checked::Invalid(d) => d,
        Checked::Valid(_) => match submit.value().get() {
            Some(Ok(SubmitOutcome::Invalid(d))) if text.with(|t| *t == submitted.get()) => d,
            _ => Vec::new(),
        },
    });
    let options_error = Signal::derive(move || overrides.options().err());
    let can_submit = Signal::derive(move || {
        summary.with(Option::is_some)
            && !over_cap.get()
            && options_error.with(Option::is_none)
            && !submit.pending().get()
    });
    let do_submit = move || {
        let yaml = text.get_untracked();
        // Edits from the last 150 ms are not checked yet: check them now.
        if checked_text.get_untracked() != yaml {
            checked_text.set(yaml.clone());
        }
        if !can_submit.get_untracked() {
            return;
        }
        let Ok(options) = overrides.options() else {
            return;
        };
        submitted.set(yaml.clone());
        submit.dispatch(SubmitExperiment { yaml, options });
    };
    let on_submit = Callback::new(move |()| do_submit());

    view! {
        <Title text="Execute"/>
        <div class="page-head">
            <h1>"Execute"</h1>
            <p class="muted">"Write an experiment in YAML. Every combination of the list values is one run."</p>
        </div>
        <form
            class="execute"
            on:submit=move |ev| {
                ev.prevent_default();
                do_submit();
            }
            on:keydown=move |ev| {
                // The editor handles its own Ctrl-Enter and marks it handled.
                if (ev.ctrl_key() || ev.meta_key()) && ev.key() == "Enter" && !ev.default_prevented() {
                    ev.prevent_default();
                    do_submit();
                }
            }
        >
            <section class="card editor-card">
                <ConfigEditor text=text diagnostics=diagnostics on_submit=on_submit/>
                <ConfigProblems diagnostics=diagnostics/>
            </section>
            <aside class="card submit-card">
                <RunCount summary=summary diagnostics=diagnostics/>
                <CapWarning summary=summary cap=cap/>
                <OverrideFields overrides=overrides summary=summary/>
                {move || options_error.get().map(|e| view! { <p class="error small" role="alert">{e}</p> })}
                <button type="submit" class="primary" data-testid="submit-experiment" disabled=move || !can_submit.get()>
                    {move || match summary.get() {
                        _ if submit.pending().get() => "Queueing…".to_string(),
                        Some(s) => format!("Queue {}", count(s.run_count as usize, "run", "runs")),
                        None => "Queue".to_string(),
                    }}
                </button>
                <p class="muted small">"or press " <kbd>"Ctrl"</kbd> "+" <kbd>"Enter"</kbd></p>
                <SubmitResultLine submit=submit/>
            </aside>
            <RunPreview summary=summary/>
        </form>
    }
    .into_any()
}

/// Copies `text` into `checked` once it has been still for 150 ms.
#[cfg(feature = "hydrate")]
pub(crate) fn debounce(text: RwSignal<String>, checked: RwSignal<String>) {
    let generation = StoredValue::new(0u64);
    Effect::new(move |_| {
        let value = text.get();
        let mine = generation.get_value() + 1;
        generation.set_value(mine);
        set_timeout(
            move || {
                if generation.try_get_value() == Some(mine) && checked.get_untracked() != value {
                    checked.set(value);
                }
            },
            std::time::Duration::from_millis(150),
        );
    });
}

/// "4 runs", or how many problems the config has.
#[component]
fn RunCount(
    #[prop(into)] summary: Signal<Option<Summary>>,
    #[prop(into)] diagnostics: Signal<Vec<Diagnostic>>,
) -> impl IntoView {
    view! {
        <p class="run-count num" data-testid="run-count" data-valid=move || summary.with(Option::is_some).to_string()>
            {move || match summary.get() {
                Some(s) => view! {
                    <strong>{count(s.run_count as usize, "run", "runs")}</strong>
                    <span class="muted small">
                        {format!(" · {}", count(s.axes.len(), "axis", "axes"))}
                        {if s.gpus == 0 { " · CPU".to_string() } else { format!(" · {} each", count(s.gpus as usize, "GPU", "GPUs")) }}
                    </span>
                }.into_any(),
                None => view! {
                    <strong class="error">{move || count(diagnostics.with(Vec::len), "problem", "problems")}</strong>
                    <span class="muted small">" in the config"</span>
                }.into_any(),
            }}
        </p>
    }
    .into_any()
}

/// Says when a sweep expands to more runs than the server accepts.
#[component]
fn CapWarning(
    #[prop(into)] summary: Signal<Option<Summary>>,
    #[prop(into)] cap: Signal<Option<u64>>,
) -> impl IntoView {
    move || match (summary.get(), cap.get()) {
        (Some(s), Some(cap)) if s.run_count > cap => Some(view! {
            <p class="warning" role="alert" data-testid="over-cap">
                {format!(
                    "This sweep has {} runs; the server accepts at most {} per submission. Remove values from an axis, or split it.",
                    s.run_count, cap
                )}
            </p>
        }),
        _ => None,
    }
}

/// Priority, GPUs, host and memory: empty means "as the config says".
#[component]
fn OverrideFields(
    overrides: Overrides,
    #[prop(into)] summary: Signal<Option<Summary>>,
) -> impl IntoView {
    let hosts = LocalResource::new(list_host_ids);
    let host_ids = move || hosts.get().and_then(Result::ok).unwrap_or_default();
    let config_priority = move || {
        summary
            .with(|s| s.as_ref().and_then(|s| s.priority))
            .unwrap_or_default()
    };
    let priority = move || overrides.priority.get().unwrap_or_else(config_priority);
    let gpus_placeholder = move || {
        summary.with(|s| {
            s.as_ref()
                .map_or(String::new(), |s| format!("{} (config)", s.gpus))
        })
    };
    let host_placeholder = move || {
        summary
            .with(|s| s.as_ref().and_then(|s| s.host.clone()))
            .unwrap_or_else(|| "any host".into())
    };
    view! {
        <div class="fields">
            <label for="priority">"Priority"</label>
            <select
                id="priority"
                data-testid="submit-priority"
                prop:value=move || priority().label()
                on:change=move |ev| overrides.priority.set(event_target_value(&ev).parse().ok())
            >
                {Priority::ALL
                    .into_iter()
                    .map(|p| view! { <option value=p.label() selected=move || priority() == p>{p.label()}</option> })
                    .collect_view()}
            </select>
            <label for="gpus">"GPUs per run"</label>
            <input
                id="gpus"
                type="number"
                min="0"
                inputmode="numeric"
                data-testid="submit-gpus"
                placeholder=gpus_placeholder
                prop:value=move || overrides.gpus.get()
                on:input=move |ev| overrides.gpus.set(event_target_value(&ev))
            />
            <label for="host">"Host"</label>
            <input
                id="host"
                list="known-hosts"
                autocomplete="off"
                data-testid="submit-host"
                placeholder=host_placeholder
                prop:value=move || overrides.host.get()
                on:input=move |ev| overrides.host.set(event_target_value(&ev))
            />
            <datalist id="known-hosts">
                {move || host_ids().into_iter().map(|id| view! { <option value=id></option> }).collect_view()}
            </datalist>
            <label for="min-mem">"Min. free GPU memory"</label>
            <span class="with-unit">
                <input
                    id="min-mem"
                    type="number"
                    min="0"
                    step="1024"
                    inputmode="numeric"
                    data-testid="submit-min-memory"
                    placeholder="none"
                    prop:value=move || overrides.min_gpu_memory_mb.get()
                    on:input=move |ev| overrides.min_gpu_memory_mb.set(event_target_value(&ev))
                />
                <span class="muted small">"MiB"</span>
            </span>
        </div>
    }
    .into_any()
}

/// "Queued 4 jobs" with a link to them, or why the submission failed.
#[component]
fn SubmitResultLine(
    submit: Action<SubmitExperiment, Result<SubmitOutcome, UiError>>,
) -> impl IntoView {
    move || {
        submit.value().get().map(|result| match result {
            Ok(SubmitOutcome::Queued { sweep_id, jobs }) => view! {
                <p class="ok" role="status" data-testid="submit-result">
                    {format!("Queued {}. ", count(jobs, "job", "jobs"))}
                    <a href=format!("/queue?sweep={sweep_id}") data-testid="queue-link">{format!("See sweep {sweep_id} in the Queue")}</a>
                </p>
            }
            .into_any(),
            Ok(SubmitOutcome::Invalid(d)) => view! {
                <p class="error" role="alert" data-testid="submit-result">
                    {format!("The server found {} in the config; it is marked in the editor.", count(d.len(), "problem", "problems"))}
                </p>
            }
            .into_any(),
            Err(e) => view! {
                <p class="error" role="alert" data-testid="submit-result">
                    "Could not queue it: " {e.to_string()}
                </p>
            }
            .into_any(),
        })
    }
}
