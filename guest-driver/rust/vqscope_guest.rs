//! vqscope_guest.rs - Rust binding of the vqscope guest library
//! (guest-driver/lib/vqscope_guest.h and vq_barrier.h), for drivers in
//! Rust kernels and unikernels.
//!
//! One `no_std` file with no dependencies: build it as a crate
//! (`rustc --edition 2021 --crate-type rlib vqscope_guest.rs`) or copy it
//! into your kernel as a module (without its `#![no_std]` line, which
//! belongs at the crate root), and link the C library
//! (build/guest-driver/freestanding/vqscope_guest-x86_64.o, or
//! vqscope_guest.c compiled with your kernel's flags).  It holds:
//!
//! - the `#[repr(C)]` types that cross the boundary, and the storage of
//!   the C side's opaque `struct vq_trace`;
//! - the `extern "C"` declarations of the library's functions;
//! - safe wrappers: `Tracer`, a handle over initialised storage with one
//!   method per event, and `Queue`, a registered queue's slot;
//! - the barriers of vq_barrier.h as `core::sync::atomic` fences, and
//!   `VqPollStats` to count them in a poll loop.
//!
//! The layout is checked, not trusted: tests/rust/test-rust-layout.sh
//! compares every size, alignment, field offset and constant below with
//! what the C compiler says (tests/rust/layout_dump.c lists them; add a
//! type or field there when you add one here).  It assumes the C library
//! was built with the default VQ_TRACE_MAX_QUEUES of 64.
//!
//! 64-bit targets only (x86-64 and aarch64): `struct vq_trace` has another
//! size on 32-bit ones, which this file refuses to guess.
#![no_std]

use core::sync::atomic::{fence, Ordering};

#[cfg(not(target_pointer_width = "64"))]
compile_error!(
    "vqscope_guest.rs declares the 64-bit layout of struct vq_trace; \
     check the sizes with tests/rust/layout_dump.c for this target first"
);

// ---- constants (vqscope_guest.h, protocol/vqtrace.h) ----------------------

/// Return codes of `vq_trace_init` and `vq_trace_register_queue`.
pub const VQ_TRACE_OK: i32 = 0;
pub const VQ_TRACE_EINVAL: i32 = -1;
pub const VQ_TRACE_EFULL: i32 = -2;

/// The C library's queue limit that `VQ_TRACE_SIZE` assumes.
pub const VQ_TRACE_MAX_QUEUES: u32 = 64;
/// `sizeof(struct vq_trace)` and its alignment on 64-bit targets.
pub const VQ_TRACE_SIZE: usize = 10376;
pub const VQ_TRACE_ALIGN: usize = 8;

/// Region sizes `vq_trace_init` accepts (powers of two in between).
pub const VQT_REGION_MIN: u64 = 64 * 1024;
pub const VQT_REGION_MAX: u64 = 1024 * 1024 * 1024;

/// Timestamp sources (`Config::ts_source`; 0 means the CPU counter).
pub const VQT_TS_TSC: u32 = 1;
pub const VQT_TS_CNTVCT: u32 = 2;
pub const VQT_TS_MONOTONIC: u32 = 3;
pub const VQT_TS_BPF_KTIME: u32 = 4;

/// Header flags (`Config::flags` adds to them).
pub const VQT_HDR_F_STEP_CAPABLE: u32 = 1 << 0;
pub const VQT_HDR_F_HOSTED: u32 = 1 << 1;
pub const VQT_HDR_F_TRACER: u32 = 1 << 2;

/// Queue flags (`QueueInfo::flags`).
pub const VQT_QF_EVENT_IDX: u16 = 1 << 0; // VIRTIO_F_EVENT_IDX (2.7.7)
pub const VQT_QF_PACKED: u16 = 1 << 1; // packed virtqueue (2.8)
pub const VQT_QF_INDIRECT: u16 = 1 << 2; // indirect descriptors (2.7.5.3)
pub const VQT_QF_CB_DISABLED: u16 = 1 << 3; // used-buffer notifications off (2.7.7)
pub const VQT_QF_RECEIVE: u16 = 1 << 4; // buffers wait for data from the device (net rx)

