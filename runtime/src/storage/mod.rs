//! Where everything that records is kept: the call sites of `#[track_metrics]`, the families of
//! `metrics!`, and the `metrics` facade, all on the same per-thread cells ([`cells`]); and how a
//! consistent snapshot of each is read. The storage knows nothing of any exposition format.

pub(crate) mod call_future;
pub(crate) mod call_site;
pub(crate) mod cells;
pub(crate) mod clock;
pub(crate) mod counter;
pub(crate) mod declared;
pub(crate) mod error_table;
pub(crate) mod exemplars;
pub(crate) mod facade;
pub(crate) mod facade_cache;
pub(crate) mod forward;
pub(crate) mod gauge;
pub(crate) mod histogram;
pub(crate) mod lookup;
pub(crate) mod native;
pub(crate) mod progress;
pub(crate) mod reentry;
pub(crate) mod sketch;
pub(crate) mod stateset;
pub(crate) mod summary;
