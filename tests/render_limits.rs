//! Hostile files are refused with little memory: a counting allocator records the peak of
//! live heap bytes while each bomb is rendered. This test binary holds a single test so no
//! other test's allocations are counted.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{fixture, renderer};
use framecast::render::Error;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator and only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn bombs_are_refused_with_little_memory() {
    let renderer = renderer();
    for file in ["edge/bomb-60000x60000.png", "edge/bomb-65500x65500.jpg"] {
        let path = fixture(file);
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let result = renderer.render_file(&path);
        let peak = PEAK.load(Ordering::Relaxed) - base;
        assert!(
            matches!(result, Err(ref e) if matches!(e.source, Error::TooLarge { .. })),
            "{file}: {result:?}"
        );
        // Decoding would need 10.8 GB and 12.9 GB; refusing needs the file and a header.
        assert!(peak < 1 << 20, "{file}: {peak} bytes at peak");
        eprintln!("{file}: refused with {peak} bytes at peak");
    }
}