/// Producer states (`Tracer::set_state`).
pub const VQT_PRODUCER_UNKNOWN: u32 = 0;
pub const VQT_PRODUCER_RUNNING: u32 = 1;
pub const VQT_PRODUCER_STOPPED: u32 = 2;

/// Outcomes of a poll of used.idx (`vq_trace_poll`).
pub const VQT_POLL_PROGRESS: u16 = 0;
pub const VQT_POLL_TIMEOUT: u16 = 1;
pub const VQT_POLL_EMPTY: u16 = 2;

/// Error codes (`Tracer::error`).
pub const VQT_ERR_RING_FULL: u16 = 1;
pub const VQT_ERR_BAD_USED_ID: u16 = 2;
pub const VQT_ERR_DEVICE: u16 = 3;
pub const VQT_ERR_STEP_TIMEOUT: u16 = 4;
pub const VQT_ERR_BAD_QUEUE: u16 = 5;
pub const VQT_ERR_DRIVER: u16 = 6;

// ---- types that cross the boundary ----------------------------------------

/// Storage for the C library's private `struct vq_trace`, opaque to Rust.
/// Put it in a static (`static mut TRACE: VqTrace = VqTrace::new();`): it
/// is 10 KiB, too big for a small kernel stack.
#[repr(C, align(8))]
pub struct VqTrace {
    storage: [u8; VQ_TRACE_SIZE],
}

impl VqTrace {
    pub const fn new() -> VqTrace {
        VqTrace {
            storage: [0; VQ_TRACE_SIZE],
        }
    }
}

/// `struct vq_trace_config`.
#[repr(C)]
pub struct VqTraceConfig {
    pub producer: *const u8,
    pub ts_hz: u64,
    pub ts_source: u32,
    pub flags: u32,
    pub no_step: u32,
    pub now: Option<extern "C" fn() -> u64>,
}

/// `struct vq_queue_info`.
#[repr(C)]
pub struct VqQueueInfo {
    pub device_type: u16,
    pub device_instance: u16,
    pub queue_index: u16,
    pub ring_size: u16,
    pub flags: u16,
    pub name: *const u8,
    pub desc_addr: u64,
    pub avail_addr: u64,
    pub used_addr: u64,
}

/// `struct vq_poll_stats`: what one poll of used.idx executed.  Set
/// `start` from `Tracer::now()` before the loop, add 1 to `spins` per
/// iteration, and replace each barrier in the loop with its counting
/// method; `Tracer::poll` publishes the totals.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct VqPollStats {
    pub spins: u32, // loop iterations
    pub rmb: u32,   // read barriers and acquire fences executed
    pub wmb: u32,   // write barriers executed
    pub mb: u32,    // full barriers and SeqCst fences executed
    pub start: u64, // Tracer::now() when the poll began
}

// ---- the C functions ---------------------------------------------------------

extern "C" {
    pub fn vq_trace_init(
        t: *mut VqTrace,
        region: *mut u8,
        size: u64,
        cfg: *const VqTraceConfig,
    ) -> i32;
    pub fn vq_trace_register_queue(t: *mut VqTrace, info: *const VqQueueInfo) -> i32;
    pub fn vq_trace_unregister_queue(t: *mut VqTrace, slot: i32);
    pub fn vq_trace_now(t: *const VqTrace) -> u64;
    pub fn vq_trace_add(
        t: *mut VqTrace,
        slot: i32,
        head: u16,
        avail_idx: u16,
        ndesc: u16,
        bytes: u32,
        nwritable: u16,
    );
    pub fn vq_trace_kick(t: *mut VqTrace, slot: i32, new_avail_idx: u16);
    pub fn vq_trace_kick_suppressed(t: *mut VqTrace, slot: i32, new_avail_idx: u16);
    pub fn vq_trace_kick_decision(
        t: *mut VqTrace,
        slot: i32,
        new_avail_idx: u16,
        notified: i32,
        suppression_state: u64,
    );
    pub fn vq_trace_poll(t: *mut VqTrace, slot: i32, st: *const VqPollStats, outcome: u16);
    pub fn vq_trace_used(
        t: *mut VqTrace,
        slot: i32,
        id: u16,
        used_idx: u16,
        written: u32,
        ndesc_freed: u16,
    );
    pub fn vq_trace_irq(t: *mut VqTrace, slot: i32, isr: u32);
    pub fn vq_trace_callbacks(t: *mut VqTrace, slot: i32, enabled: i32, used_event: u16);
    pub fn vq_trace_frame_begin(t: *mut VqTrace, frame: u64);
    pub fn vq_trace_frame_end(t: *mut VqTrace, frame: u64, commands: u32);
    pub fn vq_trace_log(t: *mut VqTrace, bytes: u32, ticks: u64);
    pub fn vq_trace_mark(t: *mut VqTrace, value: u64);
    pub fn vq_trace_error(t: *mut VqTrace, slot: i32, code: u16, detail: u64);
    pub fn vq_trace_lost(t: *mut VqTrace, n: u64);
    pub fn vq_trace_set_state(t: *mut VqTrace, state: u32, heartbeat_ms: u32);
    pub fn vq_trace_heartbeat(t: *mut VqTrace);
    pub fn vq_trace_set_receive(t: *mut VqTrace, slot: i32, receive: i32);
    pub fn vq_trace_sync_indices(
        t: *mut VqTrace,
        slot: i32,
        avail_idx: u16,
        last_used_idx: u16,
        num_free: u16,
    );
}

