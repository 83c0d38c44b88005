//! The error counters of a call site, one per error type, in a list that readers walk without a
//! lock: the set of error types of a function is fixed by its code, so it stays short. A site
//! keeps one of its own counters, or of the application recorder's handles.

use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::model::names::OVERFLOW_LABEL_VALUE;

/// Distinct error types a function keeps before folding others into `__overflow__`.
const MAX_ERROR_TYPES: usize = 64;

/// Error counters of type `C`, by error type.
pub(crate) struct ErrorTable<C: 'static> {
    head: AtomicPtr<ErrorEntry<C>>,
    len: AtomicUsize,
    insert: Mutex<()>,
}

pub(crate) struct ErrorEntry<C: 'static> {
    pub(crate) error_type: &'static str,
    pub(crate) counter: C,
    next: *const ErrorEntry<C>,
}

// SAFETY: `next` points to a leaked entry that never changes once linked; the counter is shared
// between threads as `C` allows.
unsafe impl<C: Send + Sync> Send for ErrorEntry<C> {}
// SAFETY: as above.
unsafe impl<C: Send + Sync> Sync for ErrorEntry<C> {}

impl<C> Default for ErrorTable<C> {
    fn default() -> Self {
        ErrorTable {
            head: AtomicPtr::new(std::ptr::null_mut()),
            len: AtomicUsize::new(0),
            insert: Mutex::new(()),
        }
    }
}

impl<C: Send + Sync> ErrorTable<C> {
    pub(crate) fn entries(&self) -> impl Iterator<Item = &'static ErrorEntry<C>> {
        let mut next = self.head.load(Ordering::Acquire).cast_const();
        std::iter::from_fn(move || {
            // SAFETY: entries are leaked and never change once linked.
            let entry = unsafe { next.as_ref()? };
            next = entry.next;
            Some(entry)
        })
    }

    pub(crate) fn find(&self, error_type: &str) -> Option<&'static ErrorEntry<C>> {
        self.entries().find(|entry| {
            std::ptr::eq(entry.error_type, error_type) || entry.error_type == error_type
        })
    }

    /// The counter of `error_type`, made by `make` the first time (with the label it will
    /// carry: `__overflow__` past the limit).
    pub(crate) fn counter(
        &self,
        error_type: &'static str,
        make: impl FnOnce(&'static str) -> C,
    ) -> &'static C {
        match self.find(error_type) {
            Some(entry) => &entry.counter,
            None => &self.insert(error_type, make).counter,
        }
    }

    /// Links a counter for `error_type`. The counter is made before the lock is taken, since
    /// making it may run the application recorder's code, which may record an error here.
    #[cold]
    fn insert(
        &self,
        error_type: &'static str,
        make: impl FnOnce(&'static str) -> C,
    ) -> &'static ErrorEntry<C> {
        let full = self.len.load(Ordering::Relaxed) >= MAX_ERROR_TYPES;
        let label = if full {
            OVERFLOW_LABEL_VALUE
        } else {
            error_type
        };
        if let Some(entry) = self.find(label) {
            return entry;
        }
        let counter = make(label);
        let one_writer = self.insert.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = self.find(error_type).or_else(|| self.find(label)) {
            return entry;
        }
        let entry: &'static ErrorEntry<C> = Box::leak(Box::new(ErrorEntry {
            error_type: label,
            counter,
            next: self.head.load(Ordering::Relaxed),
        }));
        self.head
            .store(std::ptr::from_ref(entry).cast_mut(), Ordering::Release);
        self.len.fetch_add(1, Ordering::Relaxed);
        drop(one_writer);
        if full {
            log::warn!(
                "a function returned more than {MAX_ERROR_TYPES} error types: further ones are \
                 counted as `error_type=\"{OVERFLOW_LABEL_VALUE}\"`"
            );
        }
        entry
    }
}
