//! A run's files (artifacts) on the Job page: path, size, last change,
//! a download link to `GET /api/v1/runs/{id}/files/{path}`, and a preview
//! of text files (the first 256 KiB).

use leptos::prelude::*;
use trainyard_core::protocol::paths;
use trainyard_core::sync::FileEntry;

use crate::components::relative_time::RelativeTime;
use crate::format::percent_encode;
use crate::loaded::Loaded;
use crate::server_fns::{preview_run_file, FilePreview, UiError};

/// A size for people: `532 B`, `12.5 KiB`, `3.2 MiB`.
pub fn size_text(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// The download address of `path` (each segment percent-encoded).
pub fn download_href(id: i64, path: &str) -> String {
    format!(
        "{}{}",
        paths::run_files_prefix(id),
        percent_encode(path, b"/")
    )
}

/// How often the list is fetched again while the run is active.
#[cfg(feature = "hydrate")]
const RELIST_MS: u64 = 3_000;

/// The server renders the list once.
#[cfg(not(feature = "hydrate"))]
fn relist_while_active(_: Signal<bool>, _: RunFilesLoad) {}

#[cfg(feature = "hydrate")]
fn relist_while_active(active: Signal<bool>, files: RunFilesLoad) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let alive = Arc::new(AtomicBool::new(true));
    let on_leave = alive.clone();
    on_cleanup(move || on_leave.store(false, Ordering::Relaxed));
    leptos::task::spawn_local(async move {
        while alive.load(Ordering::Relaxed) {
            crate::state::live::sleep(std::time::Duration::from_millis(RELIST_MS)).await;
            if alive.load(Ordering::Relaxed) && active.try_get_untracked().unwrap_or(false) {
                files.refetch();
            }
        }
    });
}

/// The list of a run's files, made by the page with its other loads (see
/// `pages/job.rs`). The page lists them again when the run changes state;
/// [`RunFiles`] also every few seconds while it runs (the agent syncs files
/// as they are written).
pub type RunFilesLoad = Loaded<Result<Vec<FileEntry>, UiError>>;

#[component]
pub fn RunFiles(id: i64, active: Signal<bool>, files: RunFilesLoad) -> impl IntoView {
    relist_while_active(active, files);
    let preview = RwSignal::new(None::<(String, Result<FilePreview, String>)>);
    let open = move |path: String| {
        leptos::task::spawn_local(async move {
            let result = preview_run_file(id, path.clone())
                .await
                .map_err(|e| e.to_string());
            preview.try_set(Some((path, result)));
        });
    };
    view! {
        <section class="card" data-testid="run-files">
            <h2>"Files"</h2>
            <Transition fallback=|| view! { <p class="muted small">"Loading files…"</p> }>
                {move || Suspend::new(async move {
                    match files.await {
                        Ok(list) if list.is_empty() => view! {
                            <p class="muted small">"No files yet. What the job writes into "
                                <code>"$TRAINYARD_RUN_DIR"</code> " is synced here."</p>
                        }.into_any(),
                        Ok(list) => view! { <FileTable id=id files=list open=open/> }.into_any(),
                        Err(e) => view! { <p class="error small" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            {move || preview.get().map(|(path, result)| view! {
                <div class="file-preview" data-testid="file-preview">
                    <header class="card-head"><code>{path}</code></header>
                    {match result {
                        Ok(FilePreview { text: Some(text), truncated, size }) => view! {
                            <pre class="log">{text}</pre>
                            {truncated.then(|| view! {
                                <p class="muted small">{format!("First 256 KiB of {}; download for the rest.", size_text(size))}</p>
                            })}
                        }.into_any(),
                        Ok(_) => view! { <p class="muted small">"Not a text file: download it instead."</p> }.into_any(),
                        Err(e) => view! { <p class="error small" role="alert">{e}</p> }.into_any(),
                    }}
                </div>
            })}
        </section>
    }
}

#[component]
fn FileTable(
    id: i64,
    files: Vec<FileEntry>,
    open: impl Fn(String) + Copy + 'static,
) -> impl IntoView {
    view! {
        <div class="table-scroll">
            <table class="data">
                <thead>
                    <tr>
                        <th scope="col">"Path"</th>
                        <th scope="col" class="num">"Size"</th>
                        <th scope="col">"Changed"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {files.into_iter().map(|f| {
                        let path = f.path.clone();
                        view! {
                            <tr data-testid="run-file">
                                <td><a href=download_href(id, &f.path) download>{f.path.clone()}</a></td>
                                <td class="num">{size_text(f.size)}</td>
                                <td><RelativeTime ms=f.modified_ms/></td>
                                <td><button type="button" class="small-button" on:click=move |_| open(path.clone())>"Preview"</button></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_links_read_well() {
        assert_eq!(size_text(532), "532 B");
        assert_eq!(size_text(12_800), "12.5 KiB");
        assert_eq!(
            download_href(3, "ckpt/best model.pt"),
            "/api/v1/runs/3/files/ckpt/best%20model.pt"
        );
    }
}
