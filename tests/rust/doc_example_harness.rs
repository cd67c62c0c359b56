// doc_example_harness.rs - drives the Rust example of docs/guest.md
// section 8 against a simulated device, for test-rust-doc-example.sh,
// which compiles the example exactly as the document shows it, as
// `mod example`, followed by this file.  A thread plays the device: it
// takes each available head and returns it as used.  The region lives in
// this process's memory and is written to a file at the end for
// check_trace.
//
//   doc_example REGION-FILE REQUESTS

use example::{submit_and_wait, trace_start, Avail, MyVq, Used, QUEUE_SIZE};
use std::process::exit;
use std::ptr::{addr_of, addr_of_mut, read_volatile, write_volatile};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const REGION_SIZE: usize = 1 << 20;
const RESPONSE_BYTES: u32 = 16;

/// Page-aligned memory for the region, as a BAR would be.
#[derive(Clone)]
#[repr(C, align(4096))]
struct Page([u8; 4096]);

/// The rings, as the device sees them.
struct Rings {
    avail: *mut Avail,
    used: *mut Used,
}

// Safety: the device thread is the only other user of the rings, and
// they outlive it (main joins it before they are dropped).
unsafe impl Send for Rings {}

/// The device side of 2.7: consume avail entries in order and publish
/// used elements.
fn device(rings: Rings, stop: Arc<AtomicBool>) {
    let mask = QUEUE_SIZE as u16 - 1;
    let (mut seen, mut used) = (0u16, 0u16);

    while !stop.load(Ordering::Relaxed) {
        // Safety: the rings stay allocated while this thread runs.
        unsafe {
            let avail_idx = &*(addr_of!((*rings.avail).idx) as *const AtomicU16);
            let used_idx = &*(addr_of!((*rings.used).idx) as *const AtomicU16);
            // Acquire: avail.idx before the ring entries it covers; pairs
            // with the example's wmb() before its avail.idx store.
            let avail = avail_idx.load(Ordering::Acquire);
            while seen != avail {
                let head = read_volatile(addr_of!((*rings.avail).ring[(seen & mask) as usize]));
                let elem = addr_of_mut!((*rings.used).ring[(used & mask) as usize]);
                write_volatile(addr_of_mut!((*elem).id), head as u32);
                write_volatile(addr_of_mut!((*elem).len), RESPONSE_BYTES);
                used = used.wrapping_add(1);
                seen = seen.wrapping_add(1);
                // Release: the element before used.idx; pairs with the
                // acquire fence in the example's poll_used().
                used_idx.store(used, Ordering::Release);
            }
        }
        std::thread::yield_now();
    }
}

/// TSC ticks per second, measured against the monotonic clock.
fn tsc_hz() -> u64 {
    // Safety: rdtsc has no preconditions on x86-64.
    let (t0, start) = (unsafe { core::arch::x86_64::_rdtsc() }, Instant::now());
    std::thread::sleep(Duration::from_millis(20));
    let (t1, elapsed) = (unsafe { core::arch::x86_64::_rdtsc() }, start.elapsed());
    ((t1 - t0) as u128 * 1_000_000_000 / elapsed.as_nanos()) as u64
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let requests: u64 = match args.get(2).map(|s| s.parse()) {
        Some(Ok(n)) if args.len() == 3 && n > 0 => n,
        _ => {
            eprintln!("usage: doc_example REGION-FILE REQUESTS");
            exit(2);
        }
    };
    let mut region = vec![Page([0; 4096]); REGION_SIZE / 4096];
    let region_ptr = region.as_mut_ptr() as *mut u8;
    // Safety: both ring types are plain integers, for which zero is valid.
    let avail: *mut Avail = Box::into_raw(Box::new(unsafe { std::mem::zeroed() }));
    let used: *mut Used = Box::into_raw(Box::new(unsafe { std::mem::zeroed() }));
    let desc = vec![0u8; 16 * QUEUE_SIZE];
    let mut notify = 0u16;
    let mut q = MyVq {
        avail,
        used,
        notify: &mut notify,
        index: 0,
        avail_shadow: 0,
        last_used: 0,
    };

    // Safety: the region and rings outlive the tracer.
    let started = unsafe {
        trace_start(
            region_ptr,
            REGION_SIZE as u64,
            tsc_hz(),
            &q,
            desc.as_ptr() as u64,
        )
    };
    let (mut tracer, tq) = match started {
        Ok(started) => started,
        Err(e) => {
            eprintln!("doc_example: trace_start failed: {:?}", e);
            exit(1);
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let device_stop = stop.clone();
    let rings = Rings { avail, used };
    let thread = std::thread::spawn(move || device(rings, device_stop));

    for i in 0..requests {
        let head = (i % QUEUE_SIZE as u64) as u16;
        // Safety: q's rings are allocated and served by the device thread.
        let len = unsafe { submit_and_wait(&mut tracer, tq, &mut q, head, 1, 64) };
        if len != RESPONSE_BYTES {
            eprintln!(
                "doc_example: request {}: {} bytes used, expected {}",
                i, len, RESPONSE_BYTES
            );
            exit(1);
        }
    }
    stop.store(true, Ordering::Relaxed);
    if thread.join().is_err() {
        eprintln!("doc_example: the device thread panicked");
        exit(1);
    }
    // Safety: the tracer is done with the region; nothing writes it now.
    let bytes = unsafe { std::slice::from_raw_parts(region_ptr as *const u8, REGION_SIZE) };
    if let Err(e) = std::fs::write(&args[1], bytes) {
        eprintln!("doc_example: {}: {}", args[1], e);
        exit(2);
    }
    // Safety: the device thread has ended.
    unsafe {
        drop(Box::from_raw(avail));
        drop(Box::from_raw(used));
    }
    println!("doc_example: {} requests", requests);
}
