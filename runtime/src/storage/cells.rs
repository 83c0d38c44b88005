//! Per-thread cells: where every count and sum of the storage is written.
//!
//! A series that several threads write would bounce one cache line between their cores at every
//! operation. Instead each thread that writes a series often writes a block of words of its own,
//! found through a thread-local table indexed by the series' id, and a scrape adds the blocks
//! up. A block has one writer at a time, so a write is a plain load and store, with no locked
//! instruction.
//!
//! A write of several words that readers must see together (a histogram observation: its bucket
//! and its sum) is bracketed by a sequence number in word 0, odd while the write is in
//! progress: a reader copies the block and retries if the number was odd or changed meanwhile (a
//! seqlock). The writer never waits, and every copy a reader keeps is one the writer left
//! between two operations, so a histogram's buckets, count and sum always come from the same
//! observations.
//!
//! Memory grows with the work, not with the threads: a thread's first [`PROMOTE_AFTER`] writes
//! of a series go to one of a few stripes the series' cold writers share, each under a mutex
//! (the thread's table counts them in the slot that later points to its block); only a thread
//! that keeps writing gets a block of its own, 64-byte lines that no other block shares. When a
//! thread exits, its blocks are folded into a stripe (or by the series' own [`Fold`]) and freed,
//! under the lock readers take, so a reader sees each value once. 512 threads that each call
//! 1,000 functions a few times cost their tables and the stripes, not 512,000 blocks.
//!
//! A thread whose table is gone (a write from another thread-local's destructor) or busy (a
//! write re-entered from an allocator while the table grows) writes a stripe too. The first
//! stripe is made with the series, and the others only outside re-entered work, so that this
//! path never allocates where an allocator that records metrics could re-enter it.

use std::cell::{Cell, RefCell};
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering, fence};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::storage::reentry;

/// Entries per page of a thread's table: pages are allocated as ids are used.
const PAGE: usize = 64;
/// How many writes of a series a thread makes to the shared stripes before it gets a block of
/// its own: enough that a function called a few times by each of many threads costs no block,
/// few enough that a loop pays the stripe's mutex only at its start.
pub(crate) const PROMOTE_AFTER: usize = 16;
/// The most stripes a series has.
const MAX_STRIPES: usize = 8;

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// 64 bytes, aligned: the unit a block is made of, so that no two blocks share a cache line.
#[repr(C, align(64))]
struct Line([AtomicU64; 8]);

/// Words that writers without a block of their own share, one at a time.
pub(crate) struct Stripe {
    words: &'static [AtomicU64],
    writer: Mutex<()>,
}

impl Stripe {
    /// A stripe of static words, for a series that no one reads.
    pub(crate) const fn of(words: &'static [AtomicU64]) -> Stripe {
        Stripe {
            words,
            writer: Mutex::new(()),
        }
    }
}

