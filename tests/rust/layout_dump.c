/* layout_dump.c - prints what the C compiler makes of every type and
 * constant the Rust binding (guest-driver/rust/vqscope_guest.rs) declares,
 * one per line, for gen-layout-check.sh to turn into Rust assertions:
 *
 *   type  C-NAME RUST-NAME SIZE ALIGN
 *   field C-NAME RUST-NAME FIELD OFFSET SIZE
 *   const NAME VALUE
 *
 * A type or constant added to the binding is added here too; a field C
 * gains and Rust lacks still changes the size, which is checked.
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>

#include "vqscope_guest.h"

/* The fields of each struct, in declaration order, and the constants. */
/* clang-format off */
#define VQ_TRACE_CONFIG_FIELDS(X) X(producer) X(ts_hz) X(ts_source) X(flags) X(no_step) X(now)
#define VQ_QUEUE_INFO_FIELDS(X)							\
	X(device_type) X(device_instance) X(queue_index) X(ring_size) X(flags)	\
	X(name) X(desc_addr) X(avail_addr) X(used_addr)
#define VQ_POLL_STATS_FIELDS(X) X(spins) X(rmb) X(wmb) X(mb) X(start)
#define NO_FIELDS(X)

#define CONSTANTS(X)									\
	X(VQ_TRACE_OK) X(VQ_TRACE_EINVAL) X(VQ_TRACE_EFULL) X(VQ_TRACE_MAX_QUEUES)	\
	X(VQT_REGION_MIN) X(VQT_REGION_MAX)						\
	X(VQT_TS_TSC) X(VQT_TS_CNTVCT) X(VQT_TS_MONOTONIC) X(VQT_TS_BPF_KTIME)		\
	X(VQT_HDR_F_STEP_CAPABLE) X(VQT_HDR_F_HOSTED) X(VQT_HDR_F_TRACER)		\
	X(VQT_QF_EVENT_IDX) X(VQT_QF_PACKED) X(VQT_QF_INDIRECT) X(VQT_QF_CB_DISABLED)	\
	X(VQT_QF_RECEIVE) X(VQT_PRODUCER_UNKNOWN) X(VQT_PRODUCER_RUNNING) X(VQT_PRODUCER_STOPPED)	\
	X(VQT_POLL_PROGRESS) X(VQT_POLL_TIMEOUT) X(VQT_POLL_EMPTY)			\
	X(VQT_ERR_RING_FULL) X(VQT_ERR_BAD_USED_ID) X(VQT_ERR_DEVICE)			\
	X(VQT_ERR_STEP_TIMEOUT) X(VQT_ERR_BAD_QUEUE) X(VQT_ERR_DRIVER)
/* clang-format on */

static const char *c_name, *rust_name; /* the struct being printed */

static void type_line(const char *c, const char *rust, size_t size, size_t align)
{
	c_name = c;
	rust_name = rust;
	printf("type %s %s %zu %zu\n", c_name, rust_name, size, align);
}

static void field_line(const char *field, size_t offset, size_t size)
{
	printf("field %s %s %s %zu %zu\n", c_name, rust_name, field, offset, size);
}

#define FIELD_LINE(field) field_line(#field, offsetof(dumped, field), sizeof(((dumped *)0)->field));
#define STRUCT(c, rust, FIELDS)                                                                    \
	do {                                                                                       \
		typedef struct c dumped;                                                           \
		type_line(#c, #rust, sizeof(dumped), alignof(dumped));                             \
		FIELDS(FIELD_LINE)                                                                 \
	} while (0)
#define CONSTANT_LINE(name) printf("const %s %lld\n", #name, (long long)(name));

int main(void)
{
	/* Opaque to Rust: only its storage must match. */
	STRUCT(vq_trace, VqTrace, NO_FIELDS);
	STRUCT(vq_trace_config, VqTraceConfig, VQ_TRACE_CONFIG_FIELDS);
	STRUCT(vq_queue_info, VqQueueInfo, VQ_QUEUE_INFO_FIELDS);
	STRUCT(vq_poll_stats, VqPollStats, VQ_POLL_STATS_FIELDS);
	CONSTANTS(CONSTANT_LINE)
	/* The storage the binding reserves for struct vq_trace. */
	printf("const VQ_TRACE_SIZE %zu\n", sizeof(struct vq_trace));
	printf("const VQ_TRACE_ALIGN %zu\n", alignof(struct vq_trace));
	return fflush(stdout) == 0 ? 0 : 1;
}
