//! Pages that load their own wasm chunk on first visit.
//!
//! The shell (layout, live stream, Dashboard) is in the first download;
//! every other page is a [`LazyRoute`] whose view is split into its
//! own chunk by `cargo leptos build --split`. The server names the chunks the
//! requested page needs in `<link rel="preload">`, so a deep link hydrates
//! without waiting for a second round trip; without `--split` (tests, dev
//! builds) the same code runs, just from one file.
//!
//! The views take no route data: each page starts its own resources, as it
//! did when it was eager. The waterfall that leaves on a first client-side
//! visit (chunk, then data) is hidden by [`prefetch_likely_next`], which
//! loads the chunks a user usually opens next while the browser is idle.

use leptos::lazy;
use leptos::prelude::*;
use leptos_router::{lazy_route, LazyRoute};

use super::{
    CatalogPage, ComparePage, ComponentsPage, DashboardActivity, DevicesPage, ExecutePage, JobPage,
    LaunchPage, LoginPage, ModelsPage, ProjectPage, ProjectsPage, QueuePage, SettingsPage,
};

/// One lazily loaded page: `lazy_page!(Route, Page)` defines the route type
/// `Route` whose view renders `<Page/>` from its own chunk.
macro_rules! lazy_page {
    ($route:ident, $page:ident) => {
        #[doc = concat!("The `", stringify!($page), "` page, loaded from its own wasm chunk.")]
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page/> }.into_any()
            }
        }
    };
}

lazy_page!(DevicesRoute, DevicesPage);
lazy_page!(ExecuteRoute, ExecutePage);
lazy_page!(QueueRoute, QueuePage);
lazy_page!(JobRoute, JobPage);
lazy_page!(ProjectsRoute, ProjectsPage);
lazy_page!(ProjectRoute, ProjectPage);
lazy_page!(CompareRoute, ComparePage);
lazy_page!(ComponentsRoute, ComponentsPage);
lazy_page!(SettingsRoute, SettingsPage);
lazy_page!(LoginRoute, LoginPage);
lazy_page!(CatalogRoute, CatalogPage);
lazy_page!(LaunchRoute, LaunchPage);
lazy_page!(ModelsRoute, ModelsPage);

/// The Dashboard's activity panels (jobs at a glance, recent runs, GPU load
/// history), from their own chunk.
#[lazy]
fn dashboard_activity_view() -> AnyView {
    view! { <DashboardActivity/> }.into_any()
}

/// The Dashboard's activity, rendered once the page is interactive: the
/// server sends a placeholder, then the browser loads the panels' chunk and
/// their data. The panels are the Dashboard's heaviest code (charts, job
/// tables, their server calls); deferring them keeps them off the critical
/// path of every first visit to `/`, which is what a user waits on before
/// the navigation works.
#[component]
pub fn DeferredDashboardActivity() -> impl IntoView {
    let interactive = RwSignal::new(false);
    // Effects run only in the browser, once hydrated.
    Effect::new(move |_| interactive.set(true));
    let placeholder = || {
        view! { <p class="muted" data-testid="dashboard-activity-loading">"Loading activity…"</p> }
    };
    view! {
        <Show when=move || interactive.get() fallback=placeholder>
            <Suspense fallback=placeholder>
                {move || Suspend::new(dashboard_activity_view())}
            </Suspense>
        </Show>
    }
}

/// The pages a user usually opens next from `path`: their chunks are worth
/// fetching while the browser is idle.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn likely_next(path: &str) -> &'static [Page] {
    use Page::*;
    match path {
        "/" => &[Devices, Queue, Execute],
        "/devices" => &[Queue],
        "/execute" => &[Queue, Job],
        "/queue" => &[Job, Execute],
        "/projects" => &[Project],
        "/compare" => &[Job],
        "/catalog" => &[Launch],
        "/launch" => &[Queue, Job],
        "/models" => &[Job],
        _ if path.starts_with("/jobs/") => &[Queue, Project],
        _ if path.starts_with("/projects/") => &[Job, Compare],
        _ => &[],
    }
}

/// A lazily loaded page, named for prefetching.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Page {
    Devices,
    Execute,
    Queue,
    Job,
    Project,
    Compare,
    Launch,
}

/// After each client-side navigation, fetches the chunks of the pages likely
/// to be opened next. Renders nothing; place inside `<Router>`. The first
/// page is handled by [`prefetch_after_hydration`]: prefetching while it
/// hydrates would compete with the chunk it is waiting for.
#[component]
pub fn PrefetchLikelyNext() -> impl IntoView {
    #[cfg(feature = "hydrate")]
    {
        let location = leptos_router::hooks::use_location();
        // Effects run only in the browser; the first run is the page being
        // hydrated, skipped.
        Effect::new(move |seen: Option<()>| {
            location.pathname.with(|path| {
                if seen.is_some() {
                    prefetch_likely_next(path);
                }
            });
        });
    }
}

/// Called once the first page is hydrated: fetches the chunks of the pages
/// likely to be opened from it.
#[cfg(feature = "hydrate")]
pub fn prefetch_after_hydration() {
    if let Some(path) = web_sys::window().and_then(|w| w.location().pathname().ok()) {
        prefetch_likely_next(&path);
    }
}

/// Fetches, when the browser is next idle and online, the chunks of the
/// pages likely to be opened from `path`. Fetching a chunk that is already
/// loaded costs nothing.
#[cfg(feature = "hydrate")]
fn prefetch_likely_next(path: &str) {
    let pages = likely_next(path);
    if pages.is_empty() {
        return;
    }
    request_idle_callback(move || {
        for page in pages {
            // The loader panics on a failed fetch (leptos's route preload is
            // infallible), so `chunk-pack.js` retries a chunk the network
            // drops until it arrives. None starts while the browser is
            // offline, so none queues up behind a long spell: the
            // navigation that needs the chunk fetches it then.
            if online() {
                leptos::task::spawn_local(preload(*page));
            }
        }
    });
}

/// Whether the browser believes it is online (`navigator.onLine`).
#[cfg(feature = "hydrate")]
fn online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

#[cfg(feature = "hydrate")]
async fn preload(page: Page) {
    match page {
        Page::Devices => DevicesRoute::preload().await,
        Page::Execute => ExecuteRoute::preload().await,
        Page::Queue => QueueRoute::preload().await,
        Page::Job => JobRoute::preload().await,
        Page::Project => ProjectRoute::preload().await,
        Page::Compare => CompareRoute::preload().await,
        Page::Launch => LaunchRoute::preload().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn likely_next_follows_the_usual_paths() {
        assert_eq!(
            likely_next("/"),
            &[Page::Devices, Page::Queue, Page::Execute]
        );
        assert_eq!(likely_next("/jobs/12"), &[Page::Queue, Page::Project]);
        assert_eq!(likely_next("/projects/demo"), &[Page::Job, Page::Compare]);
        assert_eq!(likely_next("/projects"), &[Page::Project]);
        assert_eq!(likely_next("/catalog"), &[Page::Launch]);
        assert_eq!(likely_next("/launch"), &[Page::Queue, Page::Job]);
        assert!(likely_next("/settings").is_empty());
        assert!(likely_next("/no/such/page").is_empty());
    }
}
