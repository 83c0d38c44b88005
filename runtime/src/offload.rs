//! A render off the async worker, for the built-in endpoint and the axum handlers alike.
//!
//! A render runs user functions (gauge callbacks) and may block, so it runs on tokio's blocking
//! pool while the worker goes on serving other requests. Its slot goes with it and is released
//! when the render ends, not when the request does: a client that hangs up, or a deadline that
//! passes, cannot free a slot while its render still runs, so the renders (and their threads)
//! stay as few as the slots whatever clients do.

use std::time::Duration;

use crate::self_metrics::SCRAPE_TIMEOUTS;

/// Why a render gave no answer.
pub(crate) enum Late {
    /// It did not end within its deadline; it goes on, holding its slot, until it does.
    TimedOut,
    /// It panicked.
    Failed,
}

impl Late {
    /// The HTTP status to answer with.
    pub(crate) fn status(&self) -> u16 {
        match self {
            Late::TimedOut => 503,
            Late::Failed => 500,
        }
    }

    /// What to tell the client, about `what` (`the exposition`, `the page`).
    pub(crate) fn message(&self, what: &str, deadline: Duration) -> String {
        match self {
            Late::TimedOut => format!(
                "{what} took longer than {deadline:?} to render: a gauge function is slow; try \
                 again\n"
            ),
            Late::Failed => "rendering failed\n".to_owned(),
        }
    }
}

/// What a request is told when every render slot is taken (503).
pub(crate) const TOO_MANY: &str = "too many scrapes at once: try again\n";

/// Runs `render` on the blocking pool while holding `slot`, and waits for it up to `deadline`.
pub(crate) async fn render<T: Send + 'static>(
    slot: impl Send + 'static,
    deadline: Duration,
    render: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Late> {
    let task = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        render()
    });
    match tokio::time::timeout(deadline, task).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(_)) => Err(Late::Failed),
        Err(_) => {
            SCRAPE_TIMEOUTS.inc();
            Err(Late::TimedOut)
        }
    }
}
