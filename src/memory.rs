//! A memory limit for the netc binary: its global allocator counts the bytes it holds, and a
//! request past the limit (`--max-memory`, default [`DEFAULT_MAX_MEMORY`]) ends netc with the
//! coded error R006 instead of the machine running out of memory. Nothing is half-written:
//! a compile's new tree was being built aside (the next run removes it), and the output
//! directory keeps the old one.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The default limit: 2 GiB, what a plan of 20,000 hosts and 100,000 flows needs several
/// times over.
pub const DEFAULT_MAX_MEMORY: usize = 2 << 30;

static LIMIT: AtomicUsize = AtomicUsize::new(usize::MAX);
static HELD: AtomicUsize = AtomicUsize::new(0);

/// Set the limit (from the command line, before the work starts).
pub fn set_limit(bytes: usize) {
    LIMIT.store(bytes, Ordering::Relaxed);
}

/// The system allocator, counted.
pub struct Counting;

fn over(size: usize) {
    let held = HELD.fetch_add(size, Ordering::Relaxed) + size;
    let limit = LIMIT.load(Ordering::Relaxed);
    if held > limit {
        stop(limit);
    }
}

/// Print R006 without allocating and end the process.
#[cold]
fn stop(limit: usize) -> ! {
    let mut digits = [0u8; 24];
    let mut n = limit;
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let parts: [&[u8]; 3] = [
        b"error: [R006] netc needed more than ",
        &digits[at..],
        b" bytes of memory (its limit) and stopped; nothing was changed. A plan this large may need --max-memory BYTES\n",
    ];
    for p in parts {
        // SAFETY: write(2) of a valid buffer to standard error.
        unsafe { libc::write(2, p.as_ptr().cast(), p.len()) };
    }
    // SAFETY: ending the process without running destructors (which would allocate).
    unsafe { libc::_exit(2) }
}

// SAFETY: every call is forwarded to the system allocator; only a counter is kept beside it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        over(layout.size());
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        over(layout.size());
        System.alloc_zeroed(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        HELD.fetch_sub(layout.size(), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            over(new_size - layout.size());
        } else {
            HELD.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        System.realloc(ptr, layout, new_size)
    }
}
