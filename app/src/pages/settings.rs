//! Settings: the server's configuration (read-only), and notifications:
//! webhooks added, listed, test-sent and deleted here, each with how its
//! last delivery went.

use leptos::prelude::*;
use leptos_meta::Title;
use trainyard_core::webhooks::{DeliveryStatus, DeliveryView, WebhookKind, WebhookView};

use crate::format::utc;
use crate::loaded::load;
use crate::server_fns::{
    add_webhook, delete_webhook, get_status, list_deliveries, list_webhooks, test_webhook,
};

#[component]
pub fn SettingsPage() -> impl IntoView {
    let status = load(|| (), |_| get_status());
    view! {
        <Title text="Settings"/>
        <h1>"Settings"</h1>
        <p class="muted">
            "Apart from notifications, settings are set when the server starts ("
            <code>"trainyard serve --help"</code> " lists every flag and environment variable)."
        </p>
        <Webhooks/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match status.await {
                    Ok(s) => view! {
                        <section class="card">
                            <h2>"Host health"</h2>
                            <dl class="facts">
                                <dt>"Stale after"</dt>
                                <dd class="num">{s.stale_after_secs} " s without a heartbeat"</dd>
                                <dt>"Disconnected after"</dt>
                                <dd class="num">{s.disconnected_after_secs} " s without a heartbeat"</dd>
                            </dl>
                        </section>
                        <section class="card">
                            <h2>"Access"</h2>
                            {if s.auth_required {
                                view! {
                                    <p>"An API key is required for the API, agents and this UI."</p>
                                    <form method="post" action="/logout">
                                        <button type="submit">"Log out"</button>
                                    </form>
                                }.into_any()
                            } else {
                                view! {
                                    <p>"No API key: the server listens on loopback only. Start it with "
                                    <code>"--api-key"</code> " to accept agents from other machines."</p>
                                }.into_any()
                            }}
                        </section>
                    }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">"Could not load settings: " {e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// One delivery as a short sentence: "delivered (HTTP 200), 1 attempt" or
/// "failed after 5 attempts: HTTP 500: …".
fn delivery_summary(d: &DeliveryView) -> String {
    let attempts = if d.attempts == 1 {
        "1 attempt".to_string()
    } else {
        format!("{} attempts", d.attempts)
    };
    let error = d.last_error.as_deref().unwrap_or("");
    match d.status {
        DeliveryStatus::Delivered => match d.http_status {
            Some(code) => format!("{} delivered (HTTP {code}), {attempts}", d.event),
            None => format!("{} delivered, {attempts}", d.event),
        },
        DeliveryStatus::Pending if error.is_empty() => format!("{} sending…", d.event),
        DeliveryStatus::Pending => format!("{} retrying after {attempts}: {error}", d.event),
        DeliveryStatus::Failed => format!("{} failed after {attempts}: {error}", d.event),
    }
}

fn status_class(d: &DeliveryView) -> &'static str {
    match d.status {
        DeliveryStatus::Delivered => "small",
        DeliveryStatus::Pending => "small muted",
        DeliveryStatus::Failed => "small error",
    }
}

/// Notifications: the webhooks, a form to add one, and recent deliveries.
#[component]
fn Webhooks() -> impl IntoView {
    let changed = RwSignal::new(0u32);
    let hooks = load(move || changed.get(), |_| list_webhooks());
    let deliveries = load(move || changed.get(), |_| list_deliveries());
    view! {
        <section class="card" data-testid="webhooks">
            <div class="card-head">
                <h2>"Notifications"</h2>
                <button class="small" on:click=move |_| changed.update(|n| *n += 1)>"Refresh"</button>
            </div>
            <p class="muted small">
                "Webhooks are called when a job succeeds, fails, is lost or cancelled, and when a sweep's last job ends. "
                "Slack-style webhooks get " <code>"{\"text\": …}"</code> "; JSON ones the whole event. "
                "Failed attempts are retried with backoff; a receiver never holds up the queue."
            </p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match hooks.await {
                        Ok(list) if list.is_empty() => view! {
                            <p class="muted" data-testid="no-webhooks">"No webhooks yet."</p>
                        }.into_any(),
                        Ok(list) => view! {
                            <table class="data" data-testid="webhook-list">
                                <thead><tr>
                                    <th>"URL"</th><th>"Kind"</th><th>"Project"</th><th>"Events"</th>
                                    <th>"Last delivery"</th><th></th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|hook| view! { <WebhookRow hook changed/> }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">"Could not load webhooks: " {e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            <AddWebhook changed/>
            <h3>"Recent deliveries"</h3>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match deliveries.await {
                        Ok(list) if list.is_empty() => view! { <p class="muted small">"None yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <ul class="small" data-testid="deliveries">
                                {list.into_iter().map(|d| {
                                    let what = match (d.job_id, d.sweep_id) {
                                        (Some(job), _) => format!("job {job}: "),
                                        (_, Some(sweep)) => format!("sweep {sweep}: "),
                                        _ => String::new(),
                                    };
                                    view! {
                                        <li class=status_class(&d) title=utc(d.updated_ms)>
                                            {format!("#{} webhook {} · {what}{}", d.id, d.webhook_id, delivery_summary(&d))}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(e) => view! { <p class="error small" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn WebhookRow(hook: WebhookView, changed: RwSignal<u32>) -> impl IntoView {
    let id = hook.id;
    let test = Action::new(move |_: &()| async move { test_webhook(id).await });
    let remove = Action::new(move |_: &()| async move { delete_webhook(id).await });
    Effect::new(move |_| {
        if test.value().get().is_some() || matches!(remove.value().get(), Some(Ok(()))) {
            changed.update(|n| *n += 1);
        }
    });
    let events = hook
        .events
        .iter()
        .map(|e| e.label())
        .collect::<Vec<_>>()
        .join(", ");
    let last = hook.last_delivery.clone();
    let from_flag = hook.source == "flag";
    view! {
        <tr data-testid="webhook">
            <td><code class="small">{hook.url.clone()}</code>{from_flag.then(|| view! { <span class="muted small">" (flag)"</span> })}</td>
            <td>{hook.kind.label()}</td>
            <td>{hook.project.clone().unwrap_or_else(|| "all".into())}</td>
            <td class="small">{events}</td>
            <td data-testid="last-delivery">
                {match last {
                    Some(d) => view! { <span class=status_class(&d) title=utc(d.updated_ms)>{delivery_summary(&d)}</span> }.into_any(),
                    None => view! { <span class="muted small">"none yet"</span> }.into_any(),
                }}
                {move || remove.value().get().and_then(|r| r.err()).map(|e| view! {
                    <span class="error small" role="alert">" " {e.to_string()}</span>
                })}
            </td>
            <td class="row">
                <button class="small" data-testid="test-webhook" disabled=move || test.pending().get()
                    on:click=move |_| { test.dispatch(()); }>
                    {move || if test.pending().get() { "Sending…" } else { "Send test" }}
                </button>
                <button class="small" data-testid="delete-webhook" disabled=move || remove.pending().get()
                    title=if from_flag { "Given by a flag: it comes back when the server restarts" } else { "" }
                    on:click=move |_| { remove.dispatch(()); }>"Delete"</button>
            </td>
        </tr>
    }
}

#[component]
fn AddWebhook(changed: RwSignal<u32>) -> impl IntoView {
    let url = RwSignal::new(String::new());
    let slack = RwSignal::new(false);
    let project = RwSignal::new(String::new());
    let events = RwSignal::new(String::new());
    let add = Action::new(move |_: &()| {
        let kind = if slack.get_untracked() {
            WebhookKind::Slack
        } else {
            WebhookKind::Json
        };
        let (u, p, e) = (
            url.get_untracked(),
            project.get_untracked(),
            events.get_untracked(),
        );
        async move { add_webhook(u, kind, p, e).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = add.value().get() {
            url.set(String::new());
            changed.update(|n| *n += 1);
        }
    });
    view! {
        <form class="row" data-testid="add-webhook" on:submit=move |ev| { ev.prevent_default(); add.dispatch(()); }>
            <input data-testid="webhook-url" type="url" required placeholder="https://hooks.slack.com/services/…" size="40"
                aria-label="Webhook URL"
                prop:value=move || url.get() on:input=move |ev| url.set(event_target_value(&ev))/>
            <label class="small"><input type="checkbox" data-testid="webhook-slack"
                prop:checked=move || slack.get() on:change=move |ev| slack.set(event_target_checked(&ev))/>" Slack format"</label>
            <input data-testid="webhook-project" placeholder="project (all)" size="12" aria-label="Project"
                prop:value=move || project.get() on:input=move |ev| project.set(event_target_value(&ev))/>
            <input data-testid="webhook-events" placeholder="failed,lost (all)" size="18" aria-label="Events"
                title="succeeded, failed, lost, cancelled, sweep_finished; empty: all"
                prop:value=move || events.get() on:input=move |ev| events.set(event_target_value(&ev))/>
            <button type="submit" disabled=move || add.pending().get()>"Add webhook"</button>
        </form>
        {move || add.value().get().and_then(|r| r.err()).map(|e| view! {
            <p class="error small" role="alert" data-testid="webhook-error">{e.to_string()}</p>
        })}
    }
}
