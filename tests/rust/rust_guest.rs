//! rust_guest.rs - a Rust producer for test-rust-guest.sh: it drives every
//! wrapper of guest-driver/rust/vqscope_guest.rs, linked with the hosted
//! build of the C library, with counts the test knows, and writes the
//! region to a file for check_trace to validate.
//!
//!   rust_guest REGION-FILE
//!
//! What it writes (the test's expectations follow from these constants):
//! two queues, rust0.requests (slot 0) and rust0.events (slot 1);
//! FRAMES frames of COMMANDS requests each on rust0.requests, half of them
//! kicked and half with the kick suppressed, one poll per frame counting
//! every kind of barrier, one log write per frame; interrupts,
//! notification changes, marks, and an error on a queue and on none;
//! rust0.events torn down, used once while gone (the library writes an
//! ERROR for that), registered again into the same slot, then marked a
//! receive queue and kicked through kick_decision; the producer running
//! with a HEARTBEAT_MS heartbeat, and two heartbeats.  The error
//! codes of init and registration are checked on the way, Error::Full on
//! a second region whose queue table it fills.

use core::ptr::addr_of;
use std::process::exit;
use std::time::Instant;
use vqscope_guest::*;

const REGION_SIZE: usize = 1 << 20;
const FRAMES: u64 = 3;
const COMMANDS: u16 = 4; // per frame, the first half kicked, the second suppressed
const NDESC: u16 = 2; // descriptors per request
const WRITTEN: u32 = 16; // bytes the "device" writes per request
const SPINS: u32 = 5; // per poll
const LOG_BYTES: u32 = 40; // per frame
const KICK_STATE: u64 = 1; // avail_event 1 (vqtrace.h VQT_KICK_STATE_*)
const HEARTBEAT_MS: u32 = 500;

/// Page-aligned memory for the region, as a BAR would be.
#[derive(Clone)]
#[repr(C, align(4096))]
struct Page([u8; 4096]);

static mut CLOCK_BASE: Option<Instant> = None;

/// The region's clock (VQT_TS_MONOTONIC): nanoseconds since main began,
/// through the `now` callback of the configuration.
extern "C" fn monotonic_ns() -> u64 {
    // Safety: CLOCK_BASE is set once, before any tracer exists.
    let base = unsafe { *addr_of!(CLOCK_BASE) };
    base.map_or(0, |b| b.elapsed().as_nanos() as u64)
}

fn expect(ok: bool, what: &str) {
    if !ok {
        eprintln!("rust_guest: {}", what);
        exit(1);
    }
}

fn requests_queue(ring_size: u16, name: &[u8]) -> QueueInfo {
    QueueInfo {
        device_type: 2, // block (virtio 1.2, 5)
        ring_size,
        name,
        desc_addr: 0x10000,
        avail_addr: 0x11000,
        used_addr: 0x12000,
        ..QueueInfo::default()
    }
}

/// One request on `queue` at ring index `index`: add, kick, poll, reap.
fn one_request(t: &mut Tracer, queue: Queue, head: u16, index: u16) {
    t.add(queue, head, index, 1, 64, 1);
    t.kick(queue, index.wrapping_add(1));
    let mut stats = VqPollStats::new(t.now());
    stats.spins = 1;
    stats.acquire_counted(); // counted only: there is no device to pair with
    t.poll(queue, &stats, PollOutcome::Progress);
    t.used(queue, head, index, 8, 1);
}

/// FRAMES frames on `queue`, each COMMANDS requests long.
fn frames(t: &mut Tracer, queue: Queue) {
    let (mut avail, mut used) = (0u16, 0u16);

    for frame in 0..FRAMES {
        t.frame_begin(frame);
        for head in 0..COMMANDS {
            t.add(queue, head, avail, NDESC, 100 * (head as u32 + 1), 1);
            avail = avail.wrapping_add(1);
            if head == COMMANDS / 2 - 1 {
                t.kick(queue, avail);
            } else if head == COMMANDS - 1 {
                t.kick_suppressed(queue, avail);
            }
        }
        let mut stats = VqPollStats::new(t.now());
        for _ in 0..SPINS {
            stats.spins += 1;
        }
        // Every kind of barrier, to be counted: with no device here,
        // they order nothing against anything and pair with nothing.
        stats.rmb_counted();
        stats.acquire_counted();
        stats.wmb_counted();
        stats.mb_counted();
        stats.seqcst_counted();
        stats.seqcst_counted();
        t.poll(queue, &stats, PollOutcome::Progress);
        for head in 0..COMMANDS {
            t.used(queue, head, used, WRITTEN, NDESC);
            used = used.wrapping_add(1);
        }
        let start = t.now();
        t.log(LOG_BYTES, t.now() - start);
        t.frame_end(frame, COMMANDS as u32);
    }
}

