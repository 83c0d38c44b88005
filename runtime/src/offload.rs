//! Renders off the async worker, shared and bounded, for the built-in endpoint and the axum
//! handlers alike.
//!
//! A render runs user functions (gauge callbacks) and may block, so it runs on tokio's blocking
//! pool while the worker goes on serving other requests, under one of a fixed number of slots;
//! a render waits for a slot up to the render deadline. Its slot goes with it and is released
//! when the render ends, not when the request does: a client that hangs up, or a deadline that
//! passes, cannot free a slot while its render still runs, so the renders (and their threads)
//! stay as few as the slots whatever clients do.
//!
//! Scrapes that ask for the same thing while a render of it waits for its slot share that render
//! (one flight), so a storm of scrapers costs about as many renders as there are slots. A render
//! that has started reading is not joined: a scrape always sees what happened before it asked.
//!
//! A rendered body is counted against a byte budget for as long as any response holds it,
//! until the last client has been sent it (or has gone): clients that never read cannot make
//! the endpoint hold more than the budget, past which scrapes are answered 503.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use crate::self_metrics::SCRAPE_TIMEOUTS;
use crate::storage::progress::{self, Progress};

/// The bytes of response bodies held for clients by default: 64 MiB.
pub(crate) const DEFAULT_RESPONSE_BYTES: usize = 64 << 20;

