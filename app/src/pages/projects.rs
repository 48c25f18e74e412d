//! Projects: every project with its runs, most recently used first.

use leptos::prelude::*;
use leptos_meta::Title;
use trainyard_core::runs::ProjectSummary;

use crate::components::reindex_imports::ReindexImports;
use crate::components::relative_time::RelativeTime;
use crate::format::percent_encode;
use crate::loaded::load;
use crate::server_fns::list_projects;

/// A project's page address (names may hold any character).
pub fn project_href(name: &str) -> String {
    format!("/projects/{}", percent_encode(name, b""))
}

#[component]
pub fn ProjectsPage() -> impl IntoView {
    let reloads = RwSignal::new(0u32);
    let projects = load(move || reloads.get(), |_| list_projects());
    view! {
        <Title text="Projects"/>
        <div class="page-head"><h1>"Projects"</h1></div>
        <ReindexImports on_done=Callback::new(move |()| reloads.update(|n| *n += 1))/>
        <Transition fallback=|| view! { <p class="muted">"Loading projects…"</p> }>
            {move || Suspend::new(async move {
                match projects.await {
                    Ok(list) if list.is_empty() => view! {
                        <div class="empty">
                            <h2>"No runs yet"</h2>
                            <p>"Every run belongs to the project its config names (" <code>"project: demo"</code>
                               "). Queue one on the " <a href="/execute">"Execute"</a> " page."</p>
                        </div>
                    }.into_any(),
                    Ok(list) => view! { <ProjectTable projects=list/> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">"Could not load projects: " {e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ProjectTable(projects: Vec<ProjectSummary>) -> impl IntoView {
    view! {
        <div class="card table-scroll">
            <table class="data" data-testid="projects">
                <thead>
                    <tr>
                        <th scope="col">"Project"</th>
                        <th scope="col" class="num">"Runs"</th>
                        <th scope="col" class="num">"Active"</th>
                        <th scope="col" class="num">"Succeeded"</th>
                        <th scope="col" class="num">"Failed"</th>
                        <th scope="col" class="num" title="Hidden from the runs table; files kept until a purge">"Archived"</th>
                        <th scope="col">"Last submitted"</th>
                    </tr>
                </thead>
                <tbody>
                    {projects.into_iter().map(|p| view! {
                        <tr data-testid="project-row">
                            <td><a href=project_href(&p.name)>{p.name.clone()}</a></td>
                            <td class="num">{p.runs}</td>
                            <td class="num">{p.active}</td>
                            <td class="num">{p.succeeded}</td>
                            <td class="num">{p.failed}</td>
                            <td class="num" data-testid="project-archived">{p.archived}</td>
                            <td><RelativeTime ms=p.last_created_ms/></td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