/// How a block's values join its series when its thread exits.
pub(crate) enum Fold {
    /// Added word by word into a stripe: word 0 is a sequence number when `sequenced`, and the
    /// words at `floats` hold `f64`s.
    Words {
        sequenced: bool,
        floats: &'static [usize],
    },
    /// Handed to the series, which keeps it elsewhere (a copy of words `0..width`), under the
    /// lock readers take.
    Custom(&'static (dyn Fn(&[u64]) + Sync)),
}

/// The id of the cells of discarded operations: never in a thread's table.
const DISCARD_ID: usize = usize::MAX;

static DISCARD_WORDS_1: [AtomicU64; 1] = [const { AtomicU64::new(0) }; 1];
static DISCARD_STRIPE_1: Stripe = Stripe::of(&DISCARD_WORDS_1);
static DISCARD_WORDS_3: [AtomicU64; 3] = [const { AtomicU64::new(0) }; 3];
static DISCARD_STRIPE_3: Stripe = Stripe::of(&DISCARD_WORDS_3);

/// Cells of one word that no scrape reads, for operations dropped rather than waited for (see
/// `crate::storage::reentry`): a counter's.
pub(crate) static DISCARD_1: Cells = Cells::discard(&DISCARD_STRIPE_1);
/// Cells of three words that no scrape reads: a histogram's without bounds.
pub(crate) static DISCARD_3: Cells = Cells::discard(&DISCARD_STRIPE_3);

/// The cells of one series, each `width` words: the blocks of the threads that write it often,
/// and the stripes of the others. Made by [`Cells::new`] and never freed: a thread's table
/// keeps pointers into it for as long as the thread lives.
pub(crate) struct Cells {
    id: usize,
    width: usize,
    fold: Fold,
    /// The threads' blocks, for readers; a writer takes the lock only to add its block, and an
    /// exiting thread to fold it.
    blocks: Mutex<Vec<OwnedBlock>>,
    /// The stripe made with the series.
    first: &'static Stripe,
    /// The others, made at their first use.
    more: [AtomicPtr<Stripe>; MAX_STRIPES - 1],
}

/// A thread's block: its lines, allocated for it and freed when it is folded.
struct OwnedBlock(&'static [Line]);

impl OwnedBlock {
    fn words(&self, width: usize) -> &[AtomicU64] {
        // SAFETY: `Line` is `repr(C)` around 8 `AtomicU64`, so the lines are `8 * len`
        // contiguous words, and blocks have at least `width` words.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().cast::<AtomicU64>(), width) }
    }
}

/// A thread's slot for one series: 0 before its first write, `count << 1 | 1` after `count`
/// writes to the stripes, else the address of the thread's block (even: lines are aligned).
type Page = [Cell<usize>; PAGE];

/// A thread's cells, by series id.
struct Table {
    pages: RefCell<Vec<Option<Box<Page>>>>,
    owned: RefCell<Vec<(&'static Cells, *const Line)>>,
}

impl Drop for Table {
    fn drop(&mut self) {
        for (cells, lines) in self.owned.get_mut().drain(..) {
            cells.fold_block(lines);
        }
    }
}

thread_local! {
    static TABLE: Table = const {
        Table {
            pages: RefCell::new(Vec::new()),
            owned: RefCell::new(Vec::new()),
        }
    };
    /// Which stripe this thread writes: threads are spread over the stripes in turn.
    static STRIPE: usize = {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        NEXT.fetch_add(1, Ordering::Relaxed)
    };
}

/// What a reader holds while it reads a series' cells: no block is folded meanwhile.
pub(crate) struct Reading<'a> {
    cells: &'a Cells,
    blocks: MutexGuard<'a, Vec<OwnedBlock>>,
}

impl Reading<'_> {
    /// Calls `read` with every block and stripe of the series.
    pub(crate) fn for_each_block(&self, mut read: impl FnMut(&[AtomicU64])) {
        for block in self.blocks.iter() {
            read(block.words(self.cells.width));
        }
        read(self.cells.first.words);
        for stripe in &self.cells.more {
            let stripe = stripe.load(Ordering::Acquire);
            if !stripe.is_null() {
                // SAFETY: stripes are leaked once published.
                read(unsafe { &*stripe }.words);
            }
        }
    }
}

impl Cells {
    /// Cells that write into `stripe` only: made without allocating, for a series whose
    /// operations are dropped.
    const fn discard(stripe: &'static Stripe) -> Cells {
        Cells {
            id: DISCARD_ID,
            width: stripe.words.len(),
            fold: Fold::Words {
                sequenced: false,
                floats: &[],
            },
            blocks: Mutex::new(Vec::new()),
            first: stripe,
            more: [const { AtomicPtr::new(ptr::null_mut()) }; MAX_STRIPES - 1],
        }
    }

    /// The cells of a new series whose blocks are `width` words, folded as `fold` says, for
    /// the rest of the process.
    pub(crate) fn new(width: usize, fold: Fold) -> &'static Cells {
        count_stripes();
        Box::leak(Box::new(Cells {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            width,
            fold,
            blocks: Mutex::new(Vec::new()),
            first: new_stripe(width),
            more: [const { AtomicPtr::new(ptr::null_mut()) }; MAX_STRIPES - 1],
        }))
    }

