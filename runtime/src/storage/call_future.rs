//! A call whose work is a future: an `async fn`, or a plain function that returns one
//! (`impl Future`, `Pin<Box<dyn Future>>`, `BoxFuture`).
//!
//! The call is counted at the future's first poll and timed from there to completion, as an
//! `async fn`'s body only starts at its first poll; a future dropped before it was ever polled
//! is not a call. How it ended is known only here: a future dropped while one of its polls
//! unwinds panicked, one dropped between polls was cancelled, even when its owner is dropping it
//! while unwinding from a panic of its own.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::storage::call_site::{CallGuard, CallSite};

pin_project! {
    /// The future of one call of an instrumented function. Its inner future yields the value
    /// and how the value classifies (`Some(error_type)` for an error), which the macro's code
    /// works out where the value's type is known.
    pub struct CallFuture<F> {
        #[pin]
        future: F,
        site: &'static CallSite,
        guard: Option<CallGuard>,
        // Set around each poll of `future`: still set if that poll unwinds.
        polling: bool,
        finished: bool,
    }

    impl<F> PinnedDrop for CallFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(guard) = this.guard {
                guard.finish(Some(if *this.polling { "panic" } else { "cancelled" }));
            }
        }
    }
}

impl<F> CallFuture<F> {
    /// The call of `site` that `future` does, not started until polled.
    #[inline]
    pub fn new(site: &'static CallSite, future: F) -> Self {
        CallFuture {
            future,
            site,
            guard: None,
            polling: false,
            finished: false,
        }
    }
}

impl<F, R> Future for CallFuture<F>
where
    F: Future<Output = (R, Option<&'static str>)>,
{
    type Output = R;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<R> {
        let this = self.project();
        if this.guard.is_none() && !*this.finished {
            *this.guard = Some(this.site.enter());
        }
        *this.polling = true;
        let poll = this.future.poll(cx);
        *this.polling = false;
        match poll {
            Poll::Ready((value, error_type)) => {
                *this.finished = true;
                if let Some(mut guard) = this.guard.take() {
                    guard.finish(error_type);
                }
                Poll::Ready(value)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Watches a plain function build the future it returns: a panic on the way is a call of its
/// own, counted with `error_type="panic"`, as it would be in a function that returns a value.
pub struct Building {
    site: &'static CallSite,
}

impl Building {
    #[inline]
    pub fn new(site: &'static CallSite) -> Self {
        Building { site }
    }

    /// The future is built: nothing to record here, the call is the future's.
    #[inline]
    pub fn built(self) {
        std::mem::forget(self);
    }
}

impl Drop for Building {
    fn drop(&mut self) {
        // Only reached while unwinding: `built` forgets it otherwise. Entering and dropping at
        // once records a call that panicked; its duration, from here, is close to nothing.
        drop(self.site.enter());
    }
}