// ---- safe wrappers -------------------------------------------------------------

/// A failed `Tracer::init` or `Tracer::register_queue`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// VQ_TRACE_EINVAL: a bad region size, ring size or timestamp rate,
    /// or (checked here) a name without its terminating NUL.
    Invalid,
    /// VQ_TRACE_EFULL: no free queue slot.
    Full,
    /// A code this binding does not know.
    Other(i32),
}

impl Error {
    fn from_code(code: i32) -> Error {
        match code {
            VQ_TRACE_EINVAL => Error::Invalid,
            VQ_TRACE_EFULL => Error::Full,
            other => Error::Other(other),
        }
    }
}

/// What `Tracer::init` needs.  Strings are NUL-terminated byte strings
/// (`b"mykernel 0.3\0"`); the library keeps 63 bytes of `producer`.
#[derive(Clone, Copy)]
pub struct Config<'a> {
    pub producer: &'a [u8],
    /// Ticks per second of the timestamps; required (non-zero).
    pub ts_hz: u64,
    /// VQT_TS_*; 0 is the CPU counter (rdtsc, cntvct_el0).
    pub ts_source: u32,
    /// Extra VQT_HDR_F_* flags.
    pub flags: u32,
    /// Never wait in step mode (the header then says so).
    pub no_step: bool,
    /// Timestamp function; None reads the CPU counter.
    pub now: Option<extern "C" fn() -> u64>,
}

impl Default for Config<'_> {
    fn default() -> Self {
        Config {
            producer: b"\0",
            ts_hz: 0,
            ts_source: 0,
            flags: 0,
            no_step: false,
            now: None,
        }
    }
}

/// What `Tracer::register_queue` needs; `name` is NUL-terminated and the
/// library keeps 31 bytes of it.
#[derive(Clone, Copy)]
pub struct QueueInfo<'a> {
    /// Virtio device ID (virtio 1.2, 5): 1 net, 2 block, 16 GPU...
    pub device_type: u16,
    /// 0 for the first device of that type.
    pub device_instance: u16,
    /// Virtqueue index in the device.
    pub queue_index: u16,
    /// Queue size, 1..32768.
    pub ring_size: u16,
    /// VQT_QF_*.
    pub flags: u16,
    pub name: &'a [u8],
    /// Guest-physical addresses of the descriptor table, driver and
    /// device areas (2.7).
    pub desc_addr: u64,
    pub avail_addr: u64,
    pub used_addr: u64,
}

impl Default for QueueInfo<'_> {
    fn default() -> Self {
        QueueInfo {
            device_type: 0,
            device_instance: 0,
            queue_index: 0,
            ring_size: 0,
            flags: 0,
            name: b"\0",
            desc_addr: 0,
            avail_addr: 0,
            used_addr: 0,
        }
    }
}

