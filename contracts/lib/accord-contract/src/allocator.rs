//! The global allocator on wasm32: a bump allocator over the linear memory above the linker's `__heap_base`.
//!
//! A contract call is short-lived (each call gets a fresh instance), so memory is never returned to the host;
//! freeing the most recent allocation, and growing it in place, are supported, which covers the common
//! `Vec`-grows-then-drops patterns. When the host refuses to grow memory (the `maxContractMemoryBytes` limit) the
//! allocator traps, so running out of memory is a *failure* (all gas consumed), as `docs/contract-abi.md` says.

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::cell::Cell;

const PAGE: usize = 65536;

/// The bump allocator; installed as the global allocator by the `allocator` feature.
pub struct BumpAllocator {
    /// Next free byte (0 until the first allocation).
    next: Cell<usize>,
    /// End of the linear memory as of the last growth.
    end: Cell<usize>,
    /// Start of the most recent allocation.
    last: Cell<usize>,
    /// Highest `next` so far: memory above it has never been handed out, so it is still zero.
    high: Cell<usize>,
}

// SAFETY: wasm32-unknown-unknown contracts are single-threaded (shared memory is rejected at deploy).
unsafe impl Sync for BumpAllocator {}

unsafe extern "C" {
    /// First byte past the data and stack, defined by the linker.
    static __heap_base: u8;
}

impl BumpAllocator {
    /// An allocator that starts at `__heap_base` on first use.
    pub const fn new() -> Self {
        BumpAllocator { next: Cell::new(0), end: Cell::new(0), last: Cell::new(0), high: Cell::new(0) }
    }

    /// Makes `[.., new_end)` addressable, growing the memory if needed; traps if the host refuses.
    #[inline]
    fn ensure(&self, new_end: usize) {
        if new_end > self.end.get() {
            let pages = (new_end - self.end.get()).div_ceil(PAGE);
            if wasm32::memory_grow(0, pages) == usize::MAX {
                // The memory limit: fail the call rather than revert it.
                wasm32::unreachable();
            }
            self.end.set(self.end.get() + pages * PAGE);
        }
    }
}

impl Default for BumpAllocator {
    fn default() -> Self {
        Self::new()
    }
}

#[inline]
fn align_up(p: usize, align: usize) -> usize {
    match p.checked_add(align - 1) {
        Some(v) => v & !(align - 1),
        None => wasm32::unreachable(),
    }
}

unsafe impl GlobalAlloc for BumpAllocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if self.next.get() == 0 {
            // SAFETY: only the address of the linker symbol is taken.
            let base = core::ptr::addr_of!(__heap_base) as usize;
            self.next.set(base);
            self.high.set(base);
            self.end.set(wasm32::memory_size(0) * PAGE);
        }
        let start = align_up(self.next.get(), layout.align());
        let new_next = match start.checked_add(layout.size()) {
            Some(n) => n,
            None => wasm32::unreachable(),
        };
        self.ensure(new_next);
        self.last.set(start);
        self.next.set(new_next);
        if new_next > self.high.get() {
            self.high.set(new_next);
        }
        start as *mut u8
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let high = self.high.get();
        // SAFETY: forwarded contract.
        let p = unsafe { self.alloc(layout) };
        // Only the part below the old high-water mark can hold old data (on the first call `high` is 0 and
        // nothing needs zeroing: the heap starts zeroed).
        let dirty = high.saturating_sub(p as usize).min(layout.size());
        if dirty > 0 {
            // SAFETY: `p` is valid for `layout.size() >= dirty` bytes.
            unsafe { core::ptr::write_bytes(p, 0, dirty) };
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // Only the most recent allocation can be given back.
        if ptr as usize == self.last.get() && ptr as usize + layout.size() == self.next.get() {
            self.next.set(ptr as usize);
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = ptr as usize;
        if p == self.last.get() && p + layout.size() == self.next.get() {
            // The most recent allocation grows or shrinks in place.
            let new_next = match p.checked_add(new_size) {
                Some(n) => n,
                None => wasm32::unreachable(),
            };
            self.ensure(new_next);
            self.next.set(new_next);
            if new_next > self.high.get() {
                self.high.set(new_next);
            }
            return ptr;
        }
        if new_size <= layout.size() {
            return ptr;
        }
        // SAFETY: `layout.align()` is a valid alignment and `new_size` was checked by the caller's contract.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: forwarded contract; the old block is valid for `layout.size()` bytes and does not overlap.
        unsafe {
            let q = self.alloc(new_layout);
            core::ptr::copy_nonoverlapping(ptr, q, layout.size());
            q
        }
    }
}

#[cfg(feature = "allocator")]
#[global_allocator]
static ALLOCATOR: BumpAllocator = BumpAllocator::new();
