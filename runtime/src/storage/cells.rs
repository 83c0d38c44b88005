//! Per-thread cells: where every count and sum of the storage is written.
//!
//! A series that several threads write would bounce one cache line between their cores at every
//! operation. Instead each thread writes a block of words of its own, found through a
//! thread-local table indexed by the series' id, and a scrape adds the blocks up. A block has
//! one writer at a time, so a write is a plain load and store, with no locked instruction.
//!
//! A write of several words that readers must see together (a histogram observation: its bucket
//! and its sum) is bracketed by a sequence number in word 0, odd while the write is in
//! progress: a reader copies the block and retries if the number was odd or changed meanwhile (a
//! seqlock). The writer never waits, and every copy a reader keeps is one the writer left
//! between two operations, so a histogram's buckets, count and sum always come from the same
//! observations.
//!
//! Memory: a block is its words rounded up to 64-byte lines (two threads never share a line),
//! allocated the first time a thread writes a series, plus 8 bytes in that thread's table. When
//! a thread exits, its blocks go to their series' free list, values included, and the next thread
//! that writes the series takes one: nothing is lost, and a series has at most as many blocks as
//! the peak number of threads that wrote it at once.
//!
//! A thread whose table is gone (a write from another thread-local's destructor) or busy (a
//! write re-entered from an allocator while the table grows) writes a block shared by all such
//! writers, under a mutex. That block is made with the series, so that this path never
//! allocates: an allocator that records metrics cannot re-enter it.

use std::cell::{Cell, RefCell};
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering, fence};
use std::sync::{Mutex, PoisonError};

/// Entries per page of a thread's table: pages are allocated as ids are used.
const PAGE: usize = 64;

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// 64 bytes, aligned: the unit a block is made of, so that no two blocks share a cache line.
#[repr(C, align(64))]
struct Line([AtomicU64; 8]);

/// One block of words, in its series' list of blocks.
pub(crate) struct Block {
    words: &'static [AtomicU64],
    next: AtomicPtr<Block>,
}

impl Block {
    /// A block of static words, for a series that no one reads.
    pub(crate) const fn of(words: &'static [AtomicU64]) -> Block {
        Block {
            words,
            next: AtomicPtr::new(ptr::null_mut()),
        }
    }
}

/// The id of the cells of discarded operations: never in a thread's table.
const DISCARD_ID: usize = usize::MAX;

static DISCARD_WORDS_1: [AtomicU64; 1] = [const { AtomicU64::new(0) }; 1];
static DISCARD_BLOCK_1: Block = Block::of(&DISCARD_WORDS_1);
static DISCARD_WORDS_3: [AtomicU64; 3] = [const { AtomicU64::new(0) }; 3];
static DISCARD_BLOCK_3: Block = Block::of(&DISCARD_WORDS_3);

/// Cells of one word that no scrape reads, for operations dropped rather than waited for (see
/// `crate::storage::reentry`): a counter's.
pub(crate) static DISCARD_1: Cells = Cells::discard(&DISCARD_BLOCK_1);
/// Cells of three words that no scrape reads: a histogram's without bounds.
pub(crate) static DISCARD_3: Cells = Cells::discard(&DISCARD_BLOCK_3);

/// The per-thread blocks of one series, each `width` words. Made by [`Cells::new`] and never
/// freed: a thread's table keeps pointers into it for as long as the thread lives.
pub(crate) struct Cells {
    id: usize,
    width: usize,
    /// Every block made for this series, newest first, for readers.
    head: AtomicPtr<Block>,
    /// Blocks of threads that have exited, to be taken by new ones.
    free: Mutex<Vec<&'static Block>>,
    /// The block of writers without a table of their own, one at a time.
    shared: &'static Block,
    shared_writer: Mutex<()>,
}

/// The first words of a thread's blocks of `PAGE` consecutive series ids; null where none.
type Page = [Cell<*const AtomicU64>; PAGE];

/// A thread's blocks, by series id.
struct Table {
    pages: RefCell<Vec<Option<Box<Page>>>>,
    owned: RefCell<Vec<(&'static Cells, &'static Block)>>,
}