/// A registered queue: its slot in the trace region.  A `Queue` used
/// after `Tracer::unregister_queue` (or with another tracer) makes the
/// library write an ERROR event instead of the event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Queue(i32);

impl Queue {
    /// The slot number, as the host shows it.
    pub fn slot(self) -> i32 {
        self.0
    }
}

/// How a poll of used.idx ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum PollOutcome {
    /// used.idx moved.
    Progress = VQT_POLL_PROGRESS,
    /// The driver gave up.
    Timeout = VQT_POLL_TIMEOUT,
    /// Nothing was in flight.
    Empty = VQT_POLL_EMPTY,
}

fn terminated(s: &[u8]) -> bool {
    s.contains(&0)
}

/// The producer side of a trace region, over initialised `VqTrace`
/// storage.  Every method takes `&mut self`: one producer at a time, as
/// the library requires (take a lock, or use one region per CPU).
pub struct Tracer<'a> {
    raw: &'a mut VqTrace,
}

impl<'a> Tracer<'a> {
    /// Initialise (or, after a reboot, re-initialise) the region of `size`
    /// bytes at `region`, a power of two from VQT_REGION_MIN to
    /// VQT_REGION_MAX (`vq_trace_init`).
    ///
    /// # Safety
    ///
    /// `region` must point to `size` writable bytes (the ivshmem BAR2
    /// mapping) that stay mapped while the returned `Tracer` lives, and
    /// that nothing else in this program writes.
    pub unsafe fn init(
        storage: &'a mut VqTrace,
        region: *mut u8,
        size: u64,
        config: &Config,
    ) -> Result<Tracer<'a>, Error> {
        if !terminated(config.producer) {
            return Err(Error::Invalid);
        }
        let raw_config = VqTraceConfig {
            producer: config.producer.as_ptr(),
            ts_hz: config.ts_hz,
            ts_source: config.ts_source,
            flags: config.flags,
            no_step: config.no_step as u32,
            now: config.now,
        };
        match vq_trace_init(storage, region, size, &raw_config) {
            VQ_TRACE_OK => Ok(Tracer { raw: storage }),
            code => Err(Error::from_code(code)),
        }
    }

    /// Register a queue (`vq_trace_register_queue`).  A queue registered
    /// again after `unregister_queue` (a device reset) gets its old slot
    /// back, counters continuing.
    pub fn register_queue(&mut self, info: &QueueInfo) -> Result<Queue, Error> {
        if !terminated(info.name) {
            return Err(Error::Invalid);
        }
        let raw_info = VqQueueInfo {
            device_type: info.device_type,
            device_instance: info.device_instance,
            queue_index: info.queue_index,
            ring_size: info.ring_size,
            flags: info.flags,
            name: info.name.as_ptr(),
            desc_addr: info.desc_addr,
            avail_addr: info.avail_addr,
            used_addr: info.used_addr,
        };
        // Safety: self.raw was initialised by vq_trace_init; raw_info and
        // the name it points to live across the call.
        let slot = unsafe { vq_trace_register_queue(self.raw, &raw_info) };
        if slot >= 0 {
            Ok(Queue(slot))
        } else {
            Err(Error::from_code(slot))
        }
    }

    // Safety of the calls below: self.raw was initialised by
    // vq_trace_init (only `init` makes a Tracer), and the library checks
    // every slot it is given.

    /// Mark a queue torn down (device reset); its counters stay readable.
    pub fn unregister_queue(&mut self, queue: Queue) {
        unsafe { vq_trace_unregister_queue(self.raw, queue.0) }
    }

    /// The region's timestamp source, for `VqPollStats::start` and log
    /// timings.
    pub fn now(&self) -> u64 {
        unsafe { vq_trace_now(&*self.raw) }
    }

    /// After publishing avail.idx for a new chain (2.7.13): `avail_idx` is
    /// the free-running index the head went into, `bytes` the chain's
    /// length, `nwritable` its device-writable descriptors.
    pub fn add(
        &mut self,
        queue: Queue,
        head: u16,
        avail_idx: u16,
        ndesc: u16,
        bytes: u32,
        nwritable: u16,
    ) {
        unsafe { vq_trace_add(self.raw, queue.0, head, avail_idx, ndesc, bytes, nwritable) }
    }

    /// After writing the notify register.
    pub fn kick(&mut self, queue: Queue, new_avail_idx: u16) {
        unsafe { vq_trace_kick(self.raw, queue.0, new_avail_idx) }
    }

    /// When the device said no notification is needed (2.7.10).
    pub fn kick_suppressed(&mut self, queue: Queue, new_avail_idx: u16) {
        unsafe { vq_trace_kick_suppressed(self.raw, queue.0, new_avail_idx) }
    }

    /// One kick decision with what it was based on (2.7.10): a KICK when
    /// `notified`, else a KICK_SUPPRESSED, carrying `suppression_state`,
    /// the raw words the driver read, laid out as vqtrace.h's
    /// VQT_KICK_STATE_* describes.  Report what was read even when the
    /// decision ignored it: the host tells a missed or a spurious
    /// notification from a correct one by it.
    pub fn kick_decision(
        &mut self,
        queue: Queue,
        new_avail_idx: u16,
        notified: bool,
        suppression_state: u64,
    ) {
        unsafe {
            vq_trace_kick_decision(
                self.raw,
                queue.0,
                new_avail_idx,
                notified as i32,
                suppression_state,
            )
        }
    }

    /// When a poll of used.idx ends.
    pub fn poll(&mut self, queue: Queue, stats: &VqPollStats, outcome: PollOutcome) {
        unsafe { vq_trace_poll(self.raw, queue.0, stats, outcome as u16) }
    }

    /// For each used element taken (2.7.14): `used_idx` is the
    /// free-running index of the element consumed.
    pub fn used(&mut self, queue: Queue, id: u16, used_idx: u16, written: u32, ndesc_freed: u16) {
        unsafe { vq_trace_used(self.raw, queue.0, id, used_idx, written, ndesc_freed) }
    }

    /// After a used-buffer interrupt, from normal code, not the handler.
    pub fn irq(&mut self, queue: Queue, isr: u32) {
        unsafe { vq_trace_irq(self.raw, queue.0, isr) }
    }

    /// When used-buffer notifications are turned on or off, or
    /// used_event moves (2.7.7).
    pub fn callbacks(&mut self, queue: Queue, enabled: bool, used_event: u16) {
        unsafe { vq_trace_callbacks(self.raw, queue.0, enabled as i32, used_event) }
    }

    /// Around a unit of work (a frame, a request batch).
    pub fn frame_begin(&mut self, frame: u64) {
        unsafe { vq_trace_frame_begin(self.raw, frame) }
    }

    pub fn frame_end(&mut self, frame: u64, commands: u32) {
        unsafe { vq_trace_frame_end(self.raw, frame, commands) }
    }

    /// After a log or console write of `bytes` that took `ticks` (from
    /// `now()`).
    pub fn log(&mut self, bytes: u32, ticks: u64) {
        unsafe { vq_trace_log(self.raw, bytes, ticks) }
    }

    /// A value of your own on the timeline.
    pub fn mark(&mut self, value: u64) {
        unsafe { vq_trace_mark(self.raw, value) }
    }

    /// A problem the driver found (VQT_ERR_*), on a queue or on none.
    pub fn error(&mut self, queue: Option<Queue>, code: u16, detail: u64) {
        let slot = match queue {
            Some(q) => q.0,
            None => -1,
        };
        unsafe { vq_trace_error(self.raw, slot, code, detail) }
    }

    /// `n` records the producer could not write: the host counts them as
    /// lost, exactly.
    pub fn lost(&mut self, n: u64) {
        unsafe { vq_trace_lost(self.raw, n) }
    }

    /// Running or stopped for good (VQT_PRODUCER_*), so the host can tell a
    /// quiet driver from one that stopped tracing; while running, call
    /// `heartbeat` at least every `heartbeat_ms` (0: no promise).
    pub fn set_state(&mut self, state: u32, heartbeat_ms: u32) {
        unsafe { vq_trace_set_state(self.raw, state, heartbeat_ms) }
    }

    /// The producer is alive (a timer or the main loop); writes no event.
    pub fn heartbeat(&mut self) {
        unsafe { vq_trace_heartbeat(self.raw) }
    }

    /// Mark a queue a receive queue (VQT_QF_RECEIVE: its buffers wait
    /// for data from the device, as virtio-net rx) or a request queue,
    /// for a driver that learns it after registering.
    pub fn set_receive(&mut self, queue: Queue, receive: bool) {
        unsafe { vq_trace_set_receive(self.raw, queue.0, receive as i32) }
    }

    /// For a producer that reads the driver's real indices: set the
    /// published avail index, last used index and free count directly.
    pub fn sync_indices(
        &mut self,
        queue: Queue,
        avail_idx: u16,
        last_used_idx: u16,
        num_free: u16,
    ) {
        unsafe { vq_trace_sync_indices(self.raw, queue.0, avail_idx, last_used_idx, num_free) }
    }
}

