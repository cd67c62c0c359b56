/* vq_barrier.h - memory barriers and publication helpers for virtio drivers
 * and for the trace-region producer, freestanding, x86 (32/64-bit) and
 * aarch64.
 *
 * The guest shares memory with a device implemented by the hypervisor on
 * another CPU, so "SMP" (inner-shareable) ordering is what matters, like
 * Linux's virt_rmb()/virt_wmb()/virt_mb().
 */
#ifndef VQ_BARRIER_H
#define VQ_BARRIER_H

#include "vqtrace.h"

/* Compiler barrier: stops the compiler moving memory accesses across it. */
#define vq_compiler_barrier() __asm__ __volatile__("" ::: "memory")

#if defined(__x86_64__) || defined(__i386__)

/* x86 never reorders loads with older loads (TSO), so ordering one load
 * of used.idx before the loads of the ring entries it covers only needs
 * the compiler kept in line. */
#define vq_rmb() vq_compiler_barrier()
/* x86 never reorders stores with older stores, so ordering descriptor
 * stores before the avail.idx store only needs the compiler kept in line. */
#define vq_wmb() vq_compiler_barrier()
/* Full barrier: orders earlier stores before later loads, the one
 * reordering x86 does; a locked add to the stack is cheaper than mfence
 * and as strong for ordinary (write-back) memory. */
#if defined(__x86_64__)
#define vq_mb() __asm__ __volatile__("lock; addl $0,-4(%%rsp)" ::: "memory", "cc")
#else
#define vq_mb() __asm__ __volatile__("lock; addl $0,-4(%%esp)" ::: "memory", "cc")
#endif
/* SeqCst fence as a C11 `atomic_thread_fence(memory_order_seq_cst)` is
 * compiled here: mfence, which also orders against non-temporal stores. */
#define vq_fence_seqcst() __asm__ __volatile__("mfence" ::: "memory")

#elif defined(__aarch64__)

/* Orders earlier loads before later loads and stores. */
#define vq_rmb()	  __asm__ __volatile__("dmb ishld" ::: "memory")
/* Orders earlier stores before later stores. */
#define vq_wmb()	  __asm__ __volatile__("dmb ishst" ::: "memory")
/* Orders all earlier accesses before all later ones. */
#define vq_mb()		  __asm__ __volatile__("dmb ish" ::: "memory")
/* Same as vq_mb on aarch64: dmb ish is what seq_cst fences compile to. */
#define vq_fence_seqcst() __asm__ __volatile__("dmb ish" ::: "memory")

#else
#error "vq_barrier.h: add barriers for this architecture"
#endif

/* Acquire fence: orders the loads before it against every access after
 * it.  x86: compiler barrier; aarch64: dmb ishld. */
#define vq_fence_acquire() __atomic_thread_fence(__ATOMIC_ACQUIRE)

/* Store-release and load-acquire of one naturally aligned word. */
#define vq_store_release(ptr, val) __atomic_store_n((ptr), (val), __ATOMIC_RELEASE)
#define vq_load_acquire(ptr)	   __atomic_load_n((ptr), __ATOMIC_ACQUIRE)

/* Counting wrappers: the demo's poll loops count what they execute and
 * report the totals in one vq_trace_poll() call, so counting costs a
 * register increment, not a store to shared memory per spin. */
struct vq_poll_stats {
	vq_u32 spins; /* loop iterations */
	vq_u32 rmb;   /* vq_rmb / acquire fences executed */
	vq_u32 wmb;   /* vq_wmb executed */
	vq_u32 mb;    /* vq_mb / seq_cst fences executed */
	vq_u64 start; /* vq_trace_now() when the poll began */
};
/* Statements, not expressions: on x86 the barriers are asm statements. */
#define VQ_RMB_COUNTED(st)                                                                         \
	do {                                                                                       \
		vq_rmb();                                                                          \
		(st)->rmb++;                                                                       \
	} while (0)
#define VQ_ACQUIRE_COUNTED(st)                                                                     \
	do {                                                                                       \
		vq_fence_acquire();                                                                \
		(st)->rmb++;                                                                       \
	} while (0)
#define VQ_WMB_COUNTED(st)                                                                         \
	do {                                                                                       \
		vq_wmb();                                                                          \
		(st)->wmb++;                                                                       \
	} while (0)
#define VQ_MB_COUNTED(st)                                                                          \
	do {                                                                                       \
		vq_mb();                                                                           \
		(st)->mb++;                                                                        \
	} while (0)
#define VQ_SEQCST_COUNTED(st)                                                                      \
	do {                                                                                       \
		vq_fence_seqcst();                                                                 \
		(st)->mb++;                                                                        \
	} while (0)

#endif /* VQ_BARRIER_H */