/// Why a render gave no answer.
#[derive(Clone, Debug)]
pub(crate) enum Late {
    /// It had not ended by the deadline (it goes on, holding its slot, until it does), waiting
    /// for this gauge function if it was in one.
    TimedOut(Option<(&'static str, Duration)>),
    /// No render slot came free by the deadline.
    NoSlot { slots: usize },
    /// Responses not yet sent to their clients already hold the budget.
    OverBudget { bytes: usize },
    /// It panicked.
    Failed,
}

impl Late {
    /// The HTTP status to answer with.
    pub(crate) fn status(&self) -> u16 {
        match self {
            Late::Failed => 500,
            _ => 503,
        }
    }

    /// What to tell the client, about `what` (`the exposition`, `the page`).
    pub(crate) fn message(&self, what: &str, deadline: Duration) -> String {
        match self {
            Late::TimedOut(Some((family, running))) => format!(
                "{what} was not rendered within {deadline:?}: the render waits for the function \
                 of the gauge `{family}`, which has run for {running:.1?}; try again (later \
                 scrapes leave that gauge out while its function runs)\n"
            ),
            Late::TimedOut(None) => format!(
                "{what} took longer than {deadline:?} to render: the machine is busy or the \
                 exposition is large; try again\n"
            ),
            Late::NoSlot { slots } => format!(
                "{what} was not rendered within {deadline:?}: all {slots} render slots stayed \
                 busy (raise `max_concurrent_scrapes`, or find the slow gauge function); try \
                 again\n"
            ),
            Late::OverBudget { bytes } => format!(
                "responses that clients have not read yet hold {} MiB, the endpoint's limit \
                 (`ExporterBuilder::max_response_bytes`): try again\n",
                bytes >> 20
            ),
            Late::Failed => "rendering failed\n".to_owned(),
        }
    }
}

/// A rendered body, and whether it is gzipped; it counts against the budget until its last
/// holder drops it.
#[derive(Clone, Debug)]
pub(crate) struct Body {
    pub(crate) bytes: Bytes,
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    pub(crate) gzipped: bool,
}

type Outcome = Result<Body, Late>;

struct Flight {
    id: u64,
    progress: Arc<Progress>,
    outcome: Arc<watch::Sender<Option<Outcome>>>,
}

/// The render slots, the byte budget, and the flights under way, of one endpoint.
pub(crate) struct Renderer<K> {
    slots: Arc<Semaphore>,
    slot_count: usize,
    budget: Arc<Semaphore>,
    budget_bytes: usize,
    flights: Mutex<HashMap<K, Flight>>,
    next_flight: AtomicU64,
}

/// The unit of the byte budget's permits: a kibibyte.
const UNIT: usize = 1024;

/// A body's bytes with its share of the budget, released when the last `Bytes` of it drops.
struct Budgeted {
    body: Vec<u8>,
    _permit: OwnedSemaphorePermit,
}

impl AsRef<[u8]> for Budgeted {
    fn as_ref(&self) -> &[u8] {
        &self.body
    }
}

impl<K: Hash + Eq + Clone + Send + 'static> Renderer<K> {
    /// A renderer of `slots` renders at once, holding at most `budget_bytes` of bodies.
    pub(crate) fn new(slots: usize, budget_bytes: usize) -> Arc<Self> {
        let permits = (budget_bytes / UNIT).clamp(1, Semaphore::MAX_PERMITS);
        Arc::new(Renderer {
            slots: Arc::new(Semaphore::new(slots)),
            slot_count: slots,
            budget: Arc::new(Semaphore::new(permits)),
            budget_bytes,
            flights: Mutex::new(HashMap::new()),
            next_flight: AtomicU64::new(0),
        })
    }

    /// The body `render` makes for `key`, shared with every scrape that asks for `key` while it
    /// is made; waits for it until `deadline` from now.
    pub(crate) async fn shared(
        self: &Arc<Self>,
        key: K,
        deadline: Duration,
        render: impl FnOnce() -> (Vec<u8>, bool) + Send + 'static,
    ) -> Outcome {
        let until = tokio::time::Instant::now() + deadline;
        let (progress, mut outcome) = {
            let mut flights = self.flights.lock().unwrap_or_else(PoisonError::into_inner);
            match flights.get(&key) {
                // Not started reading yet (it waits for a slot): it will see everything this
                // scrape's caller did before asking, so it can answer for it too.
                Some(flight) if !flight.progress.started() => {
                    (Arc::clone(&flight.progress), flight.outcome.subscribe())
                }
                _ => {
                    let id = self.next_flight.fetch_add(1, Ordering::Relaxed);
                    let progress = Arc::new(Progress::default());
                    let (sender, receiver) = watch::channel(None);
                    let sender = Arc::new(sender);
                    flights.insert(
                        key.clone(),
                        Flight {
                            id,
                            progress: Arc::clone(&progress),
                            outcome: Arc::clone(&sender),
                        },
                    );
                    self.fly(key, id, until, Arc::clone(&progress), sender, render);
                    (progress, receiver)
                }
            }
        };
        let done = tokio::time::timeout_at(until, outcome.wait_for(Option::is_some)).await;
        match done {
            Ok(Ok(outcome)) => {
                let outcome = outcome.clone().unwrap_or(Err(Late::Failed));
                if let Err(Late::NoSlot { .. }) = outcome {
                    SCRAPE_TIMEOUTS.inc();
                }
                outcome
            }
            Ok(Err(_)) => Err(Late::Failed),
            Err(_) => Err(self.late(&progress)),
        }
    }

    /// Makes one body, alone (a page that depends on its request), under a slot and the budget;
    /// `render` gives what goes with the body too, or `None` for no body.
    pub(crate) async fn alone<M: Send + 'static>(
        self: &Arc<Self>,
        deadline: Duration,
        render: impl FnOnce() -> Option<(M, Vec<u8>, bool)> + Send + 'static,
    ) -> Result<Option<(M, Body)>, Late> {
        let until = tokio::time::Instant::now() + deadline;
        let Ok(Ok(slot)) =
            tokio::time::timeout_at(until, Arc::clone(&self.slots).acquire_owned()).await
        else {
            SCRAPE_TIMEOUTS.inc();
            return Err(Late::NoSlot {
                slots: self.slot_count,
            });
        };
        let progress = Arc::new(Progress::default());
        let reported = Arc::clone(&progress);
        let budget = Arc::clone(&self.budget);
        let budget_bytes = self.budget_bytes;
        let task = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            progress::reporting(reported, render)
                .map(|(meta, body, gzipped)| {
                    budgeted(&budget, budget_bytes, body, gzipped).map(|body| (meta, body))
                })
                .transpose()
        });
        match tokio::time::timeout_at(until, task).await {
            Ok(Ok(body)) => body,
            Ok(Err(_)) => Err(Late::Failed),
            Err(_) => Err(self.late(&progress)),
        }
    }

    /// A render that did not end in time, counted: one still waiting for a slot, or one that
    /// ran too long.
    fn late(&self, progress: &Progress) -> Late {
        SCRAPE_TIMEOUTS.inc();
        if progress.started() {
            Late::TimedOut(progress.in_gauge())
        } else {
            Late::NoSlot {
                slots: self.slot_count,
            }
        }
    }

    /// Runs one flight: waits for a slot (unless no one waits any more), renders on the blocking
    /// pool, tells every waiter, and leaves the flights.
    fn fly(
        self: &Arc<Self>,
        key: K,
        id: u64,
        until: tokio::time::Instant,
        progress: Arc<Progress>,
        outcome: Arc<watch::Sender<Option<Outcome>>>,
        render: impl FnOnce() -> (Vec<u8>, bool) + Send + 'static,
    ) {
        let renderer = Arc::clone(self);
        tokio::spawn(async move {
            let slot =
                tokio::time::timeout_at(until, Arc::clone(&renderer.slots).acquire_owned()).await;
            let result = match slot {
                Ok(Ok(slot)) if outcome.receiver_count() > 0 => {
                    let budget = Arc::clone(&renderer.budget);
                    let budget_bytes = renderer.budget_bytes;
                    let task = tokio::task::spawn_blocking(move || {
                        let _slot = slot;
                        let (body, gzipped) = progress::reporting(progress, render);
                        budgeted(&budget, budget_bytes, body, gzipped)
                    });
                    task.await.unwrap_or(Err(Late::Failed))
                }
                // Every scrape that waited for it is gone: nothing to render for.
                Ok(Ok(_)) => Err(Late::Failed),
                // Its waiters counted their own timeouts.
                _ => Err(Late::NoSlot {
                    slots: renderer.slot_count,
                }),
            };
            outcome.send_replace(Some(result));
            let mut flights = renderer
                .flights
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if flights.get(&key).is_some_and(|flight| flight.id == id) {
                flights.remove(&key);
            }
        });
    }
}

