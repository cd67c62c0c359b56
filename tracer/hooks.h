/* hooks.h - choosing how vqscope-trace hooks virtio_ring (fentry, kprobe or
 * tracepoint) by probing the running kernel, loading the BPF programs and
 * attaching them; detaching them again. */
#ifndef TRACER_HOOKS_H
#define TRACER_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vqscope_trace.h"

enum trace_method {
	TRACE_METHOD_AUTO = 0,
	TRACE_METHOD_FENTRY,
	TRACE_METHOD_KPROBE,
	TRACE_METHOD_TRACEPOINT,
};

struct hook_config {
	enum trace_method method; /* AUTO: best that works */
	int32_t device_id;	  /* filters, -1: any */
	int32_t device_index;
	const char *queue_name; /* NULL: any */
	uint32_t ringbuf_bytes; /* BPF ring buffer size, a power of two */
	bool verbose;		/* libbpf debug output */
};

struct hooks;

/* "fentry", "kprobe", "tracepoint" or "auto". */
const char *trace_method_name(enum trace_method m);
/* Parse a --method argument; -1 if unknown. */
int trace_method_parse(const char *s, enum trace_method *out);

/* Probe, load and attach.  Prints to stderr one line naming the method in
 * use and why, and one line per function that could not be hooked.
 * Returns NULL with err filled when no method works. */
struct hooks *hooks_start(const struct hook_config *cfg, char *err, size_t errlen);
enum trace_method hooks_method(const struct hooks *h);
/* The BPF ring buffer map. */
int hooks_ringbuf_fd(const struct hooks *h);
/* The BPF side's counters (enum vqtr_counter), read without a system call. */
int hooks_counters(const struct hooks *h, uint64_t out[VQTR_CNT_COUNT]);
/* Start or stop reporting (hooks_start leaves reporting off, so a trace
 * begins with every hook in place).  Starting also takes the kernel's
 * counts of skipped hook runs as the baseline of hooks_skips. */
void hooks_enable(struct hooks *h, bool on);

/* Hook runs the kernel skipped since reporting started. */
struct hook_skips {
	bool reported;	  /* the kernel reports them for every attached hook */
	uint64_t lost;	  /* runs of hooks that each stand for one record
			   * (interrupts, kick decisions) */
	uint64_t other;	  /* runs of the others: the adds and reaps they would
			   * have reported are found in the rings instead,
			   * callback requests at the queue's next hook */
	char detail[512]; /* "kprobe/vring_interrupt 1, ..." */
};
int hooks_skips(struct hooks *h, struct hook_skips *out);
/* Where the kernel's counts of skipped runs come from, or NULL when this
 * kernel does not give them for the method in use. */
const char *hooks_skip_source(const struct hooks *h);
/* End the trace: close every traced queue to the hooks and account, from
 * the driver's state, for the adds and reaps the trace missed that no
 * later operation revealed (counters VQTR_CNT_REAPS_MISSED/_ADDS_MISSED).
 * Call it before hooks_enable(false).  -1 with err filled when the kernel
 * cannot run it (the trace's end then goes unaccounted). */
int hooks_end(struct hooks *h, char *err, size_t errlen);
/* For each traced queue with adds or reaps found missed, call fn with its
 * struct virtqueue address and the counts; returns how many. */
typedef void (*hooks_queue_loss_fn)(void *ctx, uint64_t vq, uint32_t reaps, uint32_t adds);
int hooks_queue_losses(const struct hooks *h, hooks_queue_loss_fn fn, void *ctx);
/* Run-time statistics of one attached BPF program (kernel.bpf_stats). */
struct hook_stat {
	char section[80]; /* "fexit/virtqueue_add_sgs": method and function */
	uint64_t runs;	  /* times it ran */
	uint64_t run_ns;  /* time spent in it, in ns, as the kernel measured it */
	uint32_t insns;	  /* its length in BPF instructions as the verifier
			   * left it (bpf_prog_info.xlated_prog_len / 8) */
};

/* Turn on the kernel's run-time statistics of BPF programs (BPF_ENABLE_STATS,
 * which needs CAP_SYS_ADMIN, or kernel.bpf_stats_enabled already 1); they
 * stay on until hooks_stop.  They cost two clock reads per program run. */
int hooks_enable_stats(struct hooks *h, char *err, size_t errlen);
/* The statistics so far of up to max attached programs, in the order they
 * were attached; returns how many were filled, -1 on error. */
int hooks_program_stats(const struct hooks *h, struct hook_stat *out, size_t max);
/* Detach every hook and free everything; NULL is fine. */
void hooks_stop(struct hooks *h);

#endif /* TRACER_HOOKS_H */
