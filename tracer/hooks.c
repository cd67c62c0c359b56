/* hooks.c - choose how to hook virtio_ring in the running kernel, then load
 * and attach the BPF programs of tracer/vqscope_trace.bpf.c.
 *
 * The choice is made by trying, never by kernel version: fentry/fexit
 * first (cheapest), then kprobes, then the irq_handler_entry tracepoint
 * (interrupts only).  For each method the functions it needs are looked up
 * where that method finds them (BTF for fentry, /proc/kallsyms for
 * kprobes); a function that is missing (inlined or absent on this kernel)
 * is left out and reported.  A method is used when its programs load and
 * at least one add hook and one reap hook attach.
 *
 * It also collects what the kernel counts of the hook runs it skipped:
 * each program's recursion_misses (bpf_prog_info, Linux 5.12 on: a
 * trampoline or raw tracepoint program not run inside itself, and from
 * 6.7 a kprobe program not run while another BPF program held the CPU),
 * and for kprobes, which 6.1 counts only for probes made in tracefs, the
 * hits and misses of kprobe_profile (kprobe_events.c).
 */
#include "hooks.h"

#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "kprobe_events.h"
#include "vqscope_trace.skel.h"

#define VMLINUX_BTF   "/sys/kernel/btf/vmlinux"
#define MODULE_BTF    "/sys/kernel/btf/virtio_ring"
#define LOAD_ATTEMPTS 8	  /* programs the verifier may reject before giving up */
#define END_ROUNDS    400 /* runs of it_end_queues waiting for running hooks */

/* One attached program. */
struct hook_link {
	struct bpf_link *link;
	struct bpf_program *prog;
	char event[80]; /* its tracefs kprobe, or "" */
	int fn;		/* enum vqtr_function, -1 for the tracepoint */
	bool is_return; /* fexit or kretprobe */
	bool counted;	/* a run the kernel skipped stands for one lost record */
	uint64_t base;	/* runs skipped before tracing began */
	uint64_t seen;	/* runs skipped at the last hooks_skips */
};

struct hooks {
	struct vqscope_trace_bpf *skel;
	enum trace_method method;
	struct hook_link *links;
	size_t nlinks;
	const char *tracefs; /* kprobes are made in tracefs (kprobe method) */
	bool skips_known;    /* the kernel reports skipped runs of every hook */
	int stats_fd;	     /* BPF_ENABLE_STATS, -1: not asked for */
	char notes[4096];    /* "not hooked" lines of the method being tried */
	size_t notes_len;
};