    /// The cells of a counter: one word.
    pub(crate) fn counter() -> &'static Cells {
        Cells::new(
            1,
            Fold::Words {
                sequenced: false,
                floats: &[],
            },
        )
    }

    /// Runs `write` on this thread's block of the series, or on a stripe.
    #[inline]
    pub(crate) fn write<R>(&'static self, write: impl FnOnce(&[AtomicU64]) -> R) -> R {
        match self.local() {
            // SAFETY: the table only holds addresses of blocks of at least `self.width` words
            // that live until this thread's table is dropped, and this thread is their one
            // writer.
            Some(first) => write(unsafe { std::slice::from_raw_parts(first, self.width) }),
            None => self.write_slow(write),
        }
    }

    #[inline]
    fn local(&self) -> Option<*const AtomicU64> {
        TABLE
            .try_with(|table| {
                let pages = table.pages.try_borrow().ok()?;
                let slot = pages.get(self.id / PAGE)?.as_ref()?[self.id % PAGE].get();
                (slot & 1 == 0 && slot != 0).then_some(slot as *const AtomicU64)
            })
            .ok()
            .flatten()
    }

    #[cold]
    #[inline(never)]
    fn write_slow<R>(&'static self, write: impl FnOnce(&[AtomicU64]) -> R) -> R {
        if let Some(words) = self.count_or_attach() {
            return write(words);
        }
        let stripe = self.stripe();
        let _one_writer = stripe.writer.lock().unwrap_or_else(PoisonError::into_inner);
        write(stripe.words)
    }

    /// Counts this thread's write to the stripes, or, past [`PROMOTE_AFTER`] of them, gives it
    /// a block of its own and returns it.
    fn count_or_attach(&'static self) -> Option<&'static [AtomicU64]> {
        if self.id == DISCARD_ID {
            return None;
        }
        TABLE
            .try_with(|table| {
                {
                    let pages = table.pages.try_borrow().ok()?;
                    if let Some(Some(page)) = pages.get(self.id / PAGE) {
                        let slot = &page[self.id % PAGE];
                        let writes = slot.get() >> 1;
                        if writes < PROMOTE_AFTER {
                            slot.set((writes + 1) << 1 | 1);
                            return None;
                        }
                    }
                }
                // Busy means re-entered while this thread's table changes: a stripe then.
                let mut pages = table.pages.try_borrow_mut().ok()?;
                let page_index = self.id / PAGE;
                if pages.len() <= page_index {
                    pages.resize_with(page_index + 1, || None);
                }
                let page = pages[page_index]
                    .get_or_insert_with(|| Box::new([const { Cell::new(0) }; PAGE]));
                let slot = &page[self.id % PAGE];
                if slot.get() >> 1 < PROMOTE_AFTER {
                    slot.set(1 << 1 | 1);
                    return None;
                }
                let mut owned = table.owned.try_borrow_mut().ok()?;
                owned.reserve(1);
                let lines = new_lines(self.width);
                owned.push((self, lines.as_ptr()));
                let block = OwnedBlock(lines);
                let words: &'static [AtomicU64] =
                    // SAFETY: as in `OwnedBlock::words`; the lines live until this thread's
                    // table folds and frees them, and only this thread writes them until then.
                    unsafe { std::slice::from_raw_parts(lines.as_ptr().cast(), self.width) };
                self.blocks
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(block);
                slot.set(words.as_ptr() as usize);
                Some(words)
            })
            .ok()
            .flatten()
    }

    /// This thread's stripe, made at its first use unless that would allocate in re-entered
    /// work (then the first stripe).
    fn stripe(&self) -> &'static Stripe {
        let count = STRIPES.load(Ordering::Relaxed);
        if count <= 1 || self.id == DISCARD_ID || reentry::inside() {
            return self.first;
        }
        let index = STRIPE.try_with(|index| *index % count).unwrap_or(0);
        let Some(slot) = index.checked_sub(1).and_then(|index| self.more.get(index)) else {
            return self.first;
        };
        let existing = slot.load(Ordering::Acquire);
        if !existing.is_null() {
            // SAFETY: stripes are leaked once published.
            return unsafe { &*existing };
        }
        let Some(made) = reentry::guarded(|| new_stripe(self.width)) else {
            return self.first;
        };
        let made = ptr::from_ref(made).cast_mut();
        match slot.compare_exchange(ptr::null_mut(), made, Ordering::AcqRel, Ordering::Acquire) {
            // SAFETY: as above.
            Ok(_) => unsafe { &*made },
            // Another thread made it first: ours is a few bytes lost, once.
            Err(theirs) => unsafe { &*theirs },
        }
    }

    /// Holds off folds while the caller reads every block.
    pub(crate) fn reading(&self) -> Reading<'_> {
        Reading {
            cells: self,
            blocks: self.blocks.lock().unwrap_or_else(PoisonError::into_inner),
        }
    }

    /// Calls `read` with every block and stripe of the series.
    pub(crate) fn for_each_block(&self, read: impl FnMut(&[AtomicU64])) {
        self.reading().for_each_block(read);
    }

    /// The sum of word `index` over every block: a counter read.
    pub(crate) fn sum(&self, index: usize) -> u64 {
        let mut total = 0_u64;
        self.for_each_block(|words| {
            total = total.saturating_add(words[index].load(Ordering::Acquire));
        });
        total
    }

    /// Folds the block at `lines`, of a thread that is exiting, into the series, then frees it.
    fn fold_block(&'static self, lines: *const Line) {
        // Allocated before any lock: the allocator may record metrics.
        let mut copy = Vec::with_capacity(self.width);
        let freed = {
            let mut blocks = self.blocks.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(position) = blocks.iter().position(|block| block.0.as_ptr() == lines) else {
                return;
            };
            let block = blocks.swap_remove(position);
            let words = block.words(self.width);
            copy.extend(words.iter().map(|word| word.load(Ordering::Acquire)));
            match &self.fold {
                Fold::Words { sequenced, floats } => {
                    let stripe = self.first;
                    let _one_writer = stripe.writer.lock().unwrap_or_else(PoisonError::into_inner);
                    let add_all = |words: &[AtomicU64]| {
                        let start = usize::from(*sequenced);
                        for (index, value) in copy.iter().enumerate().skip(start) {
                            if floats.contains(&index) {
                                add_float(&words[index], f64::from_bits(*value));
                            } else {
                                add(&words[index], *value);
                            }
                        }
                    };
                    if *sequenced {
                        together(stripe.words, add_all);
                    } else {
                        add_all(stripe.words);
                    }
                }
                Fold::Custom(fold) => fold(&copy),
            }
            block
        };
        // SAFETY: the lines were leaked by `new_lines` for this block alone, no table points to
        // them any more (their thread is exiting), and readers only reach them under the lock
        // they were just removed under.
        drop(unsafe { Box::from_raw(ptr::from_ref(freed.0).cast_mut()) });
    }

    /// How many blocks the series has.
    #[cfg(test)]
    fn blocks(&self) -> usize {
        self.blocks.lock().unwrap().len()
    }
}

