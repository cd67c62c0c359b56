/* source.h - where a session's data comes from: a live VM (QMP socket or
 * libvirt domain: trace region, queue table, device-side sampling, QMP
 * events) or a recording.  A source feeds the model and, while recording, a .vqt
 * writer; views and commands never touch QMP or files themselves.
 *
 * A live source keeps working without a trace region (an uninstrumented
 * guest shows its queues from the device side only) and without the
 * device view (QEMU older than 7.2).  When QEMU goes away the source
 * drains what is left in the region, closes any recording in order and
 * reports why it ended.
 *
 * QMP talk after the attach (device sampling, events, stop/cont, chains)
 * runs on the source's monitor thread (monitor.h), so source_poll() never
 * waits for QEMU: it drains the region and takes whatever the monitor has
 * ready.  Requests (source_pause, source_request_chain) return at once;
 * their answers arrive through later source_poll() calls.
 */
#ifndef VQ_SOURCE_H
#define VQ_SOURCE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/guest_mem.h"
#include "core/model.h"
#include "core/overview.h"
#include "core/ring_view.h"
#include "cpu_wait.h"
#include "devview.h"
#include "discover.h"
#include "vqproto.h"

struct monitor;
struct monitor_report;

enum source_kind { SOURCE_LIVE, SOURCE_FILE };
enum vm_state { VM_UNKNOWN, VM_RUNNING, VM_PAUSED, VM_GONE };

struct source_opts {
	unsigned device_hz;  /* device-side sampling per second; 0: 5 */
	bool no_device;	     /* no device-side sampling at all */
	unsigned table_hz;   /* queue-table snapshots per second; 0: 10 */
	bool only_new;	     /* live: skip records already in the ring */
	int qmp_timeout_ms;  /* 0: 5000 */
	unsigned file_flags; /* VQP_OPEN_SALVAGE */
	bool map_ram;	     /* map guest RAM when it is a shared file (default off) */
};

/* How region_status begins while the region waits for its producer. */
#define SOURCE_WAITING "waiting for the producer: "

struct source {
	enum source_kind kind;
	struct source_opts opts;
	char name[PATH_MAX + 16]; /* "qmp:PATH" or the file path */

	/* Live. */
	struct qmp *qmp;	 /* during source_open only; then the monitor's */
	struct monitor *monitor; /* QMP thread (monitor.h) */
	struct monitor_report *report;
	char qemu_version[32];
	struct vq_target target;
	struct vq_mapping map;
	bool have_region;	  /* the trace region is mapped */
	struct vqp_region region; /* r.valid once the producer is seen */
	struct vqp_reader reader;
	/* Why there is no data from the region; SOURCE_WAITING and the reason
	 * while the producer has not initialised it yet. */
	char region_status[320];
	/* Set once the region file shrank under us ("trace region FILE
	 * shrank to N bytes while attached"): the region is unmapped and
	 * any recording closed; the device-side view goes on. */
	char region_gone[PATH_MAX + 80];
	char ram_gone[PATH_MAX + 120]; /* the same for guest RAM */
	uint64_t head_seen;	       /* source_region_head() */
	struct guest_mem ram;	       /* reads of guest RAM through map, when mapped */
	bool device_ready;	       /* the first device sample (or why none) came */
	char device_status[320];       /* what is wrong with the device view, or "" */
	enum vm_state vm;
	uint64_t last_table_ns, last_flush_ns, last_ring_ns;
	/* Findings: the whole-session checks (model_check) run once a
	 * second of host time live.  In a recording they run as its session
	 * time reaches each whole second, next_file_check_ns (source.c,
	 * feed_pending_to). */
	uint64_t last_check_ns, next_file_check_ns;
	/* A recording's queue table that is newer than the events that
	 * follow it (file chunk table_chunk - 1, 0: none): applied once the
	 * feed passes table_due_ts, the producer time of the last event in
	 * it (source.c, file_queues). */
	size_t table_chunk;
	uint64_t table_due_ts;
	/* How long QEMU waited for a CPU (cpu_wait.h), sampled every
	 * CPU_WAIT_EVERY_NS: the stuck checks leave it out. */
	struct cpu_wait cpu_wait;
	uint64_t last_cpu_wait_ns;
	uint64_t last_size_check_ns;		      /* SIZE_CHECK_EVERY_NS: shrunk files */
	bool step_held;				      /* the control page says step mode is on */
	const char *rec_hold;			      /* the hold state the recording last got */
	bool rec_producer_written;		      /* a PRODUCER chunk since it began */
	struct vqp_producer rec_producer;	      /* what the latest one said */
	uint64_t rec_producer_ns;		      /* and when (host ns) */
	struct vqr_ring_queue ring_buf[MODEL_QUEUES]; /* ring samples */
	uint64_t generation_seen;
	bool rates_started;		  /* model_rates_restart after the first drain */
	uint32_t producer_bad_generation; /* its producer state was invalid (said once) */

	/* Answers to requests: a message for the user (VM stop/cont
	 * failed), counted so a view shows each once, and the last chain. */
	uint64_t notices;
	char notice[PATH_MAX + 200];
	uint64_t chain_request, chain_answered;
	struct chain_view chain;

	/* File. */
	struct vqp_file *file;
	size_t next_chunk;
	bool file_started;
	uint32_t file_generation;
	/* The sequence number after the last event of the previous events
	 * chunk of this generation, when there is one since the last REGION
	 * chunk (the writer's baseline for lost_before). */
	bool file_seq_known;
	uint64_t file_next_seq;
	char file_note[256];
	/* The events chunk being fed: buf[pend_pos, pend_count) are decoded
	 * and not fed yet (a replay stops at an exact event). */
	uint32_t pend_pos, pend_count;
	uint64_t pend_first_seq; /* the full sequence number of buf[0] */