static void note(struct hooks *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct hooks *h, const char *fmt, ...)
{
	size_t room = sizeof(h->notes) - h->notes_len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(h->notes + h->notes_len, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		h->notes_len += (size_t)n < room ? (size_t)n : room - 1;
}

/* ---- libbpf messages ------------------------------------------------------ */

static bool libbpf_verbose;
/* First warning of the current step: the reason a step failed. */
static char libbpf_first_warning[256];

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level != LIBBPF_DEBUG && libbpf_first_warning[0] == 0) {
		va_list copy;
		size_t n;

		va_copy(copy, args);
		vsnprintf(libbpf_first_warning, sizeof(libbpf_first_warning), fmt, copy);
		va_end(copy);
		n = strlen(libbpf_first_warning);
		while (n > 0 && libbpf_first_warning[n - 1] == '\n')
			libbpf_first_warning[--n] = 0;
	}
	if (!libbpf_verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static const char *first_warning(const char *fallback)
{
	const char *w = libbpf_first_warning;

	if (w[0] == 0)
		return fallback;
	if (strncmp(w, "libbpf: ", 8) == 0)
		w += 8;
	return w;
}

/* ---- methods and programs -------------------------------------------------- */

const char *trace_method_name(enum trace_method m)
{
	switch (m) {
	case TRACE_METHOD_FENTRY:
		return "fentry";
	case TRACE_METHOD_KPROBE:
		return "kprobe";
	case TRACE_METHOD_TRACEPOINT:
		return "tracepoint";
	default:
		return "auto";
	}
}

int trace_method_parse(const char *s, enum trace_method *out)
{
	for (int m = TRACE_METHOD_AUTO; m <= TRACE_METHOD_TRACEPOINT; m++) {
		if (strcmp(s, trace_method_name((enum trace_method)m)) == 0) {
			*out = (enum trace_method)m;
			return 0;
		}
	}
	return -1;
}

/* Programs are named <method prefix>_<name> (vqscope_trace.bpf.c); it_
 * programs are iterators that fentry and kprobe both use, run on demand
 * instead of attached (TRACE_METHOD_AUTO here). */
static enum trace_method program_method(const struct bpf_program *prog)
{
	const char *name = bpf_program__name(prog);

	if (strncmp(name, "fe_", 3) == 0 || strncmp(name, "fx_", 3) == 0)
		return TRACE_METHOD_FENTRY;
	if (strncmp(name, "kp_", 3) == 0 || strncmp(name, "kr_", 3) == 0)
		return TRACE_METHOD_KPROBE;
	if (strncmp(name, "it_", 3) == 0)
		return TRACE_METHOD_AUTO;
	return TRACE_METHOD_TRACEPOINT;
}

static bool program_wanted(const struct bpf_program *prog, enum trace_method m)
{
	enum trace_method pm = program_method(prog);

	return pm == m || (pm == TRACE_METHOD_AUTO && m != TRACE_METHOD_TRACEPOINT);
}

#define FN_NAME(fn, name) #name,
static const char *const function_names[VQTR_FN_COUNT] = {VQTR_HOOKED_FUNCTIONS(FN_NAME)};
#undef FN_NAME

/* The enum vqtr_function of a hook program, -1 for others. */
static int program_function(const struct bpf_program *prog)
{
	const char *name = bpf_program__name(prog) + 3;

	for (int fn = 0; fn < VQTR_FN_COUNT; fn++)
		if (strcmp(function_names[fn], name) == 0)
			return fn;
	return -1;
}

static bool program_is_return(const struct bpf_program *prog)
{
	const char *name = bpf_program__name(prog);

	return strncmp(name, "fx_", 3) == 0 || strncmp(name, "kr_", 3) == 0;
}

/* Whether a run of this program that the kernel skipped stands for one
 * lost record.  The adds and reaps skipped runs miss are found in the
 * rings instead, and a change of the callback request at the next hook
 * on the queue (vqscope_trace.bpf.c, cb_sample).  Interrupts are reported
 * only when used buffers wait, so a skipped run may stand for none. */
static bool program_counted(const struct bpf_program *prog)
{
	int fn = program_function(prog);

	if (program_method(prog) == TRACE_METHOD_TRACEPOINT)
		return true; /* irq_handler_entry */
	if (fn == VQTR_FN_kick_prepare)
		return program_is_return(prog);
	return !program_is_return(prog) && fn == VQTR_FN_interrupt;
}

/* The kernel function (or tracepoint) a program attaches to: the part of
 * its section name after the slash. */
static const char *program_target(const struct bpf_program *prog)
{
	const char *sec = bpf_program__section_name(prog);
	const char *slash = strchr(sec, '/');

	return slash ? slash + 1 : sec;
}

/* Hooks without which the method is not worth using: an add reported
 * (exit program) and a reap. */
static bool program_essential(const struct bpf_program *prog, bool *is_add)
{
	const char *name = bpf_program__name(prog);
	const char *target = program_target(prog);

	*is_add = strncmp(target, "virtqueue_add", 13) == 0;
	if (*is_add)
		return name[1] == 'x' || name[1] == 'r'; /* fx_, kr_ */
	return strncmp(target, "virtqueue_get_buf", 17) == 0 ||
	       strncmp(target, "detach_buf_", 11) == 0;
}

/* ---- where functions are found ---------------------------------------------- */

struct symbols {
	struct btf *vmlinux;
	struct btf *module; /* virtio_ring's, when it is a module */
	char *kallsyms;	    /* lines of /proc/kallsyms about virtio_ring */
	size_t kallsyms_len;
};

static void symbols_free(struct symbols *s)
{
	btf__free(s->module);
	btf__free(s->vmlinux);
	free(s->kallsyms);
}

/* Keep only the kallsyms lines that matter, to search them quickly. */
static int read_kallsyms(struct symbols *s)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	char line[512];
	size_t cap = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		size_t n;

		if (!strstr(line, " virtqueue_") && !strstr(line, " vring_") &&
		    !strstr(line, " detach_buf_"))
			continue;
		n = strlen(line);
		if (s->kallsyms_len + n + 1 > cap) {
			char *grown;

			cap = (cap ? cap * 2 : 16384) + n;
			grown = realloc(s->kallsyms, cap);
			if (!grown) {
				fclose(f);
				return -ENOMEM;
			}
			s->kallsyms = grown;
		}
		memcpy(s->kallsyms + s->kallsyms_len, line, n + 1);
		s->kallsyms_len += n;
	}
	fclose(f);
	return 0;
}

