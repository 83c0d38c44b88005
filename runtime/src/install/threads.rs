//! The thread `install()` starts for the HTTP endpoint, when there is one.
//!
//! It is spawned before the global recorder is set but waits for a go-ahead, so that when the
//! last step of `install()` fails it ends without having served anything and the port is freed.

use std::sync::mpsc;
use std::thread;

use crate::error::Error;

/// A spawned thread waiting for [`Started::run`]; dropping this ends it instead, and waits until
/// it has, so that its listener is closed when `install()` returns its error.
#[derive(Default)]
pub(crate) struct Started {
    waiting: Option<(mpsc::Sender<()>, thread::JoinHandle<()>)>,
}

impl Started {
    /// Spawns `work` on a thread named `name`, to start at [`Started::run`].
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    pub(crate) fn thread(name: &str, work: impl FnOnce() + Send + 'static) -> Result<Self, Error> {
        let (go, wait) = mpsc::channel();
        let thread = thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                if wait.recv().is_ok() {
                    work();
                }
            })
            .map_err(Error::Runtime)?;
        Ok(Started {
            waiting: Some((go, thread)),
        })
    }

    /// Lets the thread start its work, for the rest of the process.
    pub(crate) fn run(mut self) {
        if let Some((go, _detached)) = self.waiting.take() {
            // A thread that is gone already has nothing left to start.
            let _ = go.send(());
        }
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        // Without a go-ahead the thread returns at once, dropping what it owns.
        if let Some((go, thread)) = self.waiting.take() {
            drop(go);
            let _ = thread.join();
        }
    }
}