	/* Both. */
	bool ended;
	uint32_t end_kind; /* VQR_END_* */
	char end_reason[256];
	char last_qmp_event[64];
	uint64_t events, lost, violations;
	uint64_t pending_violations; /* for the recording */
	uint64_t dropped_carry;	     /* malformed records after the last one read */
	struct vqt_event *buf;
	size_t bufcap;

	/* Recording in progress (live only). */
	struct vqp_writer *rec;
	char rec_path[PATH_MAX];
	char rec_error[2 * PATH_MAX + 512];
	uint64_t rec_last_queues_ns;
	/* The model the recording's totals come from, and its totals when
	 * recording started. */
	const struct vq_model *rec_model;
	uint64_t rec_events_base, rec_lost_base, rec_violations_base;
	size_t rec_findings; /* findings written as ANNOT chunks so far */

	/* Optional: called after each batch of events reached the model.  A
	 * batch holds at most bufcap events, so a model whose history keeps
	 * at least bufcap entries still has all of them (vqscope dump and
	 * export read events this way, see walk.h). */
	void (*on_events)(void *ctx, struct vq_model *m);
	void *on_events_ctx;
};

/* Open SPEC: a QMP unix socket or "libvirt:DOMAIN[@URI]" (live, see
 * libvirt_domain.h), or a recording file.  Returns NULL with err on
 * failure. */
struct source *source_open(const char *spec, const struct source_opts *opts, char *err,
			   size_t errlen);
/* Stops a recording in progress (as if the source ended) and frees. */
void source_close(struct source *s);

/* The fd to poll() for news from the monitor thread, or -1. */
int source_fd(const struct source *s);

/* Live: pull everything available into m (and the recording).  File: feed
 * the rest of the events chunk being fed, or the whole next chunk.
 * Returns 1 once the source has ended (end_reason set), else 0.
 * host_now_ns is CLOCK_MONOTONIC. */
int source_poll(struct source *s, struct vq_model *m, uint64_t host_now_ns);

/* How far a recording is fed (source_file_feed): the model stops before
 * the first event after until_ns, at `events` events, or just after the
 * FRAME_BEGIN of `frame` (or of the first frame numbered after it),
 * whichever comes first.  The chunks after the last event fed (queue
 * tables, device samples, notes) are taken too, up to the next events. */
struct file_limit {
	uint64_t until_ns; /* UINT64_MAX: no limit */
	uint64_t events;   /* UINT64_MAX: no limit */
	bool to_frame;
	uint64_t frame;
};
/* File: feed up to lim; returns false at the end of the file. */
bool source_file_feed(struct source *s, struct vq_model *m, const struct file_limit *lim);
/* File: feed until the model's time would pass until_ns; returns false at
 * the end of the file. */
bool source_file_advance(struct source *s, struct vq_model *m, uint64_t until_ns);
/* File: feed everything (reports, exports). */
void source_file_all(struct source *s, struct vq_model *m);
/* File: where s is in its recording, to come back to with the model
 * cloned then (a replay's checkpoint): source_file_return puts s there
 * again.  A mark is only good for the source it was taken of. */
struct source_file_mark {
	struct source *copy;
	struct vqt_event *buf; /* the decoded events not fed yet */
};
bool source_file_mark(const struct source *s, struct source_file_mark *mark);
void source_file_return(struct source *s, const struct source_file_mark *mark);
void source_file_mark_free(struct source_file_mark *mark);

/* Recording (live sources).  m is the model this source feeds: the
 * recording's totals (CLOSE) are its counts while recording, so that the
 * recorder and every reader of the file say the same; it must outlive
 * the recording. */
int source_record_start(struct source *s, struct vq_model *m, const char *path, bool overwrite,
			char *err, size_t errlen);
/* Close the recording in order: CLOSE (reason, totals), index, fsync. */
int source_record_stop(struct source *s, uint32_t reason, const char *detail, char *err,
		       size_t errlen);
bool source_recording(const struct source *s);

/* VM control (live): asks QEMU (QMP stop/cont; virDomainSuspend/Resume
 * for a libvirt domain) without waiting; a failure shows up as a notice,
 * success as the STOP/RESUME event.  -1 with err when there is no VM to
 * ask. */
int source_pause(struct source *s, char *err, size_t errlen);
int source_resume(struct source *s, char *err, size_t errlen);
/* How those reach the VM, for messages: "QMP stop" / "QMP cont", or
 * "virDomainSuspend" / "virDomainResume". */
const char *source_vm_control(const struct source *s, bool pause);
/* Stop the monitor thread and quit QEMU (QMP quit), waiting up to
 * timeout_ms.  For `vqscope run`, after the watching ended. */
int source_quit_vm(struct source *s, int timeout_ms, char *err, size_t errlen);

/* The producer's ring head (records written so far), 0 without a region. */
uint64_t source_region_head(struct source *s);

/* Guest RAM (live, when mapped), or NULL. */
const struct guest_mem *source_guest_mem(const struct source *s);
/* Ask QEMU for the chain at avail ring position avail_pos of queue q
 * (which should be head).  The answer lands in s->chain once
 * s->chain_answered == the returned request number; 0 when it cannot be
 * asked (s->chain.note says why). */
uint64_t source_request_chain(struct source *s, const struct model_queue *q, uint16_t avail_pos,
			      uint16_t head);
/* How the overview names this source. */
void source_overview(const struct source *s, struct overview_source *out);
/* Step mode: the producer waits before each event for a token. */
bool source_can_step(const struct source *s);
void source_step_mode(struct source *s, bool on);
void source_step_grant(struct source *s, uint32_t tokens);

uint64_t host_now_ns(void);
const char *vm_state_name(enum vm_state v);

#endif /* VQ_SOURCE_H */