impl Drop for Table {
    fn drop(&mut self) {
        for (cells, block) in self.owned.get_mut().drain(..) {
            cells
                .free
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(block);
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
}

impl Cells {
    /// Cells that write into `shared` only, which is in no list of blocks: made without
    /// allocating, for a series whose operations are dropped.
    const fn discard(shared: &'static Block) -> Cells {
        Cells {
            id: DISCARD_ID,
            width: shared.words.len(),
            head: AtomicPtr::new(ptr::null_mut()),
            free: Mutex::new(Vec::new()),
            shared,
            shared_writer: Mutex::new(()),
        }
    }

    /// The cells of a new series whose blocks are `width` words, for the rest of the process.
    pub(crate) fn new(width: usize) -> &'static Cells {
        let head = AtomicPtr::new(ptr::null_mut());
        let shared = new_block(&head, width);
        Box::leak(Box::new(Cells {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            width,
            head,
            free: Mutex::new(Vec::new()),
            shared,
            shared_writer: Mutex::new(()),
        }))
    }

    /// Runs `write` on this thread's block of the series.
    #[inline]
    pub(crate) fn write<R>(&'static self, write: impl FnOnce(&[AtomicU64]) -> R) -> R {
        match self.local() {
            // SAFETY: the table only holds pointers to blocks of `self.width` words that live
            // forever, and this thread is their one writer while they are in its table.
            Some(first) => write(unsafe { std::slice::from_raw_parts(first, self.width) }),
            None => self.write_slow(write),
        }
    }

    #[inline]
    fn local(&self) -> Option<*const AtomicU64> {
        TABLE
            .try_with(|table| {
                let pages = table.pages.try_borrow().ok()?;
                let first = pages.get(self.id / PAGE)?.as_ref()?[self.id % PAGE].get();
                (!first.is_null()).then_some(first)
            })
            .ok()
            .flatten()
    }

    #[cold]
    #[inline(never)]
    fn write_slow<R>(&'static self, write: impl FnOnce(&[AtomicU64]) -> R) -> R {
        if let Some(words) = self.attach() {
            return write(words);
        }
        let _one_writer = self
            .shared_writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        write(self.shared.words)
    }

    /// Gives this thread a block of the series: one left by an exited thread, or a new one.
    fn attach(&'static self) -> Option<&'static [AtomicU64]> {
        if self.id == DISCARD_ID {
            return None;
        }
        TABLE
            .try_with(|table| {
                // Busy means re-entered while this thread's table changes: share instead.
                let mut pages = table.pages.try_borrow_mut().ok()?;
                let mut owned = table.owned.try_borrow_mut().ok()?;
                let reused = self
                    .free
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .pop();
                let block = reused.unwrap_or_else(|| new_block(&self.head, self.width));
                let page_index = self.id / PAGE;
                if pages.len() <= page_index {
                    pages.resize_with(page_index + 1, || None);
                }
                let page = pages[page_index]
                    .get_or_insert_with(|| Box::new([const { Cell::new(ptr::null()) }; PAGE]));
                page[self.id % PAGE].set(block.words.as_ptr());
                owned.push((self, block));
                Some(block.words)
            })
            .ok()
            .flatten()
    }

    /// Calls `read` with every block of the series.
    pub(crate) fn for_each_block(&self, mut read: impl FnMut(&[AtomicU64])) {
        let mut next = self.head.load(Ordering::Acquire);
        while !next.is_null() {
            // SAFETY: blocks are leaked, so every pointer in the list stays valid.
            let block = unsafe { &*next };
            read(block.words);
            next = block.next.load(Ordering::Acquire);
        }
    }

    /// The sum of word `index` over every block: a counter read.
    pub(crate) fn sum(&self, index: usize) -> u64 {
        let mut total = 0_u64;
        self.for_each_block(|words| {
            total = total.saturating_add(words[index].load(Ordering::Acquire));
        });
        total
    }

    /// How many blocks the series has.
    #[cfg(test)]
    fn blocks(&self) -> usize {
        let mut count = 0;
        self.for_each_block(|_| count += 1);
        count
    }
}

/// A zeroed block of `width` words, linked into the list that `head` starts.
fn new_block(head: &AtomicPtr<Block>, width: usize) -> &'static Block {
    let lines = width.div_ceil(8).max(1);
    let storage: &'static [Line] = Box::leak(
        (0..lines)
            .map(|_| Line([const { AtomicU64::new(0) }; 8]))
            .collect(),
    );
    // SAFETY: `Line` is `repr(C)` around 8 `AtomicU64`, so the lines are `8 * lines`
    // contiguous words, and `width <= 8 * lines`.
    let words = unsafe { std::slice::from_raw_parts(storage.as_ptr().cast::<AtomicU64>(), width) };
    let block: &'static Block = Box::leak(Box::new(Block {
        words,
        next: AtomicPtr::new(ptr::null_mut()),
    }));
    let mut first = head.load(Ordering::Acquire);
    loop {
        block.next.store(first, Ordering::Relaxed);
        match head.compare_exchange_weak(
            first,
            ptr::from_ref(block).cast_mut(),
            Ordering::Release,
            Ordering::Acquire,
        ) {
            Ok(_) => return block,
            Err(current) => first = current,
        }
    }
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
        if before % 2 == 0 {
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
        if attempts % 64 == 0 {
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

    #[test]
    fn each_thread_writes_its_own_block_and_readers_see_the_sum() {
        let cells = Cells::new(1);
        // Joined, not scoped: a join waits for the thread's thread-locals to be destroyed,
        // which is when its blocks go back to the free list.
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    for _ in 0..1000 {
                        cells.write(|words| add(&words[0], 1));
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(cells.sum(0), 4000);
        // The four threads have exited: a new one takes a block back instead of making one.
        let before = cells.blocks();
        std::thread::spawn(|| cells.write(|words| add(&words[0], 1)))
            .join()
            .unwrap();
        assert_eq!(cells.blocks(), before);
        assert_eq!(cells.sum(0), 4001);
    }

    #[test]
    fn readers_never_see_half_a_write() {
        let cells = Cells::new(3);
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