/// How many stripes a series spreads its cold writers over, about one per core; 0 until the
/// first series is made.
static STRIPES: AtomicUsize = AtomicUsize::new(0);

/// Learns the number of stripes, when a series is made: asking the system allocates, which a
/// write must never do (an allocator that records would come back into it), so writes only
/// read what this left.
fn count_stripes() {
    if STRIPES.load(Ordering::Relaxed) == 0 {
        let count = std::thread::available_parallelism()
            .map_or(4, usize::from)
            .clamp(1, MAX_STRIPES);
        STRIPES.store(count, Ordering::Relaxed);
    }
}

/// Zeroed lines for `width` words, leaked until their owner frees them.
fn new_lines(width: usize) -> &'static [Line] {
    let lines = width.div_ceil(8).max(1);
    Box::leak(
        (0..lines)
            .map(|_| Line([const { AtomicU64::new(0) }; 8]))
            .collect(),
    )
}

/// A zeroed stripe of `width` words, for the rest of the process.
fn new_stripe(width: usize) -> &'static Stripe {
    let lines = new_lines(width);
    // SAFETY: as in `OwnedBlock::words`.
    let words = unsafe { std::slice::from_raw_parts(lines.as_ptr().cast::<AtomicU64>(), width) };
    Box::leak(Box::new(Stripe::of(words)))
}

/// Adds to a word of the calling thread's block; saturates rather than wrapping to zero.
///
/// The store releases, and [`Cells::sum`] acquires, so that what happened before an increment
/// (the start of the call whose error it counts) is seen by a reader that sees the increment:
/// both are plain moves on x86.
#[inline]
pub(crate) fn add(word: &AtomicU64, amount: u64) {
    word.store(
        word.load(Ordering::Relaxed).saturating_add(amount),
        Ordering::Release,
    );
}

/// Adds to a word of the calling thread's block that holds an `f64`.
#[inline]
pub(crate) fn add_float(word: &AtomicU64, amount: f64) {
    let sum = f64::from_bits(word.load(Ordering::Relaxed)) + amount;
    word.store(sum.to_bits(), Ordering::Relaxed);
}