/* Address of a text symbol, 0 if absent (or hidden by kptr_restrict). */
static unsigned long long kallsyms_address(const struct symbols *s, const char *name)
{
	const char *p = s->kallsyms;
	size_t len = strlen(name);

	while (p && *p) {
		const char *eol = strchr(p, '\n');
		unsigned long long addr;
		char type, sym[256];

		if (sscanf(p, "%llx %c %255s", &addr, &type, sym) == 3 &&
		    (type == 't' || type == 'T') && strlen(sym) == len && strcmp(sym, name) == 0)
			return addr ? addr : 1; /* present, address hidden */
		p = eol ? eol + 1 : NULL;
	}
	return 0;
}

static bool btf_has_function(const struct symbols *s, const char *name)
{
	if (s->module && btf__find_by_name_kind(s->module, name, BTF_KIND_FUNC) >= 0)
		return true;
	return s->vmlinux && btf__find_by_name_kind(s->vmlinux, name, BTF_KIND_FUNC) >= 0;
}

static bool btf_has_struct(const struct symbols *s, const char *name)
{
	if (s->module && btf__find_by_name_kind(s->module, name, BTF_KIND_STRUCT) >= 0)
		return true;
	return s->vmlinux && btf__find_by_name_kind(s->vmlinux, name, BTF_KIND_STRUCT) >= 0;
}

static int symbols_load(struct symbols *s, char *err, size_t errlen)
{
	int rc;

	memset(s, 0, sizeof(*s));
	if (access(VMLINUX_BTF, R_OK) != 0) {
		snprintf(err, errlen,
			 "kernel BTF %s is missing: the tracer needs a kernel built with "
			 "CONFIG_DEBUG_INFO_BTF=y",
			 VMLINUX_BTF);
		return -1;
	}
	s->vmlinux = btf__load_vmlinux_btf();
	if (!s->vmlinux) {
		snprintf(err, errlen, "cannot read kernel BTF %s: %s", VMLINUX_BTF,
			 strerror(errno));
		return -1;
	}
	if (access(MODULE_BTF, R_OK) == 0) {
		s->module = btf__parse_split(MODULE_BTF, s->vmlinux);
		if (!s->module) {
			snprintf(err, errlen, "cannot read module BTF %s: %s", MODULE_BTF,
				 strerror(errno));
			return -1;
		}
	}
	if (!btf_has_struct(s, "vring_virtqueue")) {
		snprintf(err, errlen,
			 "no BTF for struct vring_virtqueue: virtio_ring is not loaded, or was "
			 "built without BTF (%s missing; CONFIG_DEBUG_INFO_BTF_MODULES)",
			 MODULE_BTF);
		return -1;
	}
	rc = read_kallsyms(s);
	if (rc < 0) {
		snprintf(err, errlen, "cannot read /proc/kallsyms: %s", strerror(-rc));
		return -1;
	}
	return 0;
}

static bool target_available(const struct symbols *s, enum trace_method m, const char *target)
{
	switch (m) {
	case TRACE_METHOD_FENTRY:
		return btf_has_function(s, target);
	case TRACE_METHOD_KPROBE:
		return kallsyms_address(s, target) != 0;
	default:
		return true; /* irq_handler_entry: in every kernel with tracepoints */
	}
}

/* With kernel.ftrace_enabled = 0, trampolines and kprobes on function
 * entries (which go through ftrace) attach without error and then never
 * run: the one failure that only shows by asking. */
static bool ftrace_disabled(void)
{
	FILE *f = fopen("/proc/sys/kernel/ftrace_enabled", "r");
	int enabled = 1;

	if (!f)
		return false; /* no function tracer: kprobes use breakpoints */
	if (fscanf(f, "%d", &enabled) != 1)
		enabled = 1;
	fclose(f);
	return enabled == 0;
}

/* ---- one attempt with one method ---------------------------------------------------- */

static void set_autoload_for_target(struct vqscope_trace_bpf *skel, enum trace_method m,
				    const char *target)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, skel->obj)
	{
		if (program_wanted(prog, m) && strcmp(program_target(prog), target) == 0)
			bpf_program__set_autoload(prog, false);
	}
}

/* Disable the program libbpf named in its first warning ("prog 'x': ..."),
 * with the others on the same function.  Returns its target, or NULL. */
