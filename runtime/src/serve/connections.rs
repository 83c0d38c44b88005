//! The endpoint's open connections, bounded: past the bound, the connection that has waited
//! longest without a request in progress (an idle keep-alive, a client trickling its headers) is
//! closed to make room, so that a real scrape is served at once; if every one is answering a
//! request, the new connection is refused.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::task::AbortHandle;

use crate::self_metrics::CONNECTIONS_DROPPED;

/// The open connections, oldest first.
pub(crate) struct Connections {
    limit: usize,
    open: Mutex<VecDeque<Open>>,
    next_id: AtomicU64,
}

struct Open {
    id: u64,
    busy: Arc<AtomicBool>,
    /// Set once the connection's task is spawned.
    abort: Option<AbortHandle>,
}

/// An admitted connection: its place in the list until dropped, and whether a request on it is
/// being answered.
pub(crate) struct Ticket {
    id: u64,
    connections: Arc<Connections>,
    pub(crate) busy: Arc<AtomicBool>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.connections.open().retain(|open| open.id != self.id);
    }
}

impl Connections {
    pub(crate) fn new(limit: usize) -> Arc<Self> {
        Arc::new(Connections {
            limit,
            open: Mutex::new(VecDeque::new()),
            next_id: AtomicU64::new(0),
        })
    }

    fn open(&self) -> std::sync::MutexGuard<'_, VecDeque<Open>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a new connection needs room made for it first ([`Connections::close_oldest_idle`]).
    pub(crate) fn is_full(&self) -> bool {
        self.open().len() >= self.limit
    }

    /// A place for a new connection; `None` (counted as refused) when there is no room.
    pub(crate) fn admit(self: &Arc<Self>) -> Option<Ticket> {
        if self.is_full() {
            CONNECTIONS_DROPPED.labels("refused").inc();
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let busy = Arc::new(AtomicBool::new(false));
        self.open().push_back(Open {
            id,
            busy: Arc::clone(&busy),
            abort: None,
        });
        Some(Ticket {
            id,
            connections: Arc::clone(self),
            busy,
        })
    }

    /// Records how to close the connection of `ticket`.
    pub(crate) fn spawned(&self, ticket_id: u64, abort: AbortHandle) {
        if let Some(open) = self.open().iter_mut().find(|open| open.id == ticket_id) {
            open.abort = Some(abort);
        }
    }

    /// Closes the oldest connection with no request in progress; `false` if there is none.
    /// Its socket is released when its task next runs, so the caller yields before it takes
    /// another descriptor.
    pub(crate) fn close_oldest_idle(&self) -> bool {
        let mut open = self.open();
        let idle = open
            .iter()
            .position(|open| !open.busy.load(Ordering::Acquire) && open.abort.is_some());
        let Some(oldest) = idle.and_then(|index| open.remove(index)) else {
            return false;
        };
        drop(open);
        if let Some(abort) = oldest.abort {
            abort.abort();
        }
        CONNECTIONS_DROPPED.labels("idle").inc();
        true
    }
}

impl Ticket {
    pub(crate) fn id(&self) -> u64 {
        self.id
    }
}
