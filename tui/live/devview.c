/* devview.c - device-side virtqueue sampling through QEMU's
 * x-query-virtio* QMP commands: list the devices, read each queue's
 * indices and addresses, and read one descriptor chain.  All replies are
 * validated here; see devview.h for what QEMU 7.2 returns.
 */
#include "devview.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qmp.h"

#define VRING_DESC_F_NEXT	  1u	     /* 2.7.5 */
#define VRING_DESC_F_WRITE	  2u	     /* 2.7.5 */
#define VRING_DESC_F_INDIRECT	  4u	     /* 2.7.5.3 */
#define VRING_PACKED_DESC_F_AVAIL (1u << 7)  /* 2.8.1 */
#define VRING_PACKED_DESC_F_USED  (1u << 15) /* 2.8.1 */

int devview_parse_list(json_object *reply, struct devview_devices *out, char *err, size_t errlen)
{
	static const char context[] = "QMP: x-query-virtio reply";
	size_t n;

	out->count = out->total = 0;
	if (!json_object_is_type(reply, json_type_array)) {
		qmp_errorf(err, errlen, "%s is not an array", context);
		return -1;
	}
	n = json_object_array_length(reply);
	for (size_t i = 0; i < n; i++) {
		json_object *item = json_object_array_get_idx(reply, i);
		struct devview_device d = {0};
		char ctx[64];

		snprintf(ctx, sizeof(ctx), "%s item %zu", context, i);
		if (qmp_member_string(item, "path", QMP_STR_PRINTABLE, d.path, sizeof(d.path), ctx,
				      err, errlen) != 0 ||
		    qmp_member_string(item, "name", QMP_STR_PRINTABLE, d.name, sizeof(d.name), ctx,
				      err, errlen) != 0)
			return -1;
		if (d.path[0] != '/') {
			qmp_errorf(err, errlen, "%s: \"path\" %s is not absolute", ctx, d.path);
			return -1;
		}
		out->total++;
		if (out->count < DEVVIEW_MAX_DEVICES)
			out->dev[out->count++] = d;
	}
	return 0;
}

int devview_parse_status(json_object *reply, struct devview_device *d, char *err, size_t errlen)
{
	char context[DEVVIEW_PATH_MAX + 64];
	json_object *features, *transports;
	uint64_t id, nvqs;

	qmp_errorf(context, sizeof(context), "QMP: x-query-virtio-status reply for %s", d->path);
	if (qmp_member_uint(reply, "device-id", UINT16_MAX, &id, context, err, errlen) != 0 ||
	    qmp_member_uint(reply, "num-vqs", DEVVIEW_QUEUE_MAX, &nvqs, context, err, errlen) != 0)
		return -1;
	d->device_id = (uint16_t)id;
	d->num_queues = (uint16_t)nvqs;
	d->broken = d->vhost = d->packed = false;
	/* Optional in this code's eyes: present in 7.2, but not needed. */
	if (json_object_object_get_ex(reply, "broken", NULL) &&
	    qmp_member_bool(reply, "broken", &d->broken, context, err, errlen) != 0)
		return -1;
	if (json_object_object_get_ex(reply, "vhost-started", NULL) &&
	    qmp_member_bool(reply, "vhost-started", &d->vhost, context, err, errlen) != 0)
		return -1;
	/* "guest-features": {"transports": ["VIRTIO_F_RING_PACKED: ...", ...]} */
	if (json_object_object_get_ex(reply, "guest-features", &features) &&
	    json_object_object_get_ex(features, "transports", &transports) &&
	    json_object_is_type(transports, json_type_array)) {
		size_t n = json_object_array_length(transports);
		for (size_t i = 0; i < n; i++) {
			json_object *f = json_object_array_get_idx(transports, i);
			if (json_object_is_type(f, json_type_string) &&
			    strncmp(json_object_get_string(f), "VIRTIO_F_RING_PACKED", 20) == 0)
				d->packed = true;
		}
	}
	return 0;
}

static int compare_devices(const void *a, const void *b)
{
	const struct devview_device *x = a, *y = b;

	return strcmp(x->path, y->path);
}

static json_object *path_args(const char *path)
{
	json_object *args = json_object_new_object();

	json_object_object_add(args, "path", json_object_new_string(path));
	return args;
}