/// A response body sent in slices of a shared body: hyper asks for the next slice only once it
/// has written the last, so a client that stops reading leaves the rest here, counted against
/// the budget, rather than copied into hyper's buffers.
#[derive(Debug)]
pub(crate) struct Sliced {
    rest: Bytes,
}

/// The size of one slice.
const SLICE: usize = 64 * 1024;

impl Sliced {
    pub(crate) fn new(bytes: Bytes) -> Self {
        Sliced { rest: bytes }
    }
}

impl http_body::Body for Sliced {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        if self.rest.is_empty() {
            return std::task::Poll::Ready(None);
        }
        let take = self.rest.len().min(SLICE);
        let slice = self.rest.split_to(take);
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(slice))))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.rest.len() as u64)
    }
}

/// `content` gzipped if `gzip` (and the encoder works), and whether it is.
#[cfg(feature = "http")]
pub(crate) fn encode(content: Vec<u8>, gzip: bool) -> (Vec<u8>, bool) {
    use std::io::Write as _;
    if gzip {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        if let Ok(compressed) = encoder.write_all(&content).and_then(|()| encoder.finish()) {
            return (compressed, true);
        }
    }
    (content, false)
}

/// `body` counted against the budget until its last holder drops it; a body larger than the
/// whole budget takes all of it, so that it can still be served alone.
fn budgeted(budget: &Arc<Semaphore>, budget_bytes: usize, body: Vec<u8>, gzipped: bool) -> Outcome {
    let units = body
        .len()
        .div_ceil(UNIT)
        .clamp(1, (budget_bytes / UNIT).max(1));
    let units = u32::try_from(units).unwrap_or(u32::MAX);
    match Arc::clone(budget).try_acquire_many_owned(units) {
        Ok(permit) => Ok(Body {
            bytes: Bytes::from_owner(Budgeted {
                body,
                _permit: permit,
            }),
            gzipped,
        }),
        Err(_) => Err(Late::OverBudget {
            bytes: budget_bytes,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_comes_back_when_the_last_holder_drops_the_body() {
        let budget = Arc::new(Semaphore::new(4));
        let body = budgeted(&budget, 4 * UNIT, vec![1; 3 * UNIT], false)
            .unwrap()
            .bytes;
        let clone = body.clone();
        assert_eq!(budget.available_permits(), 1);
        assert!(matches!(
            budgeted(&budget, 4 * UNIT, vec![1; 2 * UNIT], false),
            Err(Late::OverBudget { .. })
        ));
        drop(body);
        assert_eq!(budget.available_permits(), 1, "a clone still holds it");
        drop(clone);
        assert_eq!(budget.available_permits(), 4);
        // Larger than the whole budget: served alone.
        let huge = budgeted(&budget, 4 * UNIT, vec![1; 100 * UNIT], false).unwrap();
        assert_eq!(huge.bytes.len(), 100 * UNIT);
        assert_eq!(budget.available_permits(), 0);
    }
}