static const char *drop_rejected_program(struct vqscope_trace_bpf *skel, enum trace_method m)
{
	const char *w = first_warning("");
	const char *q = strstr(w, "prog '");
	char name[64];
	struct bpf_program *prog;
	size_t n;

	if (!q)
		return NULL;
	q += 6;
	n = strcspn(q, "'");
	if (n == 0 || n >= sizeof(name))
		return NULL;
	memcpy(name, q, n);
	name[n] = 0;
	prog = bpf_object__find_program_by_name(skel->obj, name);
	if (!prog || !bpf_program__autoload(prog))
		return NULL;
	set_autoload_for_target(skel, m, program_target(prog));
	return program_target(prog);
}

static struct vqscope_trace_bpf *open_skeleton(const struct hook_config *cfg,
					       unsigned long long vring_interrupt)
{
	struct vqscope_trace_bpf *skel = vqscope_trace_bpf__open();

	if (!skel)
		return NULL;
	skel->rodata->wakeup_bytes = cfg->ringbuf_bytes / 8;
	skel->rodata->filter_device_id = cfg->device_id;
	skel->rodata->filter_device_index = cfg->device_index;
	if (cfg->queue_name)
		snprintf((char *)skel->rodata->filter_queue, sizeof(skel->rodata->filter_queue),
			 "%s", cfg->queue_name);
	skel->rodata->vring_interrupt_addr = vring_interrupt;
	if (bpf_map__set_max_entries(skel->maps.events, cfg->ringbuf_bytes) != 0) {
		vqscope_trace_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

static void detach_all(struct hooks *h)
{
	for (size_t i = 0; i < h->nlinks; i++) {
		/* The link closes the perf event; then the probe can go. */
		bpf_link__destroy(h->links[i].link);
		if (h->links[i].event[0])
			kprobe_event_remove(h->tracefs, h->links[i].event);
	}
	h->nlinks = 0;
}

static void free_links(struct hooks *h)
{
	free(h->links);
	h->links = NULL;
}

/* Attach one program: kprobes through tracefs when it is there. */
static struct bpf_link *attach_program(struct hooks *h, struct bpf_program *prog,
				       struct hook_link *hl, char *why, size_t whylen)
{
	struct bpf_link *link;
	int fd;

	hl->event[0] = 0;
	if (program_method(prog) != TRACE_METHOD_KPROBE || !h->tracefs)
		return bpf_program__attach(prog);
	fd = kprobe_event_open(h->tracefs, program_target(prog), hl->is_return, hl->event,
			       sizeof(hl->event), why, whylen);
	if (fd < 0) {
		errno = EINVAL;
		return NULL;
	}
	link = bpf_program__attach_perf_event(prog, fd);
	if (!link) {
		int saved = errno;

		close(fd);
		kprobe_event_remove(h->tracefs, hl->event);
		hl->event[0] = 0;
		errno = saved;
	}
	return link;
}

/* Targets the verifier rejected during one attempt, kept across the
 * re-opens of the object. */
struct rejections {
	char target[LOAD_ATTEMPTS][64];
	size_t count;
};

/* Whether a hook is left out because a cheaper one reports the same: one
 * hook per buffer reaped (detach_buf_split and _packed, static functions
 * a kernel may inline) instead of the entry and exit of every
 * virtqueue_get_buf* call, nested or finding nothing; and
 * virtqueue_enable_cb's request from the virtqueue_enable_cb_prepare it
 * calls. */
static bool target_superseded(const struct symbols *syms, enum trace_method m, const char *target)
{
	bool detach = target_available(syms, m, "detach_buf_split") &&
		      target_available(syms, m, "detach_buf_packed");

	if (strncmp(target, "virtqueue_get_buf", 17) == 0)
		return detach;
	if (strncmp(target, "detach_buf_", 11) == 0)
		return !detach;
	if (strcmp(target, "virtqueue_enable_cb") == 0)
		return target_available(syms, m, "virtqueue_enable_cb_prepare");
	return false;
}

/* Choose which programs of a freshly opened object load: those of method
 * m whose function this kernel has and the verifier did not reject.
 * Returns a bit mask of the essential hooks available (1 add, 2 reap). */
static unsigned choose_programs(struct hooks *h, const struct symbols *syms, enum trace_method m,
				const struct rejections *rej, bool report)
{
	struct vqscope_trace_bpf *skel = h->skel;
	struct bpf_program *prog;
	unsigned wanted = 0;

	bpf_object__for_each_program(prog, skel->obj)
	{
		const char *target = program_target(prog);
		bool is_add;

		if (!program_wanted(prog, m)) {
			bpf_program__set_autoload(prog, false);
			continue;
		}
		for (size_t i = 0; i < rej->count; i++)
			if (strcmp(rej->target[i], target) == 0)
				bpf_program__set_autoload(prog, false);
		if (program_method(prog) == TRACE_METHOD_AUTO)
			continue; /* an iterator: no kernel function */
		if (target_superseded(syms, m, target)) {
			bpf_program__set_autoload(prog, false);
			continue;
		}
		if (!target_available(syms, m, target)) {
			/* Report each function once (entry and exit share it). */
			if (report && bpf_program__autoload(prog))
				note(h,
				     "vqscope-trace: not hooked: %s (not in %s: inlined or "
				     "absent in this kernel)\n",
				     target, m == TRACE_METHOD_FENTRY ? "BTF" : "/proc/kallsyms");
			set_autoload_for_target(skel, m, target);
			continue;
		}
		if (bpf_program__autoload(prog) && program_essential(prog, &is_add))
			wanted |= is_add ? 1u : 2u;
	}
	return wanted;
}

/* Load the programs of method m and attach them.  0 on success; otherwise
 * why is filled and everything is undone. */
static int try_method(struct hooks *h, const struct hook_config *cfg, const struct symbols *syms,
		      enum trace_method m, char *why, size_t whylen)
{
	unsigned long long vring_interrupt = kallsyms_address(syms, "vring_interrupt");
	struct rejections rej = {.count = 0};
	struct bpf_program *prog;
	bool add_ok = false, used_ok = false;
	size_t nprogs = 0;
	unsigned wanted;
	int rc;

	h->notes_len = 0;
	h->notes[0] = 0;
	if (m != TRACE_METHOD_TRACEPOINT && ftrace_disabled()) {
		snprintf(why, whylen,
			 "kernel.ftrace_enabled is 0: function hooks would attach but never run");
		return -1;
	}
	if (m == TRACE_METHOD_TRACEPOINT && vring_interrupt <= 1) {
		snprintf(why, whylen, "vring_interrupt's address is not in /proc/kallsyms");
		return -1;
	}
	for (;;) {
		const char *rejected;

		h->skel = open_skeleton(cfg, vring_interrupt);
		if (!h->skel) {
			snprintf(why, whylen, "cannot open the BPF object: %s", strerror(errno));
			goto fail;
		}
		wanted = choose_programs(h, syms, m, &rej, rej.count == 0);
		if (m != TRACE_METHOD_TRACEPOINT && wanted != 3) {
			snprintf(why, whylen, "no usable %s function %s",
				 (wanted & 1) ? "virtqueue_get_buf*" : "virtqueue_add_*",
				 m == TRACE_METHOD_FENTRY ? "in BTF" : "in /proc/kallsyms");
			goto fail;
		}
		libbpf_first_warning[0] = 0;
		rc = vqscope_trace_bpf__load(h->skel);
		if (rc == 0)
			break;
		/* The verifier rejecting one program (EINVAL, EACCES) costs
		 * that hook only; anything else is the kernel refusing. */
		rejected = (rc == -EINVAL || rc == -EACCES) && rej.count < LOAD_ATTEMPTS
			       ? drop_rejected_program(h->skel, m)
			       : NULL;
		if (!rejected) {
			snprintf(why, whylen, "loading failed: %s", first_warning(strerror(-rc)));
			goto fail;
		}
		if (strcmp(rejected, "bpf_map_elem") == 0)
			note(h,
			     "vqscope-trace: no accounting at the end of the trace (the kernel "
			     "refused it_end_queues: %s)\n",
			     first_warning("rejected"));
		else
			note(h, "vqscope-trace: not hooked: %s (%s)\n", rejected,
			     first_warning("rejected"));
		snprintf(rej.target[rej.count++], sizeof(rej.target[0]), "%s", rejected);
		/* libbpf loads an object once: open a fresh one. */
		vqscope_trace_bpf__destroy(h->skel);
		h->skel = NULL;
	}

	bpf_object__for_each_program(prog, h->skel->obj) nprogs++;
	h->links = calloc(nprogs, sizeof(*h->links));
	if (!h->links) {
		snprintf(why, whylen, "out of memory");
		goto fail;
	}
	h->tracefs = m == TRACE_METHOD_KPROBE ? kprobe_events_dir() : NULL;
	if (h->tracefs)
		kprobe_events_remove_stale(h->tracefs);
	bpf_object__for_each_program(prog, h->skel->obj)
	{
		struct hook_link *hl = &h->links[h->nlinks];
		char attach_why[256] = "";
		struct bpf_link *link;
		bool is_add;

		if (!bpf_program__autoload(prog) || program_method(prog) == TRACE_METHOD_AUTO)
			continue;
		libbpf_first_warning[0] = 0;
		hl->is_return = program_is_return(prog);
		link = attach_program(h, prog, hl, attach_why, sizeof(attach_why));
		if (!link) {
			note(h, "vqscope-trace: not hooked: %s (%s: %s)\n", program_target(prog),
			     bpf_program__name(prog),
			     attach_why[0] ? attach_why : first_warning(strerror(errno)));
			/* The first essential hook failing to attach is most
			 * likely the kernel saying no to the method: say so. */
			if (program_essential(prog, &is_add) && why[0] == 0)
				snprintf(why, whylen, "attaching %s failed: %s",
					 program_target(prog), first_warning(strerror(errno)));
			continue;
		}
		hl->link = link;
		hl->prog = prog;
		hl->fn = program_function(prog);
		hl->counted = program_counted(prog);
		h->nlinks++;
		if (program_essential(prog, &is_add)) {
			if (is_add)
				add_ok = true;
			else
				used_ok = true;
		}
	}
	if (m == TRACE_METHOD_TRACEPOINT ? h->nlinks > 0 : (add_ok && used_ok)) {
		why[0] = 0;
		return 0;
	}
	if (why[0] == 0)
		snprintf(why, whylen, "no %s hook could be attached",
			 add_ok ? "virtqueue_get_buf*" : "virtqueue_add_*");
fail:
	detach_all(h);
	free_links(h);
	vqscope_trace_bpf__destroy(h->skel);
	h->skel = NULL;
	return -1;
}

/* ---- API ------------------------------------------------------------------------------------- */

static const char *method_summary(enum trace_method m)
{
	switch (m) {
	case TRACE_METHOD_FENTRY:
		return "BPF trampolines on virtio_ring functions";
	case TRACE_METHOD_KPROBE:
		return "kprobes and kretprobes on virtio_ring functions";
	default:
		return "irq_handler_entry tracepoint: interrupts only, no adds, kicks or reaps";
	}
}

struct hooks *hooks_start(const struct hook_config *cfg, char *err, size_t errlen)
{
	static const enum trace_method order[] = {TRACE_METHOD_FENTRY, TRACE_METHOD_KPROBE,
						  TRACE_METHOD_TRACEPOINT};
	char why[3][320] = {{0}};
	struct symbols syms;
	struct hooks *h = NULL;
	size_t first = 0, last = 2;

	libbpf_verbose = cfg->verbose;
	libbpf_set_print(libbpf_print);
	if (symbols_load(&syms, err, errlen) != 0)
		goto cleanup;
	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	h->stats_fd = -1;
	if (cfg->method != TRACE_METHOD_AUTO)
		first = last = (size_t)cfg->method - 1;
	for (size_t i = first; i <= last; i++) {
		char earlier[1024] = "";
		size_t len = 0;

		if (try_method(h, cfg, &syms, order[i], why[i], sizeof(why[i])) != 0)
			continue;
		h->method = order[i];
		for (size_t j = first; j < i && len < sizeof(earlier); j++)
			len += (size_t)snprintf(earlier + len, sizeof(earlier) - len,
						"%s%s unavailable: %s", j > first ? "; " : "",
						trace_method_name(order[j]), why[j]);
		fprintf(stderr, "vqscope-trace: method %s (%s): %s\n", trace_method_name(h->method),
			method_summary(h->method),
			cfg->method != TRACE_METHOD_AUTO ? "forced by --method"
			: i == 0			 ? "the kernel supports it"
							 : earlier);
		fputs(h->notes, stderr);
		goto cleanup;
	}
	if (first == last)
		snprintf(err, errlen, "method %s unavailable: %s", trace_method_name(order[first]),
			 why[first]);
	else
		snprintf(err, errlen, "no method works: fentry: %s; kprobe: %s; tracepoint: %s",
			 why[0], why[1], why[2]);
	free(h);
	h = NULL;
cleanup:
	symbols_free(&syms);
	return h;
}

enum trace_method hooks_method(const struct hooks *h)
{
	return h->method;
}

int hooks_ringbuf_fd(const struct hooks *h)
{
	return bpf_map__fd(h->skel->maps.events);
}

int hooks_counters(const struct hooks *h, uint64_t out[VQTR_CNT_COUNT])
{
	/* The programs add to them with locked adds; a 64-bit load of the
	 * mapped .bss sees each whole. */
	for (int i = 0; i < VQTR_CNT_COUNT; i++)
		out[i] = __atomic_load_n(&h->skel->bss->counters[i], __ATOMIC_RELAXED);
	return 0;
}

/* Runs of one attached program the kernel skipped, as far as it says. */
static int link_skipped(const struct hooks *h, const struct hook_link *hl,
			const struct kprobe_count *kc, uint64_t *out)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	if (hl->event[0]) {
		uint64_t runs = __atomic_load_n(
		    &h->skel->bss->hook_runs[VQTR_RUNS_INDEX(hl->fn, hl->is_return)],
		    __ATOMIC_RELAXED);

		if (!kc || !kc->found)
			return -1;
		/* Hits whose program did not run, and hits the kernel skipped. */
		*out = kc->missed + (kc->hits > runs ? kc->hits - runs : 0);
		return 0;
	}
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(bpf_program__fd(hl->prog), &info, &len) != 0)
		return -1;
	*out = info.recursion_misses;
	/* Before 5.12 the kernel has no such count (and fills less); a perf
	 * kprobe's skips it counts only from 6.7 on, and its probe's misses
	 * not at all. */
	if (len <
		offsetof(struct bpf_prog_info, recursion_misses) + sizeof(info.recursion_misses) ||
	    program_method(hl->prog) == TRACE_METHOD_KPROBE)
		return -1;
	return 0;
}