/// On a region of its own: once the VQ_TRACE_MAX_QUEUES slots are taken,
/// registration says Error::Full.
fn full_table(config: &Config) {
    let mut region = vec![Page([0; 4096]); VQT_REGION_MIN as usize / 4096];
    let mut storage = Box::new(VqTrace::new());
    let region_ptr = region.as_mut_ptr() as *mut u8;
    // Safety: the region outlives the tracer and nothing else writes it.
    let mut t = match unsafe { Tracer::init(&mut storage, region_ptr, VQT_REGION_MIN, config) } {
        Ok(t) => t,
        Err(e) => {
            eprintln!(
                "rust_guest: vq_trace_init of a 64 KiB region failed: {:?}",
                e
            );
            exit(1);
        }
    };
    let info = requests_queue(8, b"rust0.many\0");
    for slot in 0..VQ_TRACE_MAX_QUEUES as i32 {
        expect(
            t.register_queue(&info).map(Queue::slot) == Ok(slot),
            "a queue table with free slots did not give the next one",
        );
    }
    expect(
        t.register_queue(&info) == Err(Error::Full),
        "a full queue table did not say Error::Full",
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 2 {
        eprintln!("usage: rust_guest REGION-FILE");
        exit(2);
    }
    // Safety: no tracer exists yet.
    unsafe { CLOCK_BASE = Some(Instant::now()) };
    let mut region = vec![Page([0; 4096]); REGION_SIZE / 4096];
    let region_ptr = region.as_mut_ptr() as *mut u8;
    let mut storage = Box::new(VqTrace::new());
    let config = Config {
        producer: b"rust_guest (vqscope_guest.rs)\0",
        ts_hz: 1_000_000_000,
        ts_source: VQT_TS_MONOTONIC,
        flags: VQT_HDR_F_HOSTED,
        no_step: true,
        now: Some(monotonic_ns),
    };

    // Safety: region_ptr covers REGION_SIZE bytes that outlive the tracer
    // and that nothing else writes.
    let bad_size = unsafe { Tracer::init(&mut storage, region_ptr, 1000, &config).err() };
    expect(
        bad_size == Some(Error::Invalid),
        "a 1000-byte region was accepted",
    );
    let unterminated = Config {
        producer: b"no NUL",
        ..config
    };
    let bad_name = unsafe { Tracer::init(&mut storage, region_ptr, 65536, &unterminated).err() };
    expect(
        bad_name == Some(Error::Invalid),
        "a producer without NUL was accepted",
    );
    let size = REGION_SIZE as u64;
    let mut t = match unsafe { Tracer::init(&mut storage, region_ptr, size, &config) } {
        Ok(t) => t,
        Err(e) => {
            eprintln!("rust_guest: vq_trace_init failed: {:?}", e);
            exit(1);
        }
    };

    full_table(&config);
    let requests = t.register_queue(&requests_queue(16, b"rust0.requests\0"));
    let mut events_info = requests_queue(8, b"rust0.events\0");
    events_info.queue_index = 1;
    let events = t.register_queue(&events_info);
    expect(
        t.register_queue(&requests_queue(0, b"rust0.empty\0")) == Err(Error::Invalid),
        "a queue of size 0 was registered",
    );
    expect(
        t.register_queue(&requests_queue(8, b"no NUL")) == Err(Error::Invalid),
        "a queue name without NUL was accepted",
    );
    let (requests, events) = match (requests, events) {
        (Ok(r), Ok(e)) => (r, e),
        other => {
            eprintln!("rust_guest: registration failed: {:?}", other);
            exit(1);
        }
    };
    expect(
        requests.slot() == 0 && events.slot() == 1,
        "the queues did not get slots 0 and 1",
    );

    t.callbacks(requests, false, 0);
    frames(&mut t, requests);
    t.irq(requests, 1);
    t.irq(requests, 1);
    t.callbacks(requests, true, 12);
    t.mark(0xfeed);
    t.mark(0xbeef);
    t.error(Some(requests), VQT_ERR_DRIVER, 42);
    t.error(None, VQT_ERR_DEVICE, 7);

    one_request(&mut t, events, 5, 0);
    t.unregister_queue(events);
    t.kick(events, 1); // torn down: an ERROR record instead
    let again = t.register_queue(&events_info);
    expect(
        again == Ok(events),
        "rust0.events did not get its slot back",
    );
    one_request(&mut t, events, 5, 0);

    // What a tracer-like producer adds: the queue's kind (in its slot),
    // the driver's own indices, a kick decision with the state it read
    // (a KICK carrying it), and the producer's state and heartbeats.
    t.set_receive(events, true);
    t.sync_indices(events, 1, 1, 8);
    t.kick_decision(events, 1, true, KICK_STATE);
    t.set_state(VQT_PRODUCER_RUNNING, HEARTBEAT_MS);
    t.heartbeat();
    t.heartbeat();

    if let Err(e) = std::fs::write(&args[1], unsafe {
        std::slice::from_raw_parts(region_ptr as *const u8, REGION_SIZE)
    }) {
        eprintln!("rust_guest: {}: {}", args[1], e);
        exit(2);
    }
    println!("rust_guest: wrote {} ({} frames)", args[1], FRAMES);
}
