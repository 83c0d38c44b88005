//! Each thread's handles of the `metrics` facade, by key: `metrics::counter!("x")` asks the
//! recorder for its handle at every call, and the registry's lock and the handle's shared
//! reference count would otherwise bounce between the cores of the threads that record.
//!
//! A thread finds its own handle by the key's hash (computed by `metrics` once per key) and
//! the key itself, and gets a clone of a reference-counted wrapper that only it counts, around
//! the series' shared handle. The cache holds at most [`MAX_KEYS`] keys per thread (past them,
//! calls take the registry's way), and goes with its thread.

use std::cell::RefCell;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use hashbrown::HashMap;
use metrics::{CounterFn, GaugeFn, HistogramFn, Key};

/// The most keys a thread keeps handles of: a few hundred bytes each, so that many threads
/// touching many keys stay within a few megabytes.
const MAX_KEYS: usize = 256;

/// One cached handle.
#[derive(Clone)]
enum Cached {
    Counter(metrics::Counter),
    Gauge(metrics::Gauge),
    Histogram(metrics::Histogram),
}

/// Keys are hashed by `metrics` already: the map uses that hash as it is.
#[derive(Clone, Copy, Default)]
struct Hashed;

impl BuildHasher for Hashed {
    type Hasher = HashedHasher;
    fn build_hasher(&self) -> HashedHasher {
        HashedHasher(0)
    }
}

#[derive(Default)]
struct HashedHasher(u64);

impl Hasher for HashedHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// One kept handle: the facade it came from (one per process, but an `install()` that failed
/// leaves another behind), the key, and the handle.
type Entry = (usize, Key, Cached);

/// Slots of the direct-mapped part, found by the key's hash alone; keys that meet in a slot go
/// to the map.
const SLOTS: usize = 256;

struct Cache {
    slots: Box<[Option<Entry>]>,
    more: HashMap<u64, Vec<Entry>, Hashed>,
    len: usize,
}

thread_local! {
    static CACHE: RefCell<Option<Cache>> = const { RefCell::new(None) };
}

/// The handle of `key` from `facade` this thread keeps, if any.
#[inline]
fn find(facade: usize, key: &Key) -> Option<Cached> {
    CACHE
        .try_with(|cache| {
            let cache = cache.try_borrow().ok()?;
            let cache = cache.as_ref()?;
            let hash = key.get_hash();
            if let Some((from, kept, handle)) = &cache.slots[hash as usize % SLOTS]
                && *from == facade
                && same(kept, key)
            {
                return Some(handle.clone());
            }
            cache
                .more
                .get(&hash)?
                .iter()
                .find(|(from, kept, _)| *from == facade && same(kept, key))
                .map(|(_, _, handle)| handle.clone())
        })
        .ok()
        .flatten()
}

/// Whether `key` is `kept`: at once when it points at the same name and labels (a key of a
/// macro with literal labels, or a clone of the kept one: memory the kept key holds, so it
/// cannot be another's), else by comparing them.
#[inline]
fn same(kept: &Key, key: &Key) -> bool {
    if kept.get_hash() != key.get_hash() {
        return false;
    }
    let (kept_labels, labels) = (kept.labels().as_slice(), key.labels().as_slice());
    let shared = std::ptr::eq(kept.name(), key.name()) && std::ptr::eq(kept_labels, labels);
    shared || kept == key
}

/// Keeps `handle` for `key`; the caller makes it under the re-entry guard (this allocates).
fn keep(facade: usize, key: &Key, handle: Cached) {
    let _ = CACHE.try_with(|cache| {
        let Ok(mut cache) = cache.try_borrow_mut() else {
            return;
        };
        let cache = cache.get_or_insert_with(|| Cache {
            slots: (0..SLOTS).map(|_| None).collect(),
            more: HashMap::with_hasher(Hashed),
            len: 0,
        });
        if cache.len >= MAX_KEYS {
            return;
        }
        cache.len += 1;
        let entry = (facade, key.clone(), handle);
        let slot = &mut cache.slots[key.get_hash() as usize % SLOTS];
        if slot.is_none() {
            *slot = Some(entry);
        } else {
            cache.more.entry(key.get_hash()).or_default().push(entry);
        }
    });
}

/// A handle only this thread counts references to, around the series' shared one; a cache line
/// of its own, so that the reference counts of two threads' handles never share one.
#[repr(align(64))]
struct Local<T>(Arc<T>);

impl<T: CounterFn> CounterFn for Local<T> {
    fn increment(&self, value: u64) {
        self.0.increment(value);
    }
    fn absolute(&self, value: u64) {
        self.0.absolute(value);
    }
}

impl<T: GaugeFn> GaugeFn for Local<T> {
    fn increment(&self, value: f64) {
        self.0.increment(value);
    }
    fn decrement(&self, value: f64) {
        self.0.decrement(value);
    }
    fn set(&self, value: f64) {
        self.0.set(value);
    }
}

impl<T: HistogramFn> HistogramFn for Local<T> {
    fn record(&self, value: f64) {
        self.0.record(value);
    }
    fn record_many(&self, value: f64, count: usize) {
        self.0.record_many(value, count);
    }
}

/// This thread's counter of `key`.
#[inline]
pub(crate) fn counter(facade: usize, key: &Key) -> Option<metrics::Counter> {
    match find(facade, key)? {
        Cached::Counter(counter) => Some(counter),
        _ => None,
    }
}

/// Keeps a thread's own handle of `shared`, and returns it.
pub(crate) fn keep_counter<T>(facade: usize, key: &Key, shared: Arc<T>) -> metrics::Counter
where
    T: CounterFn + Send + Sync + 'static,
{
    let counter = metrics::Counter::from_arc(Arc::new(Local(shared)));
    keep(facade, key, Cached::Counter(counter.clone()));
    counter
}

/// This thread's gauge of `key`.
#[inline]
pub(crate) fn gauge(facade: usize, key: &Key) -> Option<metrics::Gauge> {
    match find(facade, key)? {
        Cached::Gauge(gauge) => Some(gauge),
        _ => None,
    }
}

/// Keeps a thread's own handle of `shared`, and returns it.
pub(crate) fn keep_gauge<T>(facade: usize, key: &Key, shared: Arc<T>) -> metrics::Gauge
where
    T: GaugeFn + Send + Sync + 'static,
{
    let gauge = metrics::Gauge::from_arc(Arc::new(Local(shared)));
    keep(facade, key, Cached::Gauge(gauge.clone()));
    gauge
}

/// This thread's histogram of `key`.
#[inline]
pub(crate) fn histogram(facade: usize, key: &Key) -> Option<metrics::Histogram> {
    match find(facade, key)? {
        Cached::Histogram(histogram) => Some(histogram),
        _ => None,
    }
}

/// Keeps a thread's own handle of `shared`, and returns it.
pub(crate) fn keep_histogram<T>(facade: usize, key: &Key, shared: Arc<T>) -> metrics::Histogram
where
    T: HistogramFn + Send + Sync + 'static,
{
    let histogram = metrics::Histogram::from_arc(Arc::new(Local(shared)));
    keep(facade, key, Cached::Histogram(histogram.clone()));
    histogram
}
