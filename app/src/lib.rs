//! Trainyard's web UI: server-rendered, then hydrated in the browser.

// Leptos view types nest deeply; components also erase them with into_any().
#![recursion_limit = "256"]

mod components;
mod experiment;
mod format;
#[cfg(feature = "hydrate")]
mod js;
mod loaded;
mod pages;
#[cfg(feature = "ssr")]
mod server_context;
pub mod server_fns;
pub mod state;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, Lazy};

use components::layout::Layout;
#[cfg(feature = "hydrate")]
pub use pages::lazy::prefetch_after_hydration;
use pages::lazy::{
    CatalogRoute, CompareRoute, ComponentsRoute, DevicesRoute, ExecuteRoute, JobRoute, LaunchRoute,
    LoginRoute, ModelsRoute, PrefetchLikelyNext, ProjectRoute, ProjectsRoute, QueueRoute,
    SettingsRoute,
};
use pages::{DashboardPage, NotFoundPage};
#[cfg(feature = "ssr")]
pub use server_context::ServerContext;
use state::fleet::Fleet;
use state::jobs::JobStore;
use state::notices::NoticeStore;

/// Sets `<html data-theme>` from the remembered (or the system's) theme.
const THEME_BOOT: &str = include_str!("theme_boot.js");

/// The HTML document around the app (server side only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" type="image/svg+xml" href="/assets/favicon.svg"/>
                // Applies the remembered theme before first paint (no flash).
                // Inline: a script file here would stop the parser for a round
                // trip on every first load.
                <script inner_html=THEME_BOOT></script>
                // Serves the wasm chunks of lazy pages out of packs (one request
                // instead of ~200); must run before the hydration script.
                <script src="/assets/chunk-pack.js" defer></script>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Root component: routes inside the shared layout. The Dashboard is part
/// of the first download; every other page is a [`Lazy`] route that
/// loads its own wasm chunk (see `pages::lazy`).
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let fleet = Fleet::new();
    provide_context(fleet);
    let jobs = JobStore::new();
    provide_context(jobs);
    let notices = NoticeStore::new();
    provide_context(notices);
    state::live::connect(fleet, jobs, notices);

    view! {
        <Stylesheet id="leptos" href="/pkg/trainyard.css"/>
        <Title formatter=|page: String| if page.is_empty() { "Trainyard".to_string() } else { format!("{page} · Trainyard") }/>
        <Router>
            <PrefetchLikelyNext/>
            <Layout>
                <Routes fallback=NotFoundPage>
                    <Route path=path!("/") view=DashboardPage/>
                    <Route path=path!("/devices") view={Lazy::<DevicesRoute>::new()}/>
                    <Route path=path!("/execute") view={Lazy::<ExecuteRoute>::new()}/>
                    <Route path=path!("/launch") view={Lazy::<LaunchRoute>::new()}/>
                    <Route path=path!("/catalog") view={Lazy::<CatalogRoute>::new()}/>
                    <Route path=path!("/queue") view={Lazy::<QueueRoute>::new()}/>
                    <Route path=path!("/jobs/:id") view={Lazy::<JobRoute>::new()}/>
                    <Route path=path!("/projects") view={Lazy::<ProjectsRoute>::new()}/>
                    <Route path=path!("/projects/:name") view={Lazy::<ProjectRoute>::new()}/>
                    <Route path=path!("/compare") view={Lazy::<CompareRoute>::new()}/>
                    <Route path=path!("/components") view={Lazy::<ComponentsRoute>::new()}/>
                    <Route path=path!("/models") view={Lazy::<ModelsRoute>::new()}/>
                    <Route path=path!("/settings") view={Lazy::<SettingsRoute>::new()}/>
                    <Route path=path!("/login") view={Lazy::<LoginRoute>::new()}/>
                </Routes>
            </Layout>
        </Router>
    }
}