/// Runs `write` on the calling thread's block as one change for readers (see [`read`]).
#[inline]
pub(crate) fn together(words: &[AtomicU64], write: impl FnOnce(&[AtomicU64])) {
    let sequence = words[0].load(Ordering::Relaxed);
    words[0].store(sequence.wrapping_add(1), Ordering::Relaxed);
    // The odd sequence is visible before any word of the write.
    fence(Ordering::Release);
    write(words);
    words[0].store(sequence.wrapping_add(2), Ordering::Release);
}

/// Copies words `1..` of a block into `copy`, as they were between two writes.
pub(crate) fn read(words: &[AtomicU64], copy: &mut [u64]) {
    let mut attempts = 0_u32;
    loop {
        let before = words[0].load(Ordering::Acquire);
        if before.is_multiple_of(2) {
            for (word, value) in words[1..].iter().zip(copy.iter_mut()) {
                *value = word.load(Ordering::Relaxed);
            }
            // Every word is read before the sequence is checked again.
            fence(Ordering::Acquire);
            if words[0].load(Ordering::Relaxed) == before {
                return;
            }
        }
        attempts += 1;
        if attempts.is_multiple_of(64) {
            // The writer was preempted in the middle of a write: let it finish.
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter_cells() -> &'static Cells {
        Cells::counter()
    }

    #[test]
    fn threads_that_write_often_get_a_block_and_exited_ones_are_folded() {
        let cells = counter_cells();
        // Joined, not scoped: a join waits for the thread's thread-locals to be destroyed,
        // which is when its blocks are folded.
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    for _ in 0..1000 {
                        cells.write(|words| add(&words[0], 1));
                    }
                    assert!(cells.blocks() >= 1, "a block of its own");
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(cells.sum(0), 4000);
        assert_eq!(
            cells.blocks(),
            0,
            "every exited thread's block was folded and freed"
        );
    }

    #[test]
    fn threads_that_write_a_few_times_share_the_stripes() {
        let cells = counter_cells();
        std::thread::scope(|scope| {
            for _ in 0..64 {
                scope.spawn(|| {
                    for _ in 0..PROMOTE_AFTER {
                        cells.write(|words| add(&words[0], 1));
                    }
                    assert_eq!(cells.blocks(), 0);
                });
            }
        });
        assert_eq!(cells.sum(0), 64 * PROMOTE_AFTER as u64);
    }

    #[test]
    fn folded_histograms_stay_whole_for_readers() {
        let cells = Cells::new(
            3,
            Fold::Words {
                sequenced: true,
                floats: &[2],
            },
        );
        let threads: Vec<_> = (0..8)
            .map(|_| {
                std::thread::spawn(|| {
                    for _ in 0..500 {
                        cells.write(|words| {
                            together(words, |words| {
                                add(&words[1], 1);
                                add_float(&words[2], 0.5);
                            });
                        });
                    }
                })
            })
            .collect();
        let mut copy = [0; 2];
        for thread in threads {
            // Reads while threads exit and fold: never a count without its sum.
            while !thread.is_finished() {
                let (mut count, mut sum) = (0, 0.0);
                cells.for_each_block(|words| {
                    read(words, &mut copy);
                    count += copy[0];
                    sum += f64::from_bits(copy[1]);
                });
                assert_eq!(sum, count as f64 * 0.5);
            }
            thread.join().unwrap();
        }
        assert_eq!(cells.sum(1), 4000);
    }

    #[test]
    fn readers_never_see_half_a_write() {
        let cells = Cells::new(
            3,
            Fold::Words {
                sequenced: true,
                floats: &[],
            },
        );
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for _ in 0..200_000 {
                    cells.write(|words| {
                        together(words, |words| {
                            add(&words[1], 1);
                            add(&words[2], 1);
                        });
                    });
                }
                done.store(true, Ordering::Release);
            });
            let mut copy = [0; 2];
            while !done.load(Ordering::Acquire) {
                cells.for_each_block(|words| {
                    read(words, &mut copy);
                    assert_eq!(copy[0], copy[1]);
                });
            }
        });
    }

    #[test]
    fn counts_saturate() {
        let word = AtomicU64::new(u64::MAX - 1);
        add(&word, 5);
        assert_eq!(word.load(Ordering::Relaxed), u64::MAX);
    }
}
