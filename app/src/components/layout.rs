//! Page frame: brand, navigation, live indicator and theme toggle.

use leptos::prelude::*;
use leptos_router::components::A;

use super::live_status::LiveStatus;
use super::notice_bell::NoticeBell;
use super::theme_toggle::ThemeToggle;

/// Navigation entries: (path, label).
const NAV: [(&str, &str); 10] = [
    ("/", "Dashboard"),
    ("/launch", "Launch"),
    ("/execute", "Execute"),
    ("/queue", "Queue"),
    ("/projects", "Projects"),
    ("/devices", "Devices"),
    ("/models", "Models"),
    ("/components", "Components"),
    ("/catalog", "Catalog"),
    ("/settings", "Settings"),
];

#[component]
pub fn Layout(children: Children) -> impl IntoView {
    view! {
        <div class="app">
            <header class="topbar">
                <a class="brand" href="/">"Trainyard"</a>
                <nav aria-label="Main">
                    {NAV
                        .into_iter()
                        .map(|(href, label)| view! { <A href=href exact=true>{label}</A> })
                        .collect_view()}
                </nav>
                <div class="topbar-tools">
                    <LiveStatus/>
                    <NoticeBell/>
                    <ThemeToggle/>
                </div>
            </header>
            <main class="page">{children()}</main>
        </div>
    }
}