/* kprobe_profile's counts of every tracefs probe of ours, read so that the
 * programs' run counts fall between two equal readings (a hit counts
 * before its program's run does). */
static int read_profile(const struct hooks *h, struct kprobe_count *counts)
{
	struct kprobe_count *again = calloc(h->nlinks, sizeof(*again));
	int rc = -1;

	if (!again)
		return -1;
	for (size_t i = 0; i < h->nlinks; i++) {
		snprintf(counts[i].name, sizeof(counts[i].name), "%s", h->links[i].event);
		memcpy(again[i].name, counts[i].name, sizeof(again[i].name));
	}
	for (int tries = 0; tries < 8; tries++) {
		bool same = true;

		if (kprobe_profile_read(h->tracefs, counts, h->nlinks) != 0)
			break;
		rc = 0;
		if (kprobe_profile_read(h->tracefs, again, h->nlinks) != 0)
			break;
		for (size_t i = 0; i < h->nlinks; i++)
			same = same && again[i].hits == counts[i].hits;
		if (same)
			break;
	}
	free(again);
	return rc;
}

/* Every link's skipped runs into skipped[]; false when one is unknown. */
static bool all_skipped(const struct hooks *h, uint64_t *skipped)
{
	struct kprobe_count *counts = NULL;
	bool known = true;

	if (h->tracefs) {
		counts = calloc(h->nlinks, sizeof(*counts));
		if (!counts || read_profile(h, counts) != 0) {
			free(counts);
			counts = NULL;
		}
	}
	for (size_t i = 0; i < h->nlinks; i++) {
		const struct hook_link *hl = &h->links[i];

		skipped[i] = hl->seen;
		if (hl->event[0] && !counts)
			known = false;
		else if (link_skipped(h, hl, counts ? &counts[i] : NULL, &skipped[i]) != 0)
			known = false;
	}
	free(counts);
	return known;
}