// ---- barriers (vq_barrier.h) -------------------------------------------------
//
// The device runs on another CPU of the same machine, so these are SMP
// (inner-shareable) barriers, like Linux's virt_rmb()/virt_wmb()/virt_mb().
// Where each one goes in a driver (virtio 1.2): a write barrier between
// the descriptor and ring-entry stores and the avail.idx store
// (2.7.13.3.1); a full barrier between the avail.idx store and the read
// of used.flags or avail_event (2.7.10); a read barrier between the load
// of used.idx that shows progress and the loads of the used element and
// the response (2.7.14).  Each pairs with the device's opposite barrier.

/// Orders earlier loads before later loads and stores (vq_rmb): a
/// compiler barrier on x86, `dmb ishld` on aarch64.
#[inline(always)]
pub fn rmb() {
    fence(Ordering::Acquire);
}

/// Orders earlier loads and stores before later stores (vq_wmb): a
/// compiler barrier on x86; on aarch64 `dmb ish`, stronger than the C
/// library's `dmb ishst`, since core has no store-store-only fence.
#[inline(always)]
pub fn wmb() {
    fence(Ordering::Release);
}

/// Orders every earlier access before every later one, including a store
/// before a later load (vq_mb): `mfence` on x86, `dmb ish` on aarch64.
#[inline(always)]
pub fn mb() {
    fence(Ordering::SeqCst);
}

