//! A per-thread cache of recent label-set lookups of the declared families.
//!
//! A family's map of series sits behind a read-write lock, whose reader count would bounce
//! between the cores of threads that look up series at the same time. Each thread remembers
//! the series it found last in a small direct-mapped table of its own, so that a repeated
//! lookup costs a hash and a comparison, and no shared write.

use std::cell::Cell;

/// Entries per thread: 256 x 24 bytes.
const SLOTS: usize = 256;

#[derive(Clone, Copy)]
struct Slot {
    /// The id of the family that stored the entry: entries of different families, of
    /// different types, never mix.
    owner: usize,
    hash: u64,
    entry: *const (),
}

const EMPTY: Slot = Slot {
    owner: 0,
    hash: 0,
    entry: std::ptr::null(),
};

thread_local! {
    static RECENT: [Cell<Slot>; SLOTS] = const { [const { Cell::new(EMPTY) }; SLOTS] };
}

fn slot(owner: usize, hash: u64) -> usize {
    (hash as usize ^ owner.wrapping_mul(0x9E37_79B9)) % SLOTS
}

/// The entry `owner` remembered under `hash` on this thread, if still there.
#[inline]
pub(crate) fn recall(owner: usize, hash: u64) -> Option<*const ()> {
    RECENT
        .try_with(|recent| {
            let found = recent[slot(owner, hash)].get();
            (found.owner == owner && found.hash == hash).then_some(found.entry)
        })
        .ok()
        .flatten()
}

/// Remembers `entry` for `owner` under `hash` on this thread.
#[inline]
pub(crate) fn remember(owner: usize, hash: u64, entry: *const ()) {
    let _ = RECENT.try_with(|recent| recent[slot(owner, hash)].set(Slot { owner, hash, entry }));
}
