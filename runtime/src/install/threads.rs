//! The thread `install()` starts for the HTTP endpoint, when there is one.
//!
//! It is spawned before the global recorder is set but waits for a go-ahead, so that when the
//! last step of `install()` fails it ends without having served anything and the port is freed.

use std::io;
use std::sync::mpsc;
use std::thread;

use crate::error::Error;

#[cfg(feature = "http")]
type Listener = crate::serve::Listener;
#[cfg(not(feature = "http"))]
type Listener = std::convert::Infallible;

/// Spawned threads waiting for [`Started::run`]; dropping this ends them instead, and waits
/// until they have, so that their listener is closed when `install()` returns its error.
pub(crate) struct Started {
    go: Vec<mpsc::Sender<()>>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl Started {
    pub(crate) fn spawn(listener: Option<Listener>) -> Result<Self, Error> {
        #[cfg_attr(not(feature = "http"), allow(unused_mut))]
        let mut started = Started {
            go: Vec::new(),
            threads: Vec::new(),
        };
        #[cfg(feature = "http")]
        if let Some(listener) = listener {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .enable_time()
                .build()
                .map_err(Error::Runtime)?;
            started.thread("track-metrics-http", move || {
                runtime.block_on(listener.serve())
            })?;
        }
        #[cfg(not(feature = "http"))]
        let _ = listener;
        Ok(started)
    }

    fn thread(&mut self, name: &str, work: impl FnOnce() + Send + 'static) -> Result<(), Error> {
        let (go, wait) = mpsc::channel();
        let thread = thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                if wait.recv().is_ok() {
                    work();
                }
            })
            .map_err(|error: io::Error| Error::Runtime(error))?;
        self.go.push(go);
        self.threads.push(thread);
        Ok(())
    }

    /// Lets every thread start its work, for the rest of the process.
    pub(crate) fn run(mut self) {
        for go in self.go.drain(..) {
            // A thread that is gone already has nothing left to start.
            let _ = go.send(());
        }
        self.threads.clear();
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        // Without a go-ahead each thread returns at once, dropping what it owns.
        self.go.clear();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}