int hooks_skips(struct hooks *h, struct hook_skips *out)
{
	uint64_t *skipped = calloc(h->nlinks ? h->nlinks : 1, sizeof(*skipped));
	size_t len = 0;

	memset(out, 0, sizeof(*out));
	out->reported = h->skips_known;
	if (!skipped)
		return -1;
	all_skipped(h, skipped);
	for (size_t i = 0; i < h->nlinks; i++) {
		struct hook_link *hl = &h->links[i];
		uint64_t n = skipped[i] > hl->base ? skipped[i] - hl->base : 0;

		hl->seen = skipped[i];
		if (n == 0)
			continue;
		if (hl->counted)
			out->lost += n;
		else
			out->other += n;
		if (len < sizeof(out->detail))
			len += (size_t)snprintf(out->detail + len, sizeof(out->detail) - len,
						"%s%s %llu", len ? ", " : "",
						bpf_program__section_name(hl->prog),
						(unsigned long long)n);
	}
	free(skipped);
	return 0;
}

const char *hooks_skip_source(const struct hooks *h)
{
	if (h->tracefs)
		return "hits and misses in kprobe_profile (tracefs kprobes)";
	if (h->method == TRACE_METHOD_KPROBE)
		return NULL; /* perf kprobes: the kernel may not say */
	return "each program's recursion_misses (bpf_prog_info)";
}