/// Orders the loads before it against every access after it
/// (vq_fence_acquire): the same fence as `rmb`, as in C.
pub use self::rmb as fence_acquire;

/// What C11's `atomic_thread_fence(memory_order_seq_cst)` gives
/// (vq_fence_seqcst): the same fence as `mb`, as in C.
pub use self::mb as fence_seqcst;

/// Defines a method of `VqPollStats` that executes a barrier and counts it
/// in one of the fields.
macro_rules! counted {
    ($(#[$doc:meta])* $name:ident: $barrier:ident in $field:ident) => {
        $(#[$doc])*
        #[inline(always)]
        pub fn $name(&mut self) {
            $barrier();
            self.$field = self.$field.wrapping_add(1);
        }
    };
}

/// The counting wrappers of vq_barrier.h (VQ_RMB_COUNTED and the rest):
/// each executes its barrier and counts it in a register-held
/// `VqPollStats`, as the C macros do.
impl VqPollStats {
    /// Stats for a poll that begins at `start` (from `Tracer::now()`).
    pub fn new(start: u64) -> VqPollStats {
        VqPollStats {
            start,
            ..VqPollStats::default()
        }
    }

    counted!(
        /// `rmb()`, counted as a read barrier (VQ_RMB_COUNTED).
        rmb_counted: rmb in rmb
    );
    counted!(
        /// `fence_acquire()`, counted as a read barrier (VQ_ACQUIRE_COUNTED).
        acquire_counted: fence_acquire in rmb
    );
    counted!(
        /// `wmb()`, counted as a write barrier (VQ_WMB_COUNTED).
        wmb_counted: wmb in wmb
    );
    counted!(
        /// `mb()`, counted as a full barrier (VQ_MB_COUNTED).
        mb_counted: mb in mb
    );
    counted!(
        /// `fence_seqcst()`, counted as a full barrier (VQ_SEQCST_COUNTED).
        seqcst_counted: fence_seqcst in mb
    );
}
