//! The heartbeat loop's news about the server link, kept for the status file.

use std::sync::{Arc, Mutex, PoisonError};

use super::{Link, ServerStatus};
use crate::supervisor::now_ms;

/// The link to the server as the heartbeat loop last saw it.
#[derive(Clone)]
pub(crate) struct LinkBoard(Arc<Mutex<ServerStatus>>);

impl LinkBoard {
    pub fn new(url: String) -> Self {
        Self(Arc::new(Mutex::new(ServerStatus {
            url,
            link: Link::Starting,
            last_contact_ms: None,
            error: None,
        })))
    }

    pub fn accepted(&self) {
        self.update(Link::Connected, None, true);
    }

    pub fn unreachable(&self, message: &str) {
        self.update(Link::Unreachable, Some(message), false);
    }

    pub fn refused(&self, message: &str) {
        self.update(Link::Refused, Some(message), true);
    }

    pub fn snapshot(&self) -> ServerStatus {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn update(&self, link: Link, error: Option<&str>, answered: bool) {
        let mut status = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        status.link = link;
        status.error = error.map(str::to_string);
        if answered {
            status.last_contact_ms = Some(now_ms());
        }
    }
}