int hooks_end(struct hooks *h, char *err, size_t errlen)
{
	struct bpf_program *prog = h->skel->progs.it_end_queues;
	union bpf_iter_link_info info;
	struct bpf_link *link;
	int rounds;

	if (h->method == TRACE_METHOD_TRACEPOINT)
		return 0; /* no adds or reaps to account for */
	if (!bpf_program__autoload(prog) || bpf_program__fd(prog) < 0) {
		snprintf(err, errlen, "the kernel refused the end-of-trace iterator");
		return -1;
	}
	memset(&info, 0, sizeof(info));
	info.map.map_fd = (__u32)bpf_map__fd(h->skel->maps.queues);
	LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &info, .link_info_len = sizeof(info));
	link = bpf_program__attach_iter(prog, &opts);
	if (!link) {
		snprintf(err, errlen, "attaching the end-of-trace iterator: %s",
			 first_warning(strerror(errno)));
		return -1;
	}
	/* Each run closes the queues no hook is running on; a hook runs for
	 * microseconds, so a few rounds close them all. */
	for (rounds = 0; rounds < END_ROUNDS; rounds++) {
		char buf[64];
		int fd;

		h->skel->bss->end_pending = 0;
		fd = bpf_iter_create(bpf_link__fd(link));
		if (fd < 0) {
			snprintf(err, errlen, "running the end-of-trace iterator: %s",
				 strerror(errno));
			bpf_link__destroy(link);
			return -1;
		}
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		close(fd);
		if (h->skel->bss->end_pending == 0)
			break;
		usleep(5000);
	}
	bpf_link__destroy(link);
	if (rounds == END_ROUNDS) {
		snprintf(err, errlen,
			 "%u queues stayed busy for %d ms: their end is not accounted for",
			 h->skel->bss->end_pending, END_ROUNDS * 5);
		return -1;
	}
	return 0;
}