int devview_list(struct qmp *q, struct devview_devices *out, char *err, size_t errlen)
{
	json_object *r =
	    qmp_execute(q, "x-query-virtio", NULL, QMP_DEFAULT_TIMEOUT_MS, err, errlen);
	int rc;

	out->count = out->total = 0;
	if (!r) {
		if (strcmp(qmp_last_error_class(q), "CommandNotFound") == 0)
			qmp_errorf(err, errlen,
				   "QEMU %s has no x-query-virtio (QEMU 7.2 or later is needed for "
				   "the device view)",
				   qmp_qemu_version(q));
		return -1;
	}
	rc = devview_parse_list(r, out, err, errlen);
	json_object_put(r);
	if (rc != 0)
		return -1;
	for (size_t i = 0; i < out->count; i++) {
		struct devview_device *d = &out->dev[i];
		r = qmp_execute(q, "x-query-virtio-status", path_args(d->path),
				QMP_DEFAULT_TIMEOUT_MS, err, errlen);
		if (!r)
			return -1;
		rc = devview_parse_status(r, d, err, errlen);
		json_object_put(r);
		if (rc != 0)
			return -1;
	}
	qsort(out->dev, out->count, sizeof(out->dev[0]), compare_devices);
	return 0;
}

int devview_refresh_status(struct qmp *q, struct devview_devices *devs, char *err, size_t errlen)
{
	for (size_t i = 0; i < devs->count; i++) {
		struct devview_device *d = &devs->dev[i];
		json_object *r = qmp_execute(q, "x-query-virtio-status", path_args(d->path),
					     QMP_DEFAULT_TIMEOUT_MS, err, errlen);
		int rc;

		if (!r)
			return -1;
		rc = devview_parse_status(r, d, err, errlen);
		json_object_put(r);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* Optional u16 member: absent is 0. */
static int optional_u16(json_object *obj, const char *key, uint16_t *out, const char *context,
			char *err, size_t errlen)
{
	uint64_t v = 0;

	*out = 0;
	if (!json_object_object_get_ex(obj, key, NULL))
		return 0;
	if (qmp_member_uint(obj, key, UINT16_MAX, &v, context, err, errlen) != 0)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int member_u16(json_object *obj, const char *key, uint16_t *out, const char *context,
		      char *err, size_t errlen)
{
	uint64_t v;

	if (qmp_member_uint(obj, key, UINT16_MAX, &v, context, err, errlen) != 0)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* vqr_device_queue.path holds 63 bytes: keep the distinctive end. */
static void copy_short_path(char *dst, size_t dstlen, const char *path)
{
	size_t n = strlen(path);

	if (n < dstlen)
		memcpy(dst, path, n + 1);
	else
		qmp_errorf(dst, dstlen, "...%s", path + n - (dstlen - 4));
}

int devview_parse_queue_status(json_object *reply, const struct devview_device *d, unsigned queue,
			       struct vqr_device_queue *out, char *err, size_t errlen)
{
	char context[DEVVIEW_PATH_MAX + 80];
	uint64_t qi, num, inuse;
	bool valid;

	memset(out, 0, sizeof(*out));
	qmp_errorf(context, sizeof(context),
		   "QMP: x-query-virtio-queue-status reply for %s queue %u", d->path, queue);
	if (qmp_member_string(reply, "name", QMP_STR_PRINTABLE, out->name, sizeof(out->name),
			      context, err, errlen) != 0 ||
	    qmp_member_uint(reply, "queue-index", UINT16_MAX, &qi, context, err, errlen) != 0 ||
	    qmp_member_uint(reply, "vring-num", DEVVIEW_VRING_MAX, &num, context, err, errlen) !=
		0 ||
	    qmp_member_uint(reply, "inuse", UINT16_MAX, &inuse, context, err, errlen) != 0 ||
	    qmp_member_uint(reply, "vring-desc", UINT64_MAX, &out->desc_addr, context, err,
			    errlen) != 0 ||
	    qmp_member_uint(reply, "vring-avail", UINT64_MAX, &out->avail_addr, context, err,
			    errlen) != 0 ||
	    qmp_member_uint(reply, "vring-used", UINT64_MAX, &out->used_addr, context, err,
			    errlen) != 0 ||
	    optional_u16(reply, "last-avail-idx", &out->last_avail_idx, context, err, errlen) !=
		0 ||
	    optional_u16(reply, "shadow-avail-idx", &out->shadow_avail_idx, context, err, errlen) !=
		0 ||
	    member_u16(reply, "used-idx", &out->used_idx, context, err, errlen) != 0 ||
	    member_u16(reply, "signalled-used", &out->signalled_used, context, err, errlen) != 0 ||
	    qmp_member_bool(reply, "signalled-used-valid", &valid, context, err, errlen) != 0)
		return -1;
	if (qi != queue) {
		qmp_errorf(err, errlen,
			   "%s: \"queue-index\" is %" PRIu64 ", not the queue asked for", context,
			   qi);
		return -1;
	}
	if (num == 0) {
		qmp_errorf(err, errlen, "%s: \"vring-num\" is 0 for an existing queue", context);
		return -1;
	}
	copy_short_path(out->path, sizeof(out->path), d->path);
	out->device_id = d->device_id;
	out->queue_index = (uint16_t)queue;
	out->vring_num = (uint16_t)num;
	out->inuse = (uint16_t)inuse;
	out->trace_slot = ~0u;
	out->flags = valid ? VQR_DQ_SIGNALLED_VALID : 0;
	/* 2.7: split queue sizes are powers of two; 2.8: packed ones need not be. */
	if (!d->packed && (num & (num - 1)) != 0) {
		qmp_errorf(err, errlen,
			   "%s: queue size %" PRIu64 " is not a power of two (virtio 1.2, 2.7)",
			   context, num);
		return 1;
	}
	if (inuse > num) {
		qmp_errorf(err, errlen,
			   "%s: %" PRIu64 " buffers in use, more than the queue size %" PRIu64,
			   context, inuse, num);
		return 1;
	}
	return 0;
}

int devview_sample(struct qmp *q, const struct devview_devices *devs, struct vqr_device_queue *out,
		   size_t max, size_t *n, char *err, size_t errlen)
{
	int problems = 0;

	*n = 0;
	for (size_t i = 0; i < devs->count; i++) {
		const struct devview_device *d = &devs->dev[i];
		for (unsigned queue = 0; queue < d->num_queues; queue++) {
			char why[512];
			json_object *args, *r;
			int rc;

			if (*n >= max) {
				if (!problems++)
					qmp_errorf(err, errlen,
						   "device view: more than %zu queues, %s queue %u "
						   "and later left out",
						   max, d->path, queue);
				return problems;
			}
			args = path_args(d->path);
			json_object_object_add(args, "queue", json_object_new_int((int)queue));
			r = qmp_execute(q, "x-query-virtio-queue-status", args,
					QMP_DEFAULT_TIMEOUT_MS, why, sizeof(why));
			if (!r) {
				/* No error class: the transport failed or timed out. */
				if (!qmp_last_error_class(q)[0]) {
					qmp_errorf(err, errlen, "%s", why);
					return -1;
				}
				if (!problems++)
					qmp_errorf(err, errlen, "%s", why);
				continue;
			}
			rc = devview_parse_queue_status(r, d, queue, &out[*n], why, sizeof(why));
			json_object_put(r);
			if (rc != 0 && !problems++)
				qmp_errorf(err, errlen, "%s", why);
			if (rc >= 0) {
				if (d->broken)
					out[*n].flags |= VQR_DQ_BROKEN;
				(*n)++;
			}
		}
	}
	return problems;
}

/* One {"addr", "len", "flags": [...]} item. */
static int parse_desc(json_object *item, size_t i, struct devview_desc *d, bool *unknown, char *err,
		      size_t errlen)
{
	static const struct {
		const char *name;
		uint16_t bit;
	} names[] = {
	    {"next", VRING_DESC_F_NEXT},	 {"write", VRING_DESC_F_WRITE},
	    {"indirect", VRING_DESC_F_INDIRECT}, {"avail", VRING_PACKED_DESC_F_AVAIL},
	    {"used", VRING_PACKED_DESC_F_USED},
	};
	char context[96];
	json_object *flags;
	uint64_t len;
	size_t n;

	snprintf(context, sizeof(context), "QMP: x-query-virtio-queue-element reply descs[%zu]", i);
	if (qmp_member_uint(item, "addr", UINT64_MAX, &d->addr, context, err, errlen) != 0 ||
	    qmp_member_uint(item, "len", UINT32_MAX, &len, context, err, errlen) != 0 ||
	    !(flags = qmp_member(item, "flags", json_type_array, context, err, errlen)))
		return -1;
	d->len = (uint32_t)len;
	d->flags = 0;
	n = json_object_array_length(flags);
	for (size_t k = 0; k < n; k++) {
		json_object *f = json_object_array_get_idx(flags, k);
		bool known = false;

		if (!json_object_is_type(f, json_type_string)) {
			qmp_errorf(err, errlen, "%s: flags[%zu] is not a string", context, k);
			return -1;
		}
		for (size_t j = 0; j < sizeof(names) / sizeof(names[0]); j++) {
			if (strcmp(json_object_get_string(f), names[j].name) == 0) {
				d->flags |= names[j].bit;
				known = true;
			}
		}
		if (!known)
			*unknown = true;
	}
	return 0;
}

int devview_parse_element(json_object *reply, struct devview_chain *out, char *err, size_t errlen)
{
	static const char context[] = "QMP: x-query-virtio-queue-element reply";
	static const char actx[] = "QMP: x-query-virtio-queue-element reply \"avail\"";
	static const char uctx[] = "QMP: x-query-virtio-queue-element reply \"used\"";
	json_object *descs, *avail, *used;
	struct devview_desc first = {0}, last = {0};
	bool reversed = true, dummy = false;
	uint64_t head;
	size_t n;

	memset(out, 0, offsetof(struct devview_chain, desc));
	if (qmp_member_string(reply, "name", QMP_STR_PRINTABLE, out->name, sizeof(out->name),
			      context, err, errlen) != 0 ||
	    qmp_member_uint(reply, "index", UINT16_MAX, &head, context, err, errlen) != 0 ||
	    !(descs = qmp_member(reply, "descs", json_type_array, context, err, errlen)) ||
	    !(avail = qmp_member(reply, "avail", json_type_object, context, err, errlen)) ||
	    !(used = qmp_member(reply, "used", json_type_object, context, err, errlen)) ||
	    member_u16(avail, "flags", &out->avail_flags, actx, err, errlen) != 0 ||
	    member_u16(avail, "idx", &out->avail_idx, actx, err, errlen) != 0 ||
	    member_u16(avail, "ring", &out->avail_ring, actx, err, errlen) != 0 ||
	    member_u16(used, "flags", &out->used_flags, uctx, err, errlen) != 0 ||
	    member_u16(used, "idx", &out->used_idx, uctx, err, errlen) != 0)
		return -1;
	out->head = (uint16_t)head;
	n = json_object_array_length(descs);
	out->ndescs = n;
	if (n == 0)
		return 0;
	/* QEMU 7.2 builds the list by prepending, so the head comes last.
	 * If a QEMU lists a whole chain head first (head has NEXT, the end has
	 * not), keep that order. */
	if (parse_desc(json_object_array_get_idx(descs, 0), 0, &first, &dummy, err, errlen) != 0 ||
	    parse_desc(json_object_array_get_idx(descs, n - 1), n - 1, &last, &dummy, err,
		       errlen) != 0)
		return -1;
	if (n > 1 && (first.flags & VRING_DESC_F_NEXT) && !(last.flags & VRING_DESC_F_NEXT))
		reversed = false;
	for (size_t i = 0; i < n; i++) {
		size_t src = reversed ? n - 1 - i : i;
		struct devview_desc d;

		if (parse_desc(json_object_array_get_idx(descs, src), src, &d, &out->unknown_flag,
			       err, errlen) != 0)
			return -1;
		if (i < DEVVIEW_CHAIN_MAX)
			out->desc[i] = d;
		if (i == n - 1)
			out->ends = !(d.flags & VRING_DESC_F_NEXT);
	}
	return 0;
}

int devview_element(struct qmp *q, const char *path, unsigned queue, int index,
		    struct devview_chain *out, char *err, size_t errlen)
{
	json_object *args, *r;
	int rc;

	if (queue >= DEVVIEW_QUEUE_MAX || index < -1 || index > UINT16_MAX) {
		qmp_errorf(err, errlen, "device view: queue %u / avail index %d out of range",
			   queue, index);
		return -1;
	}
	args = path_args(path);
	json_object_object_add(args, "queue", json_object_new_int((int)queue));
	if (index >= 0)
		json_object_object_add(args, "index", json_object_new_int(index));
	r = qmp_execute(q, "x-query-virtio-queue-element", args, QMP_DEFAULT_TIMEOUT_MS, err,
			errlen);
	if (!r)
		return -1;
	rc = devview_parse_element(r, out, err, errlen);
	json_object_put(r);
	return rc;
}
