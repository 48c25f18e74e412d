//! The browser's live state: reactive stores seeded by server functions and
//! kept current by the event stream, shared by every page through context.

pub mod fleet;
pub mod jobs;
pub mod live;
mod live_map;
pub mod notices;
