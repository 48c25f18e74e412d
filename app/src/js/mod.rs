//! Bridges to the vendored JavaScript bundles (charts, editor), loaded on
//! first use. Browser only.

pub mod charts;
pub mod editor;
mod script_loader;
