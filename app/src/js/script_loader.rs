//! Loads a vendored script bundle (`/assets/vendor/*.js`) on first use:
//! the editor and the charts are large next to the rest of the UI, so only
//! the pages that need them load them, once per page.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// Adds `<script src=url>` once and waits until it ran and defined `global`.
pub async fn load_script(url: &str, global: &str) -> Result<(), String> {
    let window = web_sys::window().ok_or("no window")?;
    let defined = || js_sys::Reflect::has(&window, &JsValue::from_str(global)).unwrap_or(false);
    if defined() {
        return Ok(());
    }
    let document = window.document().ok_or("no document")?;
    let selector = format!("script[src=\"{url}\"]");
    let script = match document.query_selector(&selector) {
        Ok(Some(existing)) => existing,
        _ => {
            let script = document.create_element("script").map_err(describe)?;
            script.set_attribute("src", url).map_err(describe)?;
            document
                .head()
                .ok_or("no <head>")?
                .append_child(&script)
                .map_err(describe)?;
            script
        }
    };
    let (tx, rx) = futures::channel::oneshot::channel::<Result<(), String>>();
    let tx = Rc::new(RefCell::new(Some(tx)));
    let done = {
        let tx = tx.clone();
        Closure::<dyn FnMut()>::new(move || {
            if let Some(tx) = tx.borrow_mut().take() {
                let _ = tx.send(Ok(()));
            }
        })
    };
    let message = format!("could not load {url}; run scripts/build-js.sh and rebuild");
    let failed = Closure::<dyn FnMut()>::new(move || {
        if let Some(tx) = tx.borrow_mut().take() {
            let _ = tx.send(Err(message.clone()));
        }
    });
    let target: &web_sys::EventTarget = script.unchecked_ref();
    let _ = target.add_event_listener_with_callback("load", done.as_ref().unchecked_ref());
    let _ = target.add_event_listener_with_callback("error", failed.as_ref().unchecked_ref());
    // A script that finished loading between the check above and now.
    if defined() {
        return Ok(());
    }
    rx.await
        .unwrap_or_else(|_| Err(format!("loading {url} was interrupted")))
}

/// Adds `<link rel=stylesheet href=url>` once.
pub fn load_stylesheet(url: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Ok(Some(_)) = document.query_selector(&format!("link[href=\"{url}\"]")) {
        return;
    }
    let Ok(link) = document.create_element("link") else {
        return;
    };
    let _ = link.set_attribute("rel", "stylesheet");
    let _ = link.set_attribute("href", url);
    if let Some(head) = document.head() {
        let _ = head.append_child(&link);
    }
}

/// A JavaScript error as text.
pub fn describe(e: JsValue) -> String {
    e.as_string()
        .or_else(|| {
            e.dyn_ref::<js_sys::Error>()
                .map(|err| String::from(err.message()))
        })
        .unwrap_or_else(|| format!("{e:?}"))
}