int hooks_queue_losses(const struct hooks *h, hooks_queue_loss_fn fn, void *ctx)
{
	int fd = bpf_map__fd(h->skel->maps.queues);
	__u64 key, next;
	__u64 *prev = NULL;
	int n = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct vqtr_queue_state st;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &st) != 0 || st.mode != VQTR_QUEUE_TRACED)
			continue;
		if (st.reaps_missed || st.adds_missed) {
			fn(ctx, key, st.reaps_missed, st.adds_missed);
			n++;
		}
	}
	return n;
}

void hooks_enable(struct hooks *h, bool on)
{
	if (on) {
		uint64_t *skipped = calloc(h->nlinks ? h->nlinks : 1, sizeof(*skipped));

		/* What the kernel skipped so far is not the trace's loss. */
		h->skips_known = skipped && all_skipped(h, skipped);
		for (size_t i = 0; skipped && i < h->nlinks; i++)
			h->links[i].base = h->links[i].seen = skipped[i];
		free(skipped);
	}
	/* The BPF programs read it on every call; a plain store to the
	 * mapped .bss is seen by the next one. */
	h->skel->bss->tracing_on = on ? 1 : 0;
}

int hooks_enable_stats(struct hooks *h, char *err, size_t errlen)
{
	FILE *f;
	int enabled = 0, saved;

	if (h->stats_fd >= 0)
		return 0;
	h->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (h->stats_fd >= 0)
		return 0;
	saved = errno;
	/* Someone may have switched them on for everybody already. */
	f = fopen("/proc/sys/kernel/bpf_stats_enabled", "r");
	if (f) {
		if (fscanf(f, "%d", &enabled) != 1)
			enabled = 0;
		fclose(f);
	}
	if (enabled == 1)
		return 0;
	snprintf(err, errlen,
		 "cannot turn on BPF run-time statistics: %s (needs CAP_SYS_ADMIN, or "
		 "sysctl kernel.bpf_stats_enabled=1)",
		 strerror(saved));
	return -1;
}

int hooks_program_stats(const struct hooks *h, struct hook_stat *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < h->nlinks && n < max; i++) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);

		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(bpf_program__fd(h->links[i].prog), &info, &len) != 0)
			return -1;
		snprintf(out[n].section, sizeof(out[n].section), "%s",
			 bpf_program__section_name(h->links[i].prog));
		out[n].runs = info.run_cnt;
		out[n].run_ns = info.run_time_ns;
		out[n].insns = info.xlated_prog_len / (uint32_t)sizeof(struct bpf_insn);
		n++;
	}
	return (int)n;
}

void hooks_stop(struct hooks *h)
{
	if (!h)
		return;
	detach_all(h);
	free_links(h);
	if (h->stats_fd >= 0)
		close(h->stats_fd);
	vqscope_trace_bpf__destroy(h->skel);
	free(h);
}
