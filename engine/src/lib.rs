//! The server's brain: everything the `trainyard` binary does that is not
//! HTTP. Tests drive it directly on an in-memory SQLite database.

mod clock;
mod engine;
mod error;
pub mod events;
mod monitor;
mod registry;
pub mod store;

pub use engine::{Engine, EngineConfig};
pub use error::EngineError;
pub use events::{BusEvent, EventBus, PublishedEvent, Subscription};
