//! Notes and tags of one run, edited in place: saved when the field loses
//! focus (or on Enter for tags), with the server's cleaned version shown.

use leptos::prelude::*;
use trainyard_core::runs::{RunNotes, MAX_NOTES_CHARS};

use crate::server_fns::save_run_notes;

#[component]
pub fn RunNotesCells(id: i64, notes: RunNotes) -> impl IntoView {
    let saved = RwSignal::new(notes);
    let error = RwSignal::new(None::<String>);
    let save = move |next: RunNotes| {
        if saved.with_untracked(|s| *s == next) {
            return;
        }
        leptos::task::spawn_local(async move {
            match save_run_notes(id, next).await {
                Ok(clean) => {
                    saved.try_set(clean);
                    error.try_set(None);
                }
                Err(e) => {
                    error.try_set(Some(e.to_string()));
                }
            }
        });
    };
    let tags_text = move || saved.with(|s| s.tags.join(", "));
    view! {
        <td class="tags">
            <input type="text" class="inline-edit" aria-label=format!("Tags of run {id}")
                placeholder="tags" data-testid="run-tags" prop:value=tags_text
                on:change=move |ev| {
                    let tags = RunNotes::split_tags(&event_target_value(&ev));
                    save(RunNotes { tags, notes: saved.get_untracked().notes });
                }/>
        </td>
        <td class="notes">
            <input type="text" class="inline-edit" aria-label=format!("Notes on run {id}")
                placeholder="notes" maxlength=MAX_NOTES_CHARS data-testid="run-notes"
                prop:value=move || saved.with(|s| s.notes.clone())
                on:change=move |ev| {
                    save(RunNotes { notes: event_target_value(&ev), tags: saved.get_untracked().tags });
                }/>
            {move || error.get().map(|e| view! { <span class="error small" role="alert">{e}</span> })}
        </td>
    }
}
