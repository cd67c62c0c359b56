/* fleet.h - a set of live VMs that come and go, for `vqscope exporter`.
 *
 * Each member is a QMP socket or a libvirt domain ("libvirt:DOMAIN[@URI]",
 * libvirt_domain.h) with a name (the vm label).  A member is
 * attached in the background (source_open runs on a short-lived thread,
 * since a QEMU whose monitor is busy makes the QMP greeting wait for the
 * whole QMP timeout), drained periodically once attached, and when QEMU
 * goes away or cannot be reached it is down and tried again every
 * retry_ns.
 *
 * Each member's model lives as long as the member: when the VM comes
 * back the model is resynced (model_resync) as for a guest reboot, so
 * its counters carry on from where they were instead of starting again.
 *
 * With a qmp_dir, every socket named *.sock in it is a member named after
 * the file (without .sock); the directory is looked at again every
 * retry_ns, new sockets join and members whose socket is gone leave once
 * they are down.  Two members whose sockets lead to one QEMU (the same
 * PID, SO_PEERCRED) are one VM: the one whose name sorts first is kept,
 * the other is set aside (duplicate_of) and its socket left free.  With libvirt, every running
 * domain at libvirt_uri whose XML has a trace region (<shmem>) is a member "libvirt:NAME[@URI]"
 * named NAME, found and dropped the same way; libvirt is asked on a thread of its own, since
 * libvirtd may be slow to answer.
 *
 * Single-threaded API: everything but the opening runs on the caller's
 * thread.
 */
#ifndef VQ_FLEET_H
#define VQ_FLEET_H

#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/model.h"
#include "source.h"

#define FLEET_MAX_MEMBERS 256
#define FLEET_NAME_MAX	  256

struct fleet_attempt; /* fleet.c: an open in progress */

struct fleet_member {
	char vm[FLEET_NAME_MAX];
	char path[PATH_MAX];
	enum fleet_origin {
		FLEET_BY_HAND,	   /* fleet_add */
		FLEET_FROM_DIR,	   /* found in qmp_dir: leaves when its socket is gone */
		FLEET_FROM_LIBVIRT /* found through libvirt: leaves when its domain is */
	} origin;
	struct vq_model *m;	     /* from the first attach on; NULL before */
	struct source *s;	     /* attached, or NULL while down */
	char status[PATH_MAX + 512]; /* why it is down ("" while attached) */
	uint64_t attaches;	     /* times it was attached */
	uint64_t next_try;	     /* host ns of the next attempt while down */
	uint64_t last_drain;	     /* host ns of the last source_poll */
	struct fleet_attempt *attempt;
	bool seen; /* found by the latest scan of its origin */
	/* Another QMP socket of a QEMU a member of this name attached to
	 * (two sockets of one VM): set aside, not exported, and not tried
	 * again while that member stays attached to that QEMU ("" if not). */
	char duplicate_of[FLEET_NAME_MAX];
	pid_t duplicate_pid;
};

/* What a fleet tells its owner: a member attached, went down, could not be
 * reached (each distinct message once), joined or left. */
typedef void (*fleet_note_fn)(void *ctx, const struct fleet_member *mb, const char *message);

struct fleet_opts {
	struct source_opts source; /* for every source_open */
	struct model_opts model;   /* for every member's model */
	uint64_t retry_ns;	   /* 0: 5 s */
	uint64_t drain_ns;	   /* how often attached members are drained; 0: 50 ms */
	const char *qmp_dir;	   /* or NULL */
	bool libvirt;		   /* every traced domain at libvirt_uri */
	const char *libvirt_uri;   /* NULL: the default (qmp_libvirt_default_uri) */
	fleet_note_fn note;	   /* or NULL */
	void *note_ctx;
};

struct fleet;

/* A fleet with no members yet; NULL with err (the qmp_dir cannot be read,
 * no memory). */
struct fleet *fleet_new(const struct fleet_opts *o, char *err, size_t errlen);
/* Stops every source (waiting for opens in progress) and frees. */
void fleet_free(struct fleet *f);

/* Add a member; -1 with err when the name is taken, the path names a
 * file that is not a socket (a recording), or the fleet is full.  A path
 * that does not exist yet is fine: the member is down until it does. */
int fleet_add(struct fleet *f, const char *vm, const char *path, char *err, size_t errlen);

/* The fds to poll (at most max are written); returns how many. */
size_t fleet_pollfds(struct fleet *f, struct pollfd *fds, size_t max);
/* Milliseconds until fleet_poll has work to do (capped at cap_ms). */
int fleet_timeout_ms(const struct fleet *f, uint64_t now, int cap_ms);
/* Do what is due at host time now: drain members, notice ones that went
 * down, finish and start attempts, scan qmp_dir.  fds/nfds are what
 * fleet_pollfds filled, after poll(). */
void fleet_poll(struct fleet *f, const struct pollfd *fds, size_t nfds, uint64_t now);

size_t fleet_size(const struct fleet *f);
const struct fleet_member *fleet_member(const struct fleet *f, size_t i);

#endif /* VQ_FLEET_H */
