// A future under a name the attribute cannot see through would be timed only while it is built:
// a warning says how to fix it, made an error here to be seen.
#![deny(deprecated)]

use std::future::Future;
use std::pin::Pin;

type Job = Pin<Box<dyn Future<Output = u8> + Send>>;

#[track_metrics::track_metrics]
fn job() -> Job {
    Box::pin(async { 1 })
}

fn main() {
    drop(job());
}
